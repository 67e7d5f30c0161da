//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/psx"
)

// threads says which threads a per-thread confinement (no_new_privs,
// capabilities) is applied to: false, the calling one, whose credentials
// execve carries into the plugin; true, every thread of the process at
// once (through libpsx, or the runtime's AllThreadsSyscall without cgo),
// for a plugin that runs in the launcher's process. A thread created while
// it runs waits for it; one created later inherits the result.
type threads bool

func (all threads) syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) error {
	var errno syscall.Errno
	if all {
		_, _, errno = psx.Syscall6(trap, a1, a2, a3, a4, a5, a6)
	} else {
		_, _, errno = unix.Syscall6(trap, a1, a2, a3, a4, a5, a6)
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// prctl is prctl(option, arg2, 0, 0, 0).
func (all threads) prctl(option int, arg2 uintptr) error {
	return all.syscall6(unix.SYS_PRCTL, uintptr(option), arg2, 0, 0, 0, 0)
}

// capset sets the capability sets of each thread (the header's pid is 0:
// the thread that makes the call).
func (all threads) capset(hdr *unix.CapUserHeader, data *[2]unix.CapUserData) error {
	var errno syscall.Errno
	if all {
		_, _, errno = psx.Syscall3(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	} else {
		_, _, errno = unix.Syscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// runsImage reports whether this process is running the sealed image at
// fd 3 itself: whether /proc/self/exe is that memfd. Only then is running a
// plugin in process the same as executing the image.
func runsImage() bool {
	var img, self unix.Stat_t
	return unix.Fstat(pluginFD, &img) == nil && unix.Stat("/proc/self/exe", &self) == nil &&
		img.Dev == self.Dev && img.Ino == self.Ino
}

// descriptors lists this process's descriptors above fd 3.
func descriptors() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, e := range ents {
		// The listing's own descriptor is closed by now; fcntl says so.
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > pluginFD {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
				fds = append(fds, fd)
			}
		}
	}
	return fds, nil
}

// closeInherited closes every descriptor above fd 3 this process inherited
// from the host: those without close-on-exec (execve closed the others,
// and Go opens everything close-on-exec), which executing the plugin would
// have closed (close_range marks them).
func closeInherited() error {
	fds, err := descriptors()
	if err != nil {
		return fmt.Errorf("list descriptors: %w", err)
	}
	for _, fd := range fds {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			if err := unix.Close(fd); err != nil {
				return fmt.Errorf("close inherited fd %d: %w", fd, err)
			}
		}
	}
	return nil
}

// stray names the first thing this process holds that it got before
// Landlock could refuse it and that executing the plugin would drop, or ""
// if there is none: a descriptor above fd 3 the Go runtime does not hold
// for itself ("fd 7 (/etc/passwd)"), once inherited ones are closed, or a
// file mapping of anything but the image and files p lets the plugin read
// (the dynamic loader and libc, from /usr).
func stray(p *policy) string {
	fds, err := descriptors()
	if err != nil {
		return "/proc/self/fd (" + err.Error() + ")"
	}
	for _, fd := range fds {
		if target, ok := runtimeFD(fd); !ok {
			return fmt.Sprintf("fd %d (%s)", fd, target)
		}
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "/proc/self/maps (" + err.Error() + ")"
	}
	readable := slices.Concat(p.SystemRead, p.Read, p.Exec, p.SystemRW, p.Write)
	for line := range strings.Lines(string(maps)) {
		// address perms offset dev inode path
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[5], "/") || strings.HasPrefix(f[5], "/memfd:") {
			continue
		}
		path := strings.TrimSuffix(strings.Join(f[5:], " "), " (deleted)")
		if !beneathAny(path, readable) || strings.Contains(f[1], "w") && strings.Contains(f[1], "s") && !beneathAny(path, slices.Concat(p.SystemRW, p.Write)) {
			return fmt.Sprintf("mapping %s (%s)", path, f[1])
		}
	}
	return ""
}

// runtimeFD reports whether fd is one the Go runtime keeps open, and says
// what it is: its network poller's epoll and eventfd, which reach no file,
// socket or process, and the cgroup CPU limit files it rereads to size
// GOMAXPROCS, opened read-only under /sys/fs/cgroup, which every plugin
// may read anyway ([SystemReadPaths]).
func runtimeFD(fd int) (string, bool) {
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return err.Error(), false
	}
	switch {
	case target == "anon_inode:[eventpoll]", target == "anon_inode:[eventfd]":
		return target, true
	case strings.HasPrefix(target, "/sys/fs/cgroup/"):
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		return target, err == nil && fl&unix.O_ACCMODE == unix.O_RDONLY
	}
	return target, false
}
