//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Capabilities is what the kernel lets this process use to confine a child.
type Capabilities struct {
	// LandlockABI is the Landlock ABI version, 0 when Landlock is missing.
	LandlockABI int
	// LandlockError says why Landlock is missing.
	LandlockError string
	// Seccomp reports seccomp filters with SECCOMP_RET_KILL_PROCESS.
	Seccomp      bool
	SeccompError string
	// NoNewPrivs reports prctl(PR_SET_NO_NEW_PRIVS) support.
	NoNewPrivs bool
	// Namespaces maps each namespace kind (user, net, pid, ipc, uts) to
	// whether a child could be started in a new one of its own.
	Namespaces map[string]bool
	// NamespaceErrors says why a namespace kind failed.
	NamespaceErrors map[string]string
	// CgroupV2 reports a unified cgroup hierarchy at /sys/fs/cgroup.
	CgroupV2 bool
}

var namespaceFlags = []struct {
	name string
	flag uintptr
}{
	{"user", unix.CLONE_NEWUSER},
	{"net", unix.CLONE_NEWNET},
	{"pid", unix.CLONE_NEWPID},
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
}

// Probe measures the kernel's sandbox features by trying each one (`gathering
// doctor` prints it; [Command] uses it to choose what to apply): it asks
// Landlock for its ABI, asks seccomp whether the kill action is available,
// and starts /bin/true in each kind of namespace. It changes nothing in the
// calling process.
func Probe() Capabilities {
	var c Capabilities
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		c.LandlockError = errno.Error()
	} else {
		c.LandlockABI = int(abi)
	}

	action := uint32(unix.SECCOMP_RET_KILL_PROCESS)
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action))); errno != 0 {
		c.SeccompError = errno.Error()
	} else {
		c.Seccomp = true
	}

	if v, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); err == nil && v >= 0 {
		c.NoNewPrivs = true
	}

	c.Namespaces = map[string]bool{}
	c.NamespaceErrors = map[string]string{}
	for _, ns := range namespaceFlags {
		if err := tryNamespace(ns.flag); err != nil {
			c.NamespaceErrors[ns.name] = err.Error()
			continue
		}
		c.Namespaces[ns.name] = true
	}

	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		c.CgroupV2 = true
	}
	return c
}

// tryNamespace starts /bin/true in a new namespace of one kind.
func tryNamespace(flag uintptr) error {
	bin, err := trueBinary()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flag}
	if flag == unix.CLONE_NEWUSER {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("child failed: %s", strings.TrimSpace(ee.String()))
		}
		return err
	}
	return nil
}

// trueBinary finds true(1) on PATH or, when PATH lacks it (a host started
// with a bare environment), where Linux distributions keep it.
func trueBinary() (string, error) {
	if bin, err := exec.LookPath("true"); err == nil {
		return bin, nil
	}
	for _, bin := range []string{"/usr/bin/true", "/bin/true"} {
		if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return bin, nil
		}
	}
	return "", errors.New("no true binary to probe with, on PATH or in /usr/bin and /bin")
}

// Level summarises c in a few words, as doctor and plugin status print it.
func (c Capabilities) Level() string {
	var parts []string
	if c.LandlockABI > 0 {
		parts = append(parts, fmt.Sprintf("landlock-abi-%d", c.LandlockABI))
	}
	if c.Seccomp {
		parts = append(parts, "seccomp")
	}
	var ns []string
	for _, n := range namespaceFlags {
		if c.Namespaces[n.name] {
			ns = append(ns, n.name)
		}
	}
	if len(ns) > 0 {
		parts = append(parts, "ns:"+strings.Join(ns, ","))
	}
	if c.CgroupV2 {
		parts = append(parts, "cgroup2")
	}
	if c.LandlockABI == 0 || !c.Seccomp {
		parts = append(parts, "degraded")
	}
	return strings.Join(parts, " ")
}
