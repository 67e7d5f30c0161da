//go:build linux

package sandbox

import (
	"fmt"
	"strings"
)

// Level is the sandbox one plugin got: what was applied and, never silently,
// what was not. [Command] computes it from the kernel's [Capabilities] and
// the [Spec]; the launcher fails rather than start a plugin with less than
// its Level says.
type Level struct {
	// LandlockABI is the Landlock ABI the launcher enforces (the kernel's,
	// capped at what go-landlock knows), 0 when Landlock is off.
	LandlockABI int
	// Seccomp is true when the syscall deny-list is loaded.
	Seccomp bool
	// NoNewPrivs is always true: the launcher sets it before anything else
	// is restricted, and drops every capability before executing the plugin.
	NoNewPrivs bool
	// Namespaces lists the new namespaces, in the order user, pid, net, ipc,
	// uts, mount.
	Namespaces []string
	// FreshProc is true when the plugin sees a /proc of its own PID
	// namespace (host processes invisible).
	FreshProc bool
	// Masked are the shared directories (/tmp, /run…) the plugin sees
	// empty, but for its grants: see [MaskedPaths].
	Masked []string
	// Network is the manifest's network value (none, loopback or any).
	Network string
	// NetworkEnforcement says how Network is enforced, for instance
	// "netns, landlock-tcp" or "none".
	NetworkEnforcement string
	// NoFile, FSizeMB and DataMB are the rlimits set (the Spec's, lowered
	// to the host's hard limits); 0 means inherited. RLIMIT_CORE is always 0.
	NoFile, FSizeMB, DataMB int
	// Cgroup is always "none" for now: memory, CPU and process-count limits
	// via cgroup v2 are not implemented (and this VM has no v2 controllers).
	Cgroup string
	// Degraded lists what the plugin should have had and did not get.
	Degraded []string
	// Warnings lists risks the manifest asked for, such as network any.
	Warnings []string
}

// IsDegraded reports whether anything is listed in Degraded.
func (l Level) IsDegraded() bool { return len(l.Degraded) > 0 }

// String prints the level on one line, for logs, plugin status and
// `gathering doctor`, for instance:
//
//	landlock-abi-7 seccomp nnp caps:none ns:user,pid,net,ipc,uts,mount proc:private masked:/tmp,/var/tmp,/run,/dev/shm net:none(netns,landlock-tcp) rlimit:nofile=4096,fsize=256MiB,data=2048MiB,core=0 cgroup:none; degraded: ...
func (l Level) String() string {
	var parts []string
	if l.LandlockABI > 0 {
		parts = append(parts, fmt.Sprintf("landlock-abi-%d", l.LandlockABI))
	} else {
		parts = append(parts, "landlock:off")
	}
	if l.Seccomp {
		parts = append(parts, "seccomp")
	} else {
		parts = append(parts, "seccomp:off")
	}
	if l.NoNewPrivs {
		parts = append(parts, "nnp caps:none")
	}
	if len(l.Namespaces) > 0 {
		parts = append(parts, "ns:"+strings.Join(l.Namespaces, ","))
	} else {
		parts = append(parts, "ns:none")
	}
	if l.FreshProc {
		parts = append(parts, "proc:private")
	}
	if len(l.Masked) > 0 {
		parts = append(parts, "masked:"+strings.Join(l.Masked, ","))
	}
	parts = append(parts, fmt.Sprintf("net:%s(%s)", l.Network, l.NetworkEnforcement))
	parts = append(parts, fmt.Sprintf("rlimit:nofile=%s,fsize=%s,data=%s,core=0",
		limitString(l.NoFile, ""), limitString(l.FSizeMB, "MiB"), limitString(l.DataMB, "MiB")))
	parts = append(parts, "cgroup:"+l.Cgroup)
	s := strings.Join(parts, " ")
	if len(l.Degraded) > 0 {
		s += "; degraded: " + strings.Join(l.Degraded, "; ")
	}
	if len(l.Warnings) > 0 {
		s += "; warning: " + strings.Join(l.Warnings, "; ")
	}
	return s
}

func limitString(n int, unit string) string {
	if n <= 0 {
		return "inherited"
	}
	return fmt.Sprintf("%d%s", n, unit)
}
