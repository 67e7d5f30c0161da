//go:build linux && amd64

package sandbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// i386Unshare is a static 32-bit x86 program that calls
// unshare(CLONE_NEWUSER) through int 0x80, the i386 syscall ABI, and exits
// with the errno (0 on success). If even exit fails, it hits ud2 (SIGILL).
func i386Unshare() []byte {
	code := []byte{
		0xb8, 0x36, 0x01, 0x00, 0x00, // mov eax, 310 (i386 unshare)
		0xbb, 0x00, 0x00, 0x00, 0x10, // mov ebx, CLONE_NEWUSER
		0xcd, 0x80, // int 0x80
		0x89, 0xc3, // mov ebx, eax
		0xf7, 0xdb, // neg ebx
		0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (i386 exit)
		0xcd, 0x80, // int 0x80
		0x0f, 0x0b, // ud2
	}
	const base, hdrs = 0x08048000, 52 + 32
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	binary.Write(&b, le, struct {
		Type, Machine                uint16
		Version, Entry, Phoff, Shoff uint32
		Flags                        uint32
		Ehsize, Phentsize, Phnum     uint16
		Shentsize, Shnum, Shstrndx   uint16
	}{2, 3, 1, base + hdrs, 52, 0, 0, 52, 32, 1, 0, 0, 0})
	size := uint32(hdrs + len(code))
	binary.Write(&b, le, [8]uint32{1, 0, base, base, size, size, 5, 0x1000}) // PT_LOAD, R+X
	b.Write(code)
	return b.Bytes()
}

// noI386 is why TestSeccompBlocksForeignSyscallABI skips: a kernel built
// without IA32 emulation, whatever the uid.
const noI386 = "this kernel does not run i386 programs"

// TestSeccompBlocksForeignSyscallABI: a deny-list keyed on x86-64 syscall
// numbers says nothing about the i386 ABI (int 0x80), which the kernel
// still serves on x86-64. The sandbox refuses every syscall of another ABI.
func TestSeccompBlocksForeignSyscallABI(t *testing.T) {
	prog := i386Unshare()
	f, err := SealedCopy("i386", func(w io.Writer) (int64, error) {
		n, err := w.Write(prog)
		return int64(n), err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// Control: outside the sandbox the kernel runs it and unshare works.
	bare := &exec.Cmd{Path: pluginPath, Args: []string{"i386"}, ExtraFiles: []*os.File{f}}
	if err := bare.Run(); errors.Is(err, syscall.ENOEXEC) {
		t.Skip(noI386)
	} else if err != nil {
		t.Fatalf("i386 program outside the sandbox: %v", err)
	}

	e := newTestEnv(t)
	spec := e.spec()
	spec.Binary = f
	spec.Args = []string{"i386"}
	for _, seccompOn := range []bool{false, true} {
		spec.DisableSeccomp = !seccompOn
		cmd, _, err := Command(spec)
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		switch {
		case !seccompOn && err != nil:
			t.Errorf("without seccomp: %v: %s; want unshare to succeed (the control)", err, out)
		case !seccompOn:
		case !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGILL:
			t.Errorf("with seccomp: %v: %s; want every i386 syscall refused (exit too, so SIGILL)", err, out)
		}
	}
}
