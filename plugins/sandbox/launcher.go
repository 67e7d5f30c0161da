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
	return LauncherMainWith(args, nil)
}

// LauncherMainWith is [LauncherMain] for a program whose plugins can run
// in its own process, the built-ins: run is their main, given ARGV, and
// returns the exit code. When this launcher is itself the sealed image at
// fd 3 (the host executed it so, see [Spec].SelfImage), executing the image
// again would only start the same program a second time; the launcher then
// confines every thread of its process instead of the one that would call
// execve (no_new_privs, Landlock and capabilities are per thread; seccomp
// is loaded with TSYNC), closes the descriptors it inherited as the exec
// would have, and returns run(ARGV), called on the thread that holds the
// parent-death signal. A nil run, a launcher that is not the image, or one
// that still holds a descriptor or file mapping the plugin could not have
// opened itself (some package's init took it before Landlock), executes the
// image as LauncherMain does.
func LauncherMainWith(args []string, run func(argv []string) int) int {
	// Capabilities are per thread and execve uses the calling thread's:
	// everything from here to the exec happens on this one, and so does
	// run, which may itself execute a program (a bridge built-in runs its
	// language server so). The thread is never unlocked.
	runtime.LockOSThread()
	// The parent-death signal is per thread and not inherited by threads:
	// the host set it on the launcher's first thread, and if execve runs on
	// another one, that thread becomes the plugin without it. Arm it here
	// too; until the exec the first thread still holds the host's (and
	// without an exec it keeps it: the Go runtime never ends its first
	// thread).
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "gathering %s: pdeathsig: %v\n", LauncherCommand, err)
		return 126
	}
	p, argv, err := parseArgs(args)
	here := run != nil && runsImage()
	if err == nil {
		err = confine(p, threads(here))
	}
	if err == nil && here {
		held := stray(p)
		if held == "" {
			return run(argv)
		}
		// Something in this process opened or mapped it before Landlock
		// could refuse it: executing the image drops it.
		fmt.Fprintf(os.Stderr, "gathering %s: %s was open before confining; executing the plugin instead of running it in this process\n", LauncherCommand, held)
	}
	if err == nil {
		err = syscall.Exec(pluginPath, argv, os.Environ())
		err = fail("exec", fmt.Errorf("%s (%s): %w", pluginPath, argv[0], err))
	}
	fmt.Fprintf(os.Stderr, "gathering %s: %v\n", LauncherCommand, err)
	return 126
}

// parseArgs decodes POLICY ARGV... and checks that fd 3 is a sealed memfd.
func parseArgs(args []string) (*policy, []string, error) {
	if len(args) < 2 {
		return nil, nil, fail("args", fmt.Errorf("want POLICY ARGV0 [ARGS...], got %d arguments", len(args)))
	}
	p, err := decodePolicy(args[0])
	if err != nil {
		return nil, nil, fail("policy", err)
	}
	if got, err := unix.FcntlInt(pluginFD, unix.F_GET_SEALS, 0); err != nil {
		return nil, nil, fail("memfd", fmt.Errorf("fd %d is not a memfd: %w", pluginFD, err))
	} else if got&seals != seals {
		return nil, nil, fail("memfd", fmt.Errorf("fd %d is not sealed (seals %#x)", pluginFD, got))
	}
	return p, args[1:], nil
}

// confine applies p to this process; all says whether the per-thread
// parts cover every thread (the plugin runs here) or the calling one
// (execve carries its credentials into the plugin).
func confine(p *policy, all threads) error {
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
	if all {
		// Before close_range marks every descriptor close-on-exec alike.
		if err := closeInherited(); err != nil {
			return fail("fds", err)
		}
	}
	if err := unix.CloseRange(pluginFD+1, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fail("fds", fmt.Errorf("close_range: %w", err))
	}
	// Seccomp's TSYNC sets no_new_privs on every thread it syncs when the
	// caller has it, and go-landlock sets it on every thread itself; each
	// thread-wide call costs a signal round trip to every thread, so this
	// one is made only when neither follows.
	if err := threads(bool(all) && p.LandlockABI == 0 && !p.Seccomp).prctl(unix.PR_SET_NO_NEW_PRIVS, 1); err != nil {
		return fail("no_new_privs", err)
	}
	if p.LandlockABI > 0 {
		// go-landlock restricts every thread (libpsx, or TSYNC from ABI 8).
		if err := applyLandlock(p); err != nil {
			return fail("landlock", err)
		}
	}
	if p.Seccomp {
		// TSYNC: every thread.
		if err := applySeccomp(); err != nil {
			return fail("seccomp", err)
		}
	}
	if err := dropCapabilities(all); err != nil {
		return fail("capabilities", err)
	}
	return nil
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
