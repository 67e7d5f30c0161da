//go:build linux

package sandbox

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxLandlockABI is the highest Landlock ABI go-landlock v0.11.2 knows; the
// launcher enforces min(kernel, this).
const maxLandlockABI = 11

var probed = sync.OnceValue(Probe)

// Command builds the command that starts spec's plugin in the sandbox, and
// the [Level] it will run at. The command runs spec.Launcher with
// "plugin-exec", the encoded policy and the plugin's argv; the launcher
// applies rlimits, no_new_privs, Landlock and seccomp and then executes the
// sealed memfd (fd 3). Command itself sets up what only the parent can:
// namespaces (user with the host's uid and gid mapped to themselves, pid,
// net unless network is any, ipc, uts, mount), Pdeathsig SIGKILL, a process
// group of its own, stdin /dev/null and an environment holding only
// [baseEnv], spec.EnvAllow and spec.Env.
//
// The command is complete: run it with Start (go-plugin's RunnerFunc should
// start this Cmd rather than the one go-plugin built, since go-plugin sets
// Stdin to the host's). Stdout and Stderr are left to the caller.
//
// Pdeathsig follows the OS thread that calls Start (golang/go#27505); the
// PID namespace (the plugin is its init, so its death kills every
// descendant) and the SDK's parent watchdog cover the rest.
func Command(spec Spec) (*exec.Cmd, Level, error) {
	if err := checkSpec(&spec); err != nil {
		return nil, Level{}, err
	}
	caps := spec.Capabilities
	if caps == nil {
		c := probed()
		caps = &c
	}
	p := &policy{
		Version:    policyVersion,
		Read:       spec.Read,
		Write:      append(slices.Clone(spec.Write), spec.SocketDir, spec.CacheDir),
		Exec:       spec.Exec,
		SystemRead: SystemReadPaths,
		SystemRW:   SystemReadWritePaths,
		Seccomp:    !spec.DisableSeccomp && caps.Seccomp,
		NoFile:     capAtHard(unix.RLIMIT_NOFILE, uint64(max(spec.Limits.MaxOpenFiles, 0)), 1),
		FSize:      capAtHard(unix.RLIMIT_FSIZE, uint64(max(spec.Limits.MaxFileWriteMB, 0))<<20, 1<<20),
		Data:       capAtHard(unix.RLIMIT_DATA, uint64(max(spec.Limits.MemoryMB, 0))<<20, 1<<20),
	}
	interp, err := elfInterpreter(spec.Binary)
	if err != nil {
		return nil, Level{}, err
	}
	if interp != "" {
		// The kernel opens a dynamically linked program's loader for
		// execution, which Landlock checks like any execve.
		p.Exec = append(slices.Clone(p.Exec), interp)
	}
	for _, path := range spec.Exec {
		// The same for programs granted one by one (a directory grant
		// needs its programs' loader granted by the caller).
		if interp, err := ELFInterpreter(path); err == nil && interp != "" && !slices.Contains(p.Exec, interp) {
			p.Exec = append(p.Exec, interp)
		}
	}

	lvl := Level{NoNewPrivs: true, Network: spec.Network, Cgroup: "none",
		NoFile: int(p.NoFile), FSizeMB: int(p.FSize >> 20), DataMB: int(p.Data >> 20)}
	switch {
	case spec.DisableLandlock:
		lvl.Degraded = append(lvl.Degraded, "landlock turned off by the host: no filesystem confinement")
	case caps.LandlockABI == 0:
		lvl.Degraded = append(lvl.Degraded, "landlock unavailable ("+caps.LandlockError+"): no filesystem confinement")
	default:
		lvl.LandlockABI = min(caps.LandlockABI, maxLandlockABI)
		p.LandlockABI = lvl.LandlockABI
	}
	if p.Seccomp {
		lvl.Seccomp = true
	} else if spec.DisableSeccomp {
		lvl.Degraded = append(lvl.Degraded, "seccomp turned off by the host: ptrace, unshare, mount, bpf… allowed")
	} else {
		lvl.Degraded = append(lvl.Degraded, "seccomp unavailable ("+caps.SeccompError+")")
	}

	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	clone, names, nsDegraded := namespaces(spec, caps)
	lvl.Degraded = append(lvl.Degraded, nsDegraded...)
	attr.Cloneflags = clone
	lvl.Namespaces = names
	if clone&unix.CLONE_NEWUSER != 0 {
		uid, gid := os.Getuid(), os.Getgid()
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	}
	if clone&unix.CLONE_NEWPID != 0 && clone&unix.CLONE_NEWNS != 0 {
		p.MountProc = true
		lvl.FreshProc = true
		for _, dir := range MaskedPaths {
			if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
				p.Mask = append(p.Mask, dir)
			}
		}
		lvl.Masked = p.Mask
	} else {
		lvl.Degraded = append(lvl.Degraded, "no mount namespace: Unix sockets in /tmp and /run stay reachable"+socketGap(lvl.LandlockABI))
	}
	netns := clone&unix.CLONE_NEWNET != 0
	p.LoopbackUp = netns && spec.Network == NetworkLoopback
	p.DenyTCP = p.LandlockABI > 0 && spec.Network == NetworkNone && lvl.LandlockABI >= 4
	var enf []string
	if netns {
		enf = append(enf, "netns")
	}
	if p.DenyTCP {
		enf = append(enf, "landlock-tcp")
	}
	switch {
	case spec.Network == NetworkAny:
		lvl.NetworkEnforcement = "host network"
		lvl.Warnings = append(lvl.Warnings, "network any: the plugin shares the host's network")
	case len(enf) == 0:
		lvl.NetworkEnforcement = "none"
		lvl.Degraded = append(lvl.Degraded, "network "+spec.Network+" not enforced (no network namespace, no landlock TCP rules)")
	default:
		lvl.NetworkEnforcement = strings.Join(enf, ",")
		if spec.Network == NetworkNone && !netns {
			lvl.Degraded = append(lvl.Degraded, "network none without a network namespace: UDP, MPTCP and raw sockets are not blocked")
		}
	}
	if os.Getuid() != 0 && (p.MountProc || p.LoopbackUp) {
		// A non-root launcher loses its namespace capabilities at execve
		// unless they are ambient; it drops them all before the plugin runs.
		attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP}
	}
	if lvl.DataMB <= 0 {
		lvl.Degraded = append(lvl.Degraded, "no memory limit (memory_mb unset)")
	}
	lvl.Degraded = append(lvl.Degraded, "no cgroup v2: memory capped by RLIMIT_DATA only, cpu_percent and max_pids not enforced")

	enc, err := p.encode()
	if err != nil {
		return nil, Level{}, fmt.Errorf("sandbox: encode policy: %w", err)
	}
	args := spec.Args
	if len(args) == 0 {
		args = []string{"plugin"}
	}
	cmd := &exec.Cmd{
		Path:        spec.Launcher,
		Args:        append([]string{spec.Launcher, LauncherCommand, enc}, args...),
		Env:         environment(spec),
		Dir:         firstNonEmpty(spec.Dir, spec.CacheDir),
		ExtraFiles:  []*os.File{spec.Binary},
		SysProcAttr: attr,
	}
	return cmd, lvl, nil
}

// socketGap qualifies the Unix socket exposure: Landlock ABI 9 and later
// check connecting to pathname sockets.
func socketGap(abi int) string {
	if abi >= 9 {
		return " (but Landlock refuses connecting outside the grants)"
	}
	return " (Landlock below ABI 9 does not check connecting)"
}

// capAtHard lowers v to this process's hard limit for res (which the child
// inherits and, without CAP_SYS_RESOURCE, cannot raise), keeping whole
// units; 0 stays 0 (inherit).
func capAtHard(res int, v, unit uint64) uint64 {
	var rl unix.Rlimit
	if v == 0 || unix.Getrlimit(res, &rl) != nil || rl.Max == unix.RLIM_INFINITY || v <= rl.Max {
		return v
	}
	return rl.Max / unit * unit
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkSpec validates spec and fills its defaults.
func checkSpec(spec *Spec) error {
	if spec.Launcher == "" {
		return errors.New("sandbox: Spec.Launcher is empty")
	}
	if spec.Binary == nil {
		return errors.New("sandbox: Spec.Binary is nil")
	}
	if !IsSealed(spec.Binary) {
		return fmt.Errorf("sandbox: Spec.Binary %s is not a sealed memfd (use SealedCopy)", spec.Binary.Name())
	}
	if spec.Network == "" {
		spec.Network = NetworkNone
	}
	switch spec.Network {
	case NetworkNone, NetworkLoopback, NetworkAny:
	default:
		return fmt.Errorf("sandbox: network %q, want none, loopback or any", spec.Network)
	}
	if spec.SocketDir == "" || spec.CacheDir == "" {
		return errors.New("sandbox: Spec.SocketDir and Spec.CacheDir are required")
	}
	for _, list := range [][]string{spec.Read, spec.Write, spec.Exec, {spec.SocketDir, spec.CacheDir, spec.Dir}} {
		for _, p := range list {
			if p != "" && !filepath.IsAbs(p) {
				return fmt.Errorf("sandbox: path %q is not absolute", p)
			}
		}
	}
	return nil
}

// namespaces picks the clone flags: with a user namespace every other kind
// is allowed; without one (userns disabled), root may still use the kinds
// the probe saw work.
func namespaces(spec Spec, caps *Capabilities) (uintptr, []string, []string) {
	if spec.DisableNamespaces {
		return 0, nil, []string{"namespaces turned off by the host: the plugin sees host processes and network, and killing it may leave orphans"}
	}
	wantNet := spec.Network != NetworkAny
	var flags uintptr
	var names, degraded []string
	add := func(name string, flag uintptr) {
		flags |= flag
		names = append(names, name)
	}
	switch {
	case caps.Namespaces["user"]:
		add("user", unix.CLONE_NEWUSER)
		add("pid", unix.CLONE_NEWPID)
		if wantNet {
			add("net", unix.CLONE_NEWNET)
		}
		add("ipc", unix.CLONE_NEWIPC)
		add("uts", unix.CLONE_NEWUTS)
		add("mount", unix.CLONE_NEWNS)
	case os.Getuid() == 0:
		degraded = append(degraded, "no user namespace ("+caps.NamespaceErrors["user"]+")")
		for _, ns := range []struct {
			name string
			flag uintptr
		}{{"pid", unix.CLONE_NEWPID}, {"net", unix.CLONE_NEWNET}, {"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}} {
			if ns.name == "net" && !wantNet {
				continue
			}
			if caps.Namespaces[ns.name] {
				add(ns.name, ns.flag)
			} else {
				degraded = append(degraded, "no "+ns.name+" namespace ("+caps.NamespaceErrors[ns.name]+")")
			}
		}
		if flags&unix.CLONE_NEWPID != 0 {
			add("mount", unix.CLONE_NEWNS)
		}
	default:
		degraded = append(degraded, "no namespaces: user namespaces unavailable ("+caps.NamespaceErrors["user"]+")")
	}
	return flags, names, degraded
}

// environment is baseEnv and spec.EnvAllow from the host's environment,
// then HOME, TMPDIR, XDG_CACHE_HOME and PLUGIN_UNIX_SOCKET_DIR, then
// spec.Env; a later entry replaces an earlier one with the same key.
func environment(spec Spec) []string {
	var env []string
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		env = append(env, kv)
	}
	for _, k := range append(slices.Clone(baseEnv), spec.EnvAllow...) {
		if v, ok := os.LookupEnv(k); ok {
			set(k + "=" + v)
		}
	}
	set("HOME=" + spec.CacheDir)
	set("TMPDIR=" + spec.CacheDir)
	set("XDG_CACHE_HOME=" + spec.CacheDir)
	set("PLUGIN_UNIX_SOCKET_DIR=" + spec.SocketDir)
	for _, kv := range spec.Env {
		set(kv)
	}
	return env
}

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
