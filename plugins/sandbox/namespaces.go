//go:build linux

package sandbox

import (
	"os"

	"golang.org/x/sys/unix"
)

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
