//go:build linux

package sandbox

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"strings"
)

// ELFInterpreter returns the ELF interpreter (PT_INTERP, the dynamic
// loader) of the program at path: "" for a static binary, a script, a
// directory or anything else that is not a dynamically linked ELF file.
// A plugin that may execute a dynamically linked program needs Execute on
// it too: [Command] adds it for Spec.Exec entries that are files; callers
// granting a directory add the loader of the programs in it.
func ELFInterpreter(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", err
	}
	return elfInterpreter(f)
}

// elfInterpreter returns the PT_INTERP of the ELF image in f ("" for a
// static binary or a script), reading f without moving its offset.
func elfInterpreter(f *os.File) (string, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("sandbox: stat plugin image: %w", err)
	}
	r := io.NewSectionReader(f, 0, fi.Size())
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || string(magic[:]) != elf.ELFMAG {
		return "", nil // not ELF: a #! script, whose interpreter Exec must grant
	}
	ef, err := elf.NewFile(r)
	if err != nil {
		return "", fmt.Errorf("sandbox: plugin image is not a valid ELF file: %w", err)
	}
	for _, prog := range ef.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(prog.Open())
		if err != nil {
			return "", fmt.Errorf("sandbox: read the plugin's ELF interpreter: %w", err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}
