package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/plugins/sandbox"
)

// doctor checks what gathering depends on and prints one line per check.
// It exits 1 when the store is unreachable, its migrations are not current,
// or a plugin the settings ask for is refused. What the kernel offers the
// sandbox is a report: a missing feature is a warning, since gathering runs
// without it and each plugin's level says what it lost.
func doctor(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var c config
	fs := newFlagSet("doctor", &c, scopePlugins, stderr, "Usage: gathering doctor [settings]\n\nChecks the config, the store and its migrations, the sandbox features of this kernel, and each plugin.\nExits 1 when the store is unreachable, its migrations are not current, or a plugin is refused;\na sandbox feature this kernel lacks is a warning.")
	if err := parseSettings(fs, &c, args, os.Getenv); err != nil {
		return 0, err
	}
	return runDoctor(ctx, &c, sandbox.Probe(), stdout, stderr), nil
}

// runDoctor prints every check for the settings c and a kernel offering
// caps, and returns the exit code.
func runDoctor(ctx context.Context, c *config, caps sandbox.Capabilities, stdout, stderr io.Writer) int {
	failed := false
	report := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark, failed = "FAIL", true
		}
		fmt.Fprintf(stdout, "%s %-12s %s\n", mark, what, detail)
	}

	fmt.Fprintf(stdout, "gathering %s\n", versionString())
	if _, err := os.Stat(c.ConfigFile); err == nil {
		report(true, "config", c.ConfigFile)
	} else {
		fmt.Fprintf(stdout, "--   %-12s %s (not present; defaults apply)\n", "config", c.ConfigFile)
	}

	checkStore(ctx, c, report, stdout)
	reportSandbox(stdout, caps)
	checkPlugins(c, report, stdout, stderr)
	if failed {
		return 1
	}
	return 0
}

// reportSandbox prints what the kernel offers the plugin sandbox, one line
// per feature: ok when present, warn when missing. None is a failure.
func reportSandbox(stdout io.Writer, caps sandbox.Capabilities) {
	line := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark = "warn"
		}
		fmt.Fprintf(stdout, "%s %-12s %s\n", mark, what, detail)
	}
	landlock := fmt.Sprintf("ABI %d", caps.LandlockABI)
	if caps.LandlockABI == 0 {
		landlock = "unavailable: " + caps.LandlockError + "; plugins run without filesystem confinement"
	}
	line(caps.LandlockABI > 0, "landlock", landlock)
	seccomp := "filters with kill-process"
	if !caps.Seccomp {
		seccomp = "unavailable: " + caps.SeccompError + "; plugins run without the syscall deny-list"
	}
	line(caps.Seccomp, "seccomp", seccomp)
	line(caps.NoNewPrivs, "no_new_privs", map[bool]string{true: "available", false: "unavailable"}[caps.NoNewPrivs])
	var have, missing []string
	for name, ok := range caps.Namespaces {
		if ok {
			have = append(have, name)
		}
	}
	for name, why := range caps.NamespaceErrors {
		missing = append(missing, name+" ("+why+")")
	}
	slices.Sort(have)
	slices.Sort(missing)
	nsDetail := "available: " + strings.Join(have, ", ")
	if len(missing) > 0 {
		nsDetail += "; unavailable: " + strings.Join(missing, ", ")
	}
	line(len(missing) == 0 && len(have) > 0, "namespaces", nsDetail)
	line(caps.CgroupV2, "cgroup v2", map[bool]string{true: "mounted at /sys/fs/cgroup", false: "not mounted; plugin memory is limited by rlimits only"}[caps.CgroupV2])
	fmt.Fprintf(stdout, "     %-12s %s\n", "sandbox", caps.Level())
}

// checkStore reports whether the store answers and its migrations are current.
// A SQLite file that does not exist yet is reported, not created.
func checkStore(ctx context.Context, c *config, report func(bool, string, string), stdout io.Writer) {
	url := c.databaseURL()
	if !isPostgres(url) {
		if _, err := os.Stat(url); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stdout, "--   %-12s sqlite %s does not exist yet; `gathering serve` or `gathering migrate` creates it\n", "store", url)
			return
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := openStore(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		report(false, "store", err.Error())
		return
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		report(false, "store", fmt.Sprintf("%s %s: %v", st.Kind(), describeStore(c), err))
		return
	}
	report(true, "store", fmt.Sprintf("%s %s reachable", st.Kind(), describeStore(c)))
	ms, err := st.MigrationStatus(ctx)
	switch {
	case err != nil:
		report(false, "migrations", err.Error())
	case ms.Current < ms.Latest:
		report(false, "migrations", fmt.Sprintf("at %d of %d; run `gathering migrate`", ms.Current, ms.Latest))
	case ms.Current > ms.Latest:
		report(false, "migrations", fmt.Sprintf("at %d, newer than this build's %d; upgrade gathering", ms.Current, ms.Latest))
	default:
		report(true, "migrations", fmt.Sprintf("current (version %d)", ms.Current))
	}
}

// checkPlugins verifies every plugin serve would load and lists them; a
// refused plugin is a failure, since the user asked for it.
func checkPlugins(c *config, report func(ok bool, what, detail string), stdout, stderr io.Writer) {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := pluginHostConfig(c, log)
	if err != nil {
		report(false, "plugins", err.Error())
		return
	}
	h, err := host.New(cfg)
	if err != nil {
		report(false, "plugins", err.Error())
		return
	}
	defer h.Close()
	ps := h.Plugins()
	refused, missing := 0, 0
	for _, p := range ps {
		switch {
		case p.State != host.StateRefused:
		case strings.HasPrefix(p.Reason, string(launch.StepAvailable)+":"):
			missing++ // a built-in whose language server is not installed
		default:
			refused++
		}
	}
	report(refused == 0, "plugins", fmt.Sprintf("%d found, %d refused, %d built-ins without their language server", len(ps), refused, missing))
	printPlugins(stdout, ps)
}
