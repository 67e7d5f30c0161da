//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// kernelLandlockABI asks the kernel for its Landlock ABI; 0 when missing.
func kernelLandlockABI() int {
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(abi)
}

// Access rights for the three kinds of grant, narrowed to files when the
// granted path is a file.
const (
	readDir  = ll.AccessFSReadFile | ll.AccessFSReadDir
	readFile = ll.AccessFSReadFile
	execDir  = ll.AccessFSReadFile | ll.AccessFSReadDir | ll.AccessFSExecute
	execFile = ll.AccessFSReadFile | ll.AccessFSExecute
)

// landlockConfigs are go-landlock's configurations by ABI (index 0 unused).
var landlockConfigs = []landlock.Config{{}, landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5,
	landlock.V6, landlock.V7, landlock.V8, landlock.V9, landlock.V10, landlock.V11}

// applyLandlock restricts this process and everything it executes to the
// policy's paths: SystemRead and Read read-only, SystemRW and Write
// read-write, Exec read and execute; nothing else on the filesystem. With
// DenyTCP, TCP (and on ABI 10+ UDP) bind and connect are refused too; IPC
// scopes (ABI 6+) keep signals and abstract Unix sockets inside the sandbox.
// Paths that do not exist are skipped. It enforces exactly the ABI the
// host promised (no best effort, which could quietly do less), and fails
// if the kernel offers less.
func applyLandlock(p *policy) error {
	abi := kernelLandlockABI()
	if p.LandlockABI >= len(landlockConfigs) || abi < p.LandlockABI {
		return fmt.Errorf("the host promised Landlock ABI %d; the kernel has %d and go-landlock knows up to %d", p.LandlockABI, abi, len(landlockConfigs)-1)
	}
	abi = p.LandlockABI
	cfg := landlockConfigs[abi]
	if !p.DenyTCP {
		cfg.HandledAccessNet = 0
	}
	var rules []landlock.Rule
	grant := func(paths []string, dir, file landlock.AccessFSSet, rw bool) error {
		for _, path := range paths {
			fi, err := os.Stat(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("grant %s: %w", path, err)
			}
			var r landlock.FSRule
			switch {
			case rw && fi.IsDir():
				r = landlock.RWDirs(path)
				if abi >= 2 { // ABI 1 has no refer right to grant
					r = r.WithRefer()
				}
			case rw:
				r = landlock.RWFiles(path)
			case fi.IsDir():
				r = landlock.PathAccess(dir, path)
			default:
				r = landlock.PathAccess(file, path)
			}
			rules = append(rules, r.IgnoreIfMissing())
		}
		return nil
	}
	for _, g := range []struct {
		paths     []string
		dir, file landlock.AccessFSSet
		rw        bool
	}{
		{p.SystemRead, readDir, readFile, false},
		{p.Read, readDir, readFile, false},
		{p.Exec, execDir, execFile, false},
		{p.SystemRW, 0, 0, true},
		{p.Write, 0, 0, true},
	} {
		if err := grant(g.paths, g.dir, g.file, g.rw); err != nil {
			return err
		}
	}
	return cfg.Restrict(rules...)
}

// deniedSyscalls fail with EPERM: debugging and tracing other processes,
// namespaces and mounts (escaping or widening the sandbox), kernel keyrings,
// modules, BPF, io_uring (which bypasses seccomp for the operations it
// queues) and other syscalls no language tool needs. research/plugins.md
// §3.3, plus the new mount API, kexec_file_load and io_uring_enter/register.
var deniedSyscalls = []string{
	"ptrace", "process_vm_readv", "process_vm_writev",
	"mount", "umount2", "pivot_root", "chroot", "setns", "unshare",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "open_by_handle_at",
	"bpf", "perf_event_open", "userfaultfd", "personality",
	"keyctl", "add_key", "request_key",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "quotactl",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
}

// cloneNamespaceFlags are the clone(2) flags that create namespaces.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// nativeArch is the AUDIT_ARCH of this build's syscall ABI, which
// go-seccomp-bpf's deny-list is written for.
var nativeArch = map[string]uint32{
	"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64,
	"riscv64": unix.AUDIT_ARCH_RISCV64, "ppc64le": unix.AUDIT_ARCH_PPC64LE, "s390x": unix.AUDIT_ARCH_S390X,
}[runtime.GOARCH]

// applySeccomp loads two filters on every thread (TSYNC). The first
// refuses (EPERM) every syscall made through another ABI than the native
// one: go-seccomp-bpf lets those through untouched, and on x86-64 the i386
// ABI (int 0x80) would reach unshare or ptrace under other numbers
// (measured by TestSeccompBlocksForeignSyscallABI). 32-bit programs therefore
// cannot run in the sandbox. The second is the deny-list: clone with a
// namespace flag fails with EPERM like unshare; clone3, whose flags sit in
// memory a filter cannot read, fails with ENOSYS so that libc falls back
// to clone (glibc does exactly that).
func applySeccomp() error {
	if nativeArch == 0 {
		return fmt.Errorf("no seccomp architecture for %s", runtime.GOARCH)
	}
	const archOffset = 4 // offsetof(struct seccomp_data, arch)
	onlyNative := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: archOffset},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 0, K: nativeArch},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(onlyNative)), Filter: &onlyNative[0]}
	tid, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return fmt.Errorf("load the native-ABI filter: %w", errno)
	}
	if tid != 0 { // TSYNC names the thread it could not synchronise
		return fmt.Errorf("load the native-ABI filter: thread %d could not take it", tid)
	}
	return seccomp.LoadFilter(seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{
				{Action: seccomp.ActionErrno, Names: deniedSyscalls},
				{Action: seccomp.ActionErrno, NamesWithCondtions: []seccomp.NameWithConditions{{
					Name:       "clone",
					Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: cloneNamespaceFlags}},
				}}},
				{Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS), Names: []string{"clone3"}},
			},
		},
	})
}
