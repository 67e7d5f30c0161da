package launch

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// Steps this package adds to manifest's verification steps. A refusal
// names one of them, or a manifest.Step, in a *manifest.Error.
const (
	// StepAvailable: a built-in's dependencies (a language server) are missing.
	StepAvailable manifest.Step = "available"
	// StepDuplicate: another plugin already has this name.
	StepDuplicate manifest.Step = "duplicate"
	// StepIdentity: after the handshake, GetInfo named another plugin,
	// version or API than the manifest.
	StepIdentity manifest.Step = "identity"
)

// SourceBuiltin is [Plugin].Source for a built-in plugin.
const SourceBuiltin = "builtin"

// Set is the plugins [Load] found, verified or refused. Its methods are
// safe for concurrent use.
type Set struct {
	cfg     Config
	log     *slog.Logger
	plugins []*Plugin
}

// Plugin is one plugin Load found: verified and ready to [Start], or
// refused. Its exported fields are read-only.
type Plugin struct {
	// Manifest is the verified manifest; nil when the plugin was refused
	// before its manifest could be read.
	Manifest *manifest.Manifest
	// Source is SourceBuiltin or the plugin's directory (symlinks resolved).
	Source string
	// KeyID is the key that signed the manifest; "" for built-ins and
	// unsigned dev plugins.
	KeyID string
	// ManifestSHA256 is the hex sha256 of plugin.toml; "" for built-ins.
	ManifestSHA256 string
	// Warnings must be shown to the user (an unsigned dev plugin, network
	// access to anywhere).
	Warnings []string
	// Refused says why the plugin may not run: a *manifest.Error naming the
	// failed step. nil for a verified plugin.
	Refused error

	set      *Set
	name     string
	verified *manifest.Plugin // dir plugins: the binary, held open
	builtin  *builtin.Builtin // built-ins
	image    func() (*os.File, error)

	prepMu   sync.Mutex
	prepared *builtin.Prepared // a built-in's last successful Prepare
}

// Name is the plugin's name: the manifest's, or for a plugin refused before
// its manifest was read, its directory's base name.
func (p *Plugin) Name() string { return p.name }

// Step is the verification step that refused the plugin, "" if it was not
// refused.
func (p *Plugin) Step() manifest.Step {
	var e *manifest.Error
	if errors.As(p.Refused, &e) {
		return e.Step
	}
	return ""
}

// Builtin reports whether the plugin is compiled into gathering.
func (p *Plugin) Builtin() bool { return p.builtin != nil }

// Load verifies every plugin directory under cfg.Dirs and cfg.DevOverrides
// and lists the built-ins cfg.Builtins asks for. Plugins that fail are kept
// with Refused set; only a configuration error (an unknown built-in name)
// fails Load. Roots that do not exist are skipped. Close the Set to release
// the verified binaries.
func Load(cfg Config) (*Set, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = pluginv1.DefaultMaxMessageBytes
	}
	if cfg.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("plugin cache directory: %w", err)
		}
		cfg.CacheDir = filepath.Join(dir, "gathering", "plugins")
	}
	s := &Set{cfg: cfg, log: cfg.Logger}
	if err := s.addBuiltins(); err != nil {
		return nil, err
	}
	opts := &manifest.Options{Roots: cfg.Dirs, DevOverrides: cfg.DevOverrides, Trust: cfg.Trust, Policy: cfg.Policy}
	for _, dir := range pluginDirs(cfg.Dirs, cfg.DevOverrides) {
		s.addDir(dir, opts)
	}
	return s, nil
}

// pluginDirs lists the directories to verify: the subdirectories of each
// root, and each dev override that is itself a plugin directory (or else
// its subdirectories), each once, in order.
func pluginDirs(roots, dev []string) []string {
	var dirs []string
	add := func(d string) {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	children := func(root string) {
		entries, err := os.ReadDir(root)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.IsDir() || e.Type()&os.ModeSymlink != 0 {
				add(filepath.Join(root, e.Name()))
			}
		}
	}
	for _, r := range roots {
		children(r)
	}
	for _, d := range dev {
		if _, err := os.Lstat(filepath.Join(d, manifest.ManifestFile)); err == nil {
			add(d)
		} else {
			children(d)
		}
	}
	return dirs
}

func (s *Set) addDir(dir string, opts *manifest.Options) {
	p := &Plugin{set: s, Source: dir, name: filepath.Base(dir)}
	v, err := manifest.Verify(dir, opts)
	if err != nil {
		p.Refused = err
		s.log.Warn("plugin refused", "dir", dir, "step", p.Step(), "error", err)
		s.plugins = append(s.plugins, p)
		return
	}
	p.verified = v
	p.Manifest, p.Source, p.KeyID, p.ManifestSHA256, p.Warnings = v.Manifest, v.Dir, v.KeyID, v.ManifestSHA256, v.Warnings
	p.name = v.Manifest.Name
	for _, w := range v.Warnings {
		s.log.Warn("plugin warning", "plugin", p.name, "warning", w)
	}
	s.refuseDuplicate(p)
	p.image = sync.OnceValues(func() (*os.File, error) { return sealPlugin(v) })
	s.plugins = append(s.plugins, p)
}

// refuseDuplicate refuses p when a plugin loaded earlier (a built-in, or a
// directory listed first) has its name.
func (s *Set) refuseDuplicate(p *Plugin) {
	for _, q := range s.plugins {
		if q.Refused == nil && q.name == p.name {
			p.Refused = &manifest.Error{Step: StepDuplicate, Path: p.Source, Err: fmt.Errorf("plugin %q is already loaded from %s", p.name, q.Source)}
			s.log.Warn("plugin refused", "plugin", p.name, "step", StepDuplicate, "error", p.Refused)
			return
		}
	}
}

func (s *Set) addBuiltins() error {
	all := append(builtin.List(), s.cfg.Test.Builtins...)
	if s.cfg.Builtins != nil {
		for _, name := range s.cfg.Builtins {
			if !slices.ContainsFunc(all, func(b builtin.Builtin) bool { return b.Manifest.Name == name }) {
				return fmt.Errorf("no built-in plugin %q", name)
			}
		}
	}
	for _, b := range all {
		if s.cfg.Builtins != nil && !slices.Contains(s.cfg.Builtins, b.Manifest.Name) {
			continue
		}
		p := &Plugin{set: s, Manifest: b.Manifest, Source: SourceBuiltin, name: b.Manifest.Name, builtin: &b}
		if b.Available != nil {
			if err := b.Available(s.prepareOptions(b.Manifest.Name)); err != nil {
				p.Refused = &manifest.Error{Step: StepAvailable, Err: err}
				s.log.Info("built-in plugin unavailable", "plugin", p.name, "error", err)
			}
		}
		if p.Refused == nil {
			s.refuseDuplicate(p)
		}
		p.image = func() (*os.File, error) { return sealedSelf(s.cfg.Test.Executable) }
		s.plugins = append(s.plugins, p)
	}
	return nil
}

func (s *Set) prepareOptions(name string) builtin.PrepareOptions {
	return builtin.PrepareOptions{CacheDir: filepath.Join(s.cfg.CacheDir, name), ServerPath: s.cfg.ServerPaths[name]}
}

// prepare runs a built-in's Prepare once per Set (a failure is retried at
// the next start): resolving a language server may run `go env`, which
// would otherwise slow every start.
func (p *Plugin) prepare() (*builtin.Prepared, error) {
	if p.builtin == nil || p.builtin.Prepare == nil {
		return &builtin.Prepared{}, nil
	}
	p.prepMu.Lock()
	defer p.prepMu.Unlock()
	if p.prepared != nil {
		return p.prepared, nil
	}
	got, err := p.builtin.Prepare(p.set.prepareOptions(p.name))
	if err != nil {
		return nil, &manifest.Error{Step: StepAvailable, Err: err}
	}
	p.prepared = got
	return got, nil
}

// Plugins returns every plugin found, built-ins first, refused ones
// included, in a fixed order.
func (s *Set) Plugins() []*Plugin { return slices.Clone(s.plugins) }

// Lookup returns the plugin named name that was not refused, or nil.
func (s *Set) Lookup(name string) *Plugin {
	for _, p := range s.plugins {
		if p.Refused == nil && p.name == name {
			return p
		}
	}
	return nil
}

// Close releases the verified binaries. Running instances are not affected
// (their images are sealed copies); plugins of a closed Set cannot start.
func (s *Set) Close() error {
	var errs []error
	for _, p := range s.plugins {
		if p.verified != nil {
			errs = append(errs, p.verified.Close())
		}
	}
	return errors.Join(errs...)
}
