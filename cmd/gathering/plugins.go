package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sandbox"
)

// pluginHostConfig turns the plugin settings into the host's config:
// plugin directories (default <data-dir>/plugins, when it exists), the trust
// file (default <user config dir>/gathering/trust.toml, when it exists), the
// cache directory and the built-ins to run.
func pluginHostConfig(c *config, log *slog.Logger) (host.Config, error) {
	cfg := host.Config{
		Logger:           log,
		DevOverrides:     absAll(c.PluginDev),
		CacheDir:         c.PluginCacheDir,
		MaxDocumentBytes: c.MaxDocumentBytes,
		Builtins:         []string{},
	}
	for _, name := range c.Plugins {
		if name != "none" {
			cfg.Builtins = append(cfg.Builtins, name)
		}
	}
	for _, pair := range c.LanguageServers {
		name, path, ok := strings.Cut(pair, "=")
		if !ok || name == "" || !filepath.IsAbs(path) {
			return cfg, fmt.Errorf("language-servers: %q is not name=/absolute/path", pair)
		}
		if cfg.ServerPaths == nil {
			cfg.ServerPaths = map[string]string{}
		}
		cfg.ServerPaths[name] = path
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(c.DataDir, "plugin-cache")
	}
	dirs := absAll(c.PluginDirs)
	if len(c.PluginDirs) == 0 {
		if d := filepath.Join(c.DataDir, "plugins"); isDir(d) {
			dirs = []string{d}
		}
	}
	cfg.Dirs = dirs
	trust, explicit := c.PluginTrust, c.PluginTrust != ""
	if !explicit {
		if dir, err := os.UserConfigDir(); err == nil {
			trust = filepath.Join(dir, "gathering", "trust.toml")
		}
	}
	if trust != "" {
		t, err := manifest.LoadTrust(trust)
		switch {
		case err == nil:
			cfg.Trust = t
		case !explicit && errors.Is(err, fs.ErrNotExist):
			// No trust file: only built-ins and dev overrides load.
		default:
			return cfg, fmt.Errorf("plugin trust file: %w", err)
		}
	}
	return cfg, nil
}

func absAll(dirs []string) []string {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if a, err := filepath.Abs(d); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func isDir(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}

// pluginList prints every plugin the host finds with the settings given:
// built-ins and plugin directories, each verified as serve would.
func pluginList(args []string, stdout, stderr io.Writer) (int, error) {
	var c config
	fs := newFlagSet("plugin list", &c, scopePlugins, stderr, "Usage: gathering plugin list [settings]\n\nVerifies and lists every plugin serve would load: version, publisher, signing key, languages, and state.")
	if err := parseSettings(fs, &c, args, os.Getenv); err != nil {
		return 0, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := pluginHostConfig(&c, log)
	if err != nil {
		return 0, err
	}
	h, err := host.New(cfg)
	if err != nil {
		return 0, err
	}
	defer h.Close()
	printPlugins(stdout, h.Plugins())
	return 0, nil
}

// printPlugins writes one row per plugin and, under it, why it is refused
// or not running and any warning.
func printPlugins(w io.Writer, plugins []host.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tPUBLISHER\tKEY\tLANGUAGES\tSTATE\tSOURCE")
	for _, p := range plugins {
		key := p.KeyID
		if key == "" {
			key = "-"
		}
		langs := slices.Clone(p.Languages)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, orDash(p.Version), orDash(p.Publisher), key, orDash(strings.Join(langs, ",")), p.State, p.Source)
	}
	tw.Flush()
	for _, p := range plugins {
		switch {
		case p.State == host.StateRefused || p.State == host.StateDisabled:
			fmt.Fprintf(w, "  %s: %s\n", p.Name, p.Reason)
		case p.Sandbox != "":
			fmt.Fprintf(w, "  %s: sandbox %s\n", p.Name, p.Sandbox)
		}
		for _, warn := range p.Warnings {
			fmt.Fprintf(w, "  %s: warning: %s\n", p.Name, warn)
		}
	}
	// Plugins start with the first document of their language, so a
	// listing from the command line shows what each would get here.
	fmt.Fprintf(w, "sandbox on this machine: %s\n", sandboxSummary(sandbox.Probe()))
}

// sandboxSummary says what a plugin's sandbox holds on this kernel and
// what degrades.
func sandboxSummary(c sandbox.Capabilities) string {
	s := c.Level()
	var degraded []string
	if c.LandlockABI == 0 {
		degraded = append(degraded, "landlock")
	}
	if !c.Seccomp {
		degraded = append(degraded, "seccomp")
	}
	if len(c.NamespaceErrors) > 0 {
		degraded = append(degraded, "namespaces")
	}
	// cgroup limits are not built, whether or not the kernel has cgroup v2.
	degraded = append(degraded, "cgroup limits (memory by rlimit only; no cpu or process limits)")
	if len(degraded) > 0 {
		s += "; degraded: " + strings.Join(degraded, ", ")
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
