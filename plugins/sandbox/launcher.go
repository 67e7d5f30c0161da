//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// pluginFD is where the host puts the sealed plugin image (ExtraFiles[0]).
const pluginFD = 3

// pluginPath is what the launcher executes: the memfd, by its /proc link.
// Landlock does not check it: a memfd lives on the kernel's internal shmem
// mount, which Landlock treats as always allowed (measured by
// TestLandlockAllowsMemfdExec).
const pluginPath = "/proc/self/fd/3"

// launchError is a failed launcher step, reported on stderr.
type launchError struct {
	step string
	err  error
}

func (e *launchError) Error() string { return e.step + ": " + e.err.Error() }

func fail(step string, err error) error { return &launchError{step, err} }

// LauncherMain is `gathering plugin-exec POLICY ARGV...`: args are what
// follows "plugin-exec". Inside the namespaces [Command] created, it checks
// that fd 3 is a sealed memfd, then applies, in order: rlimits (CORE 0,
// NOFILE, FSIZE with SIGXFSZ ignored so writes fail with EFBIG, DATA), the
// masked directories and a fresh /proc (only as PID 1 of a new PID
// namespace), lo up (network loopback), stdin from /dev/null and
// close-on-exec on every fd above 3, no_new_privs, Landlock, the seccomp
// deny-list, and drops every capability; then it executes
// /proc/self/fd/3 with ARGV and its own environment. It returns only on
// failure: 126 after printing "gathering plugin-exec: STEP: error" on stderr.
func LauncherMain(args []string) int {
	// Capabilities are per thread and execve uses the calling thread's:
	// everything from here to the exec happens on this one.
	runtime.LockOSThread()
	// The parent-death signal is per thread and not inherited by threads:
	// the host set it on the launcher's first thread, and if execve runs on
	// another one, that thread becomes the plugin without it. Arm it here
	// too; until the exec the first thread still holds the host's.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "gathering %s: pdeathsig: %v\n", LauncherCommand, err)
		return 126
	}
	if err := launch(args); err != nil {
		fmt.Fprintf(os.Stderr, "gathering %s: %v\n", LauncherCommand, err)
		return 126
	}
	return 0 // unreachable: launch execs or fails
}

func launch(args []string) error {
	if len(args) < 2 {
		return fail("args", fmt.Errorf("want POLICY ARGV0 [ARGS...], got %d arguments", len(args)))
	}
	p, err := decodePolicy(args[0])
	if err != nil {
		return fail("policy", err)
	}
	argv := args[1:]
	if got, err := unix.FcntlInt(pluginFD, unix.F_GET_SEALS, 0); err != nil {
		return fail("memfd", fmt.Errorf("fd %d is not a memfd: %w", pluginFD, err))
	} else if got&seals != seals {
		return fail("memfd", fmt.Errorf("fd %d is not sealed (seals %#x)", pluginFD, got))
	}
	if err := setRlimits(p); err != nil {
		return fail("rlimit", err)
	}
	if p.MountProc {
		if os.Getpid() != 1 {
			// Command asks for a new /proc only with new PID and mount
			// namespaces; anywhere else this would cover the host's /proc.
			return fail("mount-proc", fmt.Errorf("not the init of a new PID namespace (pid %d)", os.Getpid()))
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fail("mount-proc", fmt.Errorf("make / private: %w", err))
		}
		if err := maskShared(p); err != nil {
			return fail("mask", err)
		}
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fail("mount-proc", fmt.Errorf("mount proc: %w", err))
		}
	}
	if p.LoopbackUp {
		if err := loopbackUp(); err != nil {
			return fail("loopback", err)
		}
	}
	if !p.StdinPipe {
		if err := stdinNull(); err != nil {
			return fail("stdin", err)
		}
	}
	if err := unix.CloseRange(pluginFD+1, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fail("fds", fmt.Errorf("close_range: %w", err))
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail("no_new_privs", err)
	}
	if p.LandlockABI > 0 {
		if err := applyLandlock(p); err != nil {
			return fail("landlock", err)
		}
	}
	if p.Seccomp {
		if err := applySeccomp(); err != nil {
			return fail("seccomp", err)
		}
	}
	if err := dropCapabilities(); err != nil {
		return fail("capabilities", err)
	}
	err = syscall.Exec(pluginPath, argv, os.Environ())
	return fail("exec", fmt.Errorf("%s (%s): %w", pluginPath, argv[0], err))
}

func setRlimits(p *policy) error {
	set := func(name string, res int, v uint64) error {
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("%s=%d: %w", name, v, err)
		}
		return nil
	}
	if err := set("CORE", unix.RLIMIT_CORE, 0); err != nil {
		return err
	}
	if p.NoFile > 0 {
		if err := set("NOFILE", unix.RLIMIT_NOFILE, p.NoFile); err != nil {
			return err
		}
	}
	if p.FSize > 0 {
		// Ignored stays ignored across execve: a write past the limit
		// then fails with EFBIG instead of killing a C or Node program.
		signal.Ignore(syscall.SIGXFSZ)
		if err := set("FSIZE", unix.RLIMIT_FSIZE, p.FSize); err != nil {
			return err
		}
	}
	if p.Data > 0 {
		// DATA, not AS: Go and V8 reserve far more address space than
		// they use, and fail to start under a tight RLIMIT_AS.
		if err := set("DATA", unix.RLIMIT_DATA, p.Data); err != nil {
			return err
		}
	}
	return nil
}

// loopbackUp sets IFF_UP on lo in the new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

// stdinNull makes fd 0 /dev/null, whatever the parent passed.
func stdinNull() error {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Dup3(fd, 0, 0)
}
