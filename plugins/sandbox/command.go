//go:build linux

package sandbox

import (
	"errors"
	"fmt"
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
// With spec.SelfImage the command executes the image itself as the
// launcher, which may then run the plugin without executing it again
// ([LauncherMainWith]).
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
	p, err := grants(spec)
	if err != nil {
		return nil, Level{}, err
	}
	lvl := Level{NoNewPrivs: true, Network: spec.Network, Cgroup: "none",
		NoFile: int(p.NoFile), FSizeMB: int(p.FSize >> 20), DataMB: int(p.Data >> 20)}
	chooseLandlockAndSeccomp(spec, caps, p, &lvl)
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	chooseNamespaces(spec, caps, p, &lvl, attr)
	chooseNetwork(spec, attr.Cloneflags&unix.CLONE_NEWNET != 0, p, &lvl)
	if os.Getuid() != 0 && (p.MountProc || p.LoopbackUp) {
		// A non-root launcher loses its namespace capabilities at execve
		// unless they are ambient; it drops them all before the plugin runs.
		attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP}
	}
	if lvl.DataMB <= 0 {
		lvl.Degraded = append(lvl.Degraded, "no memory limit (memory_mb unset)")
	}
	// cgroup limits are not built (this project's machines have no
	// delegated cgroup v2 hierarchy to try them on), whatever the host has.
	lvl.Degraded = append(lvl.Degraded, "no cgroup limits: memory capped by RLIMIT_DATA only, cpu_percent and max_pids not enforced")

	enc, err := p.encode()
	if err != nil {
		return nil, Level{}, fmt.Errorf("sandbox: encode policy: %w", err)
	}
	args := spec.Args
	if len(args) == 0 {
		args = []string{"plugin"}
	}
	path := spec.Launcher
	if spec.SelfImage {
		// Resolved in the child, where the image is fd 3.
		path = pluginPath
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        append([]string{spec.Launcher, LauncherCommand, enc}, args...),
		Env:         environment(spec),
		Dir:         firstNonEmpty(spec.Dir, spec.CacheDir),
		ExtraFiles:  []*os.File{spec.Binary},
		SysProcAttr: attr,
	}
	return cmd, lvl, nil
}

// grants starts the launcher's policy: the paths, with the ELF loaders the
// plugin and its granted programs need, and the rlimits.
func grants(spec Spec) (*policy, error) {
	p := &policy{
		Version:    policyVersion,
		Read:       spec.Read,
		Write:      append(slices.Clone(spec.Write), spec.SocketDir, spec.CacheDir),
		Exec:       slices.Clone(spec.Exec),
		SystemRead: SystemReadPaths,
		SystemRW:   SystemReadWritePaths,
		NoFile:     capAtHard(unix.RLIMIT_NOFILE, uint64(max(spec.Limits.MaxOpenFiles, 0)), 1),
		FSize:      capAtHard(unix.RLIMIT_FSIZE, uint64(max(spec.Limits.MaxFileWriteMB, 0))<<20, 1<<20),
		Data:       capAtHard(unix.RLIMIT_DATA, uint64(max(spec.Limits.MemoryMB, 0))<<20, 1<<20),
	}
	interp, err := elfInterpreter(spec.Binary)
	if err != nil {
		return nil, err
	}
	if interp != "" {
		// The kernel opens a dynamically linked program's loader for
		// execution, which Landlock checks like any execve.
		p.Exec = append(p.Exec, interp)
	}
	for _, path := range spec.Exec {
		// The same for programs granted one by one (a directory grant
		// needs its programs' loader granted by the caller).
		if interp, err := ELFInterpreter(path); err == nil && interp != "" && !slices.Contains(p.Exec, interp) {
			p.Exec = append(p.Exec, interp)
		}
	}
	return p, nil
}

// chooseLandlockAndSeccomp turns on what the kernel has and the host did
// not turn off, and says why when not.
func chooseLandlockAndSeccomp(spec Spec, caps *Capabilities, p *policy, lvl *Level) {
	switch {
	case spec.DisableLandlock:
		lvl.Degraded = append(lvl.Degraded, "landlock turned off by the host: no filesystem confinement")
	case caps.LandlockABI == 0:
		lvl.Degraded = append(lvl.Degraded, "landlock unavailable ("+caps.LandlockError+"): no filesystem confinement")
	default:
		lvl.LandlockABI = min(caps.LandlockABI, maxLandlockABI)
		p.LandlockABI = lvl.LandlockABI
	}
	switch {
	case spec.DisableSeccomp:
		lvl.Degraded = append(lvl.Degraded, "seccomp turned off by the host: ptrace, unshare, mount, bpf… allowed")
	case !caps.Seccomp:
		lvl.Degraded = append(lvl.Degraded, "seccomp unavailable ("+caps.SeccompError+")")
	default:
		p.Seccomp = true
		lvl.Seccomp = true
	}
}

// chooseNamespaces sets the clone flags and uid/gid maps, and with new PID
// and mount namespaces asks for a fresh /proc and the masked directories.
func chooseNamespaces(spec Spec, caps *Capabilities, p *policy, lvl *Level, attr *syscall.SysProcAttr) {
	clone, names, degraded := namespaces(spec, caps)
	lvl.Degraded = append(lvl.Degraded, degraded...)
	attr.Cloneflags = clone
	lvl.Namespaces = names
	if clone&unix.CLONE_NEWUSER != 0 {
		uid, gid := os.Getuid(), os.Getgid()
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	}
	if clone&unix.CLONE_NEWPID == 0 || clone&unix.CLONE_NEWNS == 0 {
		lvl.Degraded = append(lvl.Degraded, "no mount namespace: Unix sockets in /tmp and /run stay reachable"+socketGap(lvl.LandlockABI))
		return
	}
	p.MountProc = true
	lvl.FreshProc = true
	for _, dir := range MaskedPaths {
		if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
			p.Mask = append(p.Mask, dir)
		}
	}
	lvl.Masked = p.Mask
}

// chooseNetwork enforces the manifest's network value with what there is:
// the network namespace first (it also closes Landlock's MPTCP gap), then
// Landlock's TCP rules for network none.
func chooseNetwork(spec Spec, netns bool, p *policy, lvl *Level) {
	p.LoopbackUp = netns && spec.Network == NetworkLoopback
	p.StdinPipe = spec.StdinPipe
	p.DenyTCP = spec.Network == NetworkNone && p.LandlockABI >= 4
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
