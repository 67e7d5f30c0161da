//go:build linux

package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// seals are the seals a plugin image gets once filled: no more seals, no
// shrinking, no growing, no writing. The bytes that were hashed while
// copying are then the bytes the kernel executes.
const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// mfdExec is MFD_EXEC (Linux 6.3+): ask for an executable memfd explicitly,
// so that vm.memfd_noexec=1 does not make it non-executable.
const mfdExec = 0x10

// SealedCopy creates an anonymous in-memory file (memfd_create with
// MFD_CLOEXEC|MFD_ALLOW_SEALING), fills it through copy and seals it
// against any change (F_SEAL_SEAL|SHRINK|GROW|WRITE). The host passes
// manifest.Plugin.CopyBinary as copy, which checks the size and sha256 while
// it copies; when copy fails the memfd is closed and never returned, so
// bytes that failed verification can never be executed.
//
// The returned file is what [Spec].Binary takes; the launcher executes it as
// /proc/self/fd/3. name only labels the memfd (it shows in /proc/PID/exe).
func SealedCopy(name string, copy func(w io.Writer) (int64, error)) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|mfdExec)
	if errors.Is(err, unix.EINVAL) { // kernel before 6.3: no MFD_EXEC, memfds are executable
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: memfd_create %q: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	if _, err := copy(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: fill memfd %q: %w", name, err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: seal memfd %q: %w", name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: rewind memfd %q: %w", name, err)
	}
	return f, nil
}

// SealedExecutable seals a copy of the running executable (/proc/self/exe)
// for the built-in plugins, which run from the gathering binary itself. It
// returns the memfd and the hex sha256 of the bytes sealed into it, for the
// host to record. The copy is taken once; later upgrades of the binary on
// disk do not change what built-ins run.
func SealedExecutable(name string) (*os.File, string, error) {
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: open the running executable: %w", err)
	}
	defer self.Close()
	h := sha256.New()
	f, err := SealedCopy(name, func(w io.Writer) (int64, error) {
		return io.Copy(io.MultiWriter(w, h), self)
	})
	if err != nil {
		return nil, "", err
	}
	return f, hex.EncodeToString(h.Sum(nil)), nil
}

// IsSealed reports whether f carries every seal [SealedCopy] applies.
func IsSealed(f *os.File) bool {
	got, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	return err == nil && got&seals == seals
}
