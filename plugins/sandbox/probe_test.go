//go:build linux

package sandbox

import (
	"os"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	c := Probe()
	// Every kernel this runs on (5.13+) has seccomp and no_new_privs; the
	// others depend on configuration, so the test checks consistency.
	if !c.NoNewPrivs {
		t.Errorf("NoNewPrivs = false, want true on Linux")
	}
	if c.LandlockABI == 0 && c.LandlockError == "" {
		t.Errorf("Landlock neither available nor explained")
	}
	if !c.Seccomp && c.SeccompError == "" {
		t.Errorf("seccomp neither available nor explained")
	}
	for _, ns := range namespaceFlags {
		if !c.Namespaces[ns.name] && c.NamespaceErrors[ns.name] == "" {
			t.Errorf("namespace %s neither available nor explained", ns.name)
		}
	}
	// Root can always create the non-user namespaces.
	if os.Getuid() == 0 && !c.Namespaces["net"] {
		t.Errorf("running as root but a net namespace failed: %s", c.NamespaceErrors["net"])
	}
	level := c.Level()
	if (c.LandlockABI == 0 || !c.Seccomp) != strings.Contains(level, "degraded") {
		t.Errorf("Level() = %q, inconsistent with %+v", level, c)
	}
}
