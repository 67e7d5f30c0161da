package host

import (
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/plugins/manifest"
)

// Limits the host applies to what it sends plugins and what it passes on.
const (
	// DefaultMaxDocumentBytes is the size above which a document is not sent
	// to plugins, when Config.MaxDocumentBytes is 0 (research/plugins.md §4.4).
	DefaultMaxDocumentBytes = 8 << 20
	// MaxParamsBytes bounds the params of one request or notification sent to
	// a plugin: the wire's message cap.
	MaxParamsBytes = 16 << 20
	// MaxDiagnosticsPerURI caps the merged diagnostics published for a document.
	MaxDiagnosticsPerURI = 2000
	// MaxCompletionItems caps a merged completion list; a capped list is
	// marked incomplete.
	MaxCompletionItems = 5000
)

// Config configures a [Host].
type Config struct {
	// Logger receives the host's own log; nil discards it.
	Logger *slog.Logger
	// Dirs are the directories plugin directories lie in.
	Dirs []string
	// DevOverrides are directories whose plugins may be unsigned.
	DevOverrides []string
	// Trust holds the keys plugin manifests may be signed with.
	Trust *manifest.Trust
	// Policy is the host's plugin policy; nil means the defaults.
	Policy *manifest.Policy
	// Builtins are the built-in plugins to enable; nil enables all found.
	Builtins []string
	// ServerPaths maps a bridge built-in (gopls, pyright, typescript) to its
	// language server's executable; one not listed is searched on PATH,
	// then in the langservers directory.
	ServerPaths map[string]string
	// CacheDir holds per-plugin caches and sockets.
	CacheDir string
	// MaxDocumentBytes: documents larger than this are never sent to plugins.
	// 0 means DefaultMaxDocumentBytes.
	MaxDocumentBytes int64
	// DisableNamespaces starts plugins without Linux namespaces (tests on
	// machines that forbid them); every other sandbox step still applies.
	DisableNamespaces bool

	// launchTest holds the launch layer's test knobs, for this package's
	// tests only.
	launchTest launch.TestConfig
}

// Host is the set of loaded plugins and the sessions using them. It is safe
// for concurrent use.
type Host struct {
	cfg       Config
	log       *slog.Logger
	plugins   []*plugin // in load order: the order results are merged in
	release   func() error
	deadlines deadlines

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool
	// answered holds each plugin's capabilities from its latest answer to
	// initialize in any session: what a new session's ServerCapabilities
	// goes by before its own instance has started.
	answered map[string]map[string]any
}

// newHost returns a host over already loaded plugins; release, if not nil,
// runs on Close.
func newHost(cfg Config, plugins []*plugin, release func() error) *Host {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxDocumentBytes <= 0 {
		cfg.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	return &Host{
		cfg:       cfg,
		log:       cfg.Logger,
		plugins:   plugins,
		release:   release,
		deadlines: defaultDeadlines,
		sessions:  make(map[*Session]struct{}),
		answered:  make(map[string]map[string]any),
	}
}

// Status describes one plugin for `gathering plugin list` and doctor.
type Status struct {
	Name      string
	Version   string
	Publisher string
	// KeyID is the key that signed the manifest; "" when unsigned.
	KeyID     string
	Languages []string
	FileGlobs []string
	// Source is "builtin" or the plugin's directory.
	Source string
	// State is running, restarting, disabled or stopped for a loaded plugin
	// (the best state among its instances; stopped when it has none), and
	// refused for one that failed verification.
	State string
	// Reason says why the plugin is not running: the refusal, naming the
	// failed step, or why its instances stopped.
	Reason string
	// Sandbox, PID and Restarts come from the plugin's first instance in the
	// best state (Restarts is the sum over all of them).
	Sandbox  string
	PID      int
	Restarts int
	// Instances are the plugin's instances, one per editor session running it.
	Instances []InstanceStatus
	// Warnings are what the user must be told, such as an unsigned plugin.
	Warnings []string
}

// Plugins returns the status of every plugin the host found, loaded or
// refused, in load order.
func (h *Host) Plugins() []Status {
	h.mu.Lock()
	sessions := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()
	out := make([]Status, 0, len(h.plugins))
	for _, p := range h.plugins {
		st := Status{Name: p.name, Source: p.source, KeyID: p.keyID, Warnings: slices.Clone(p.warnings)}
		if m := p.manifest; m != nil {
			st.Version, st.Publisher = m.Version, m.Publisher
			st.Languages = slices.Clone(m.Languages.IDs)
			st.FileGlobs = slices.Clone(m.Languages.FileGlobs)
		}
		if p.refused != nil {
			st.State, st.Reason = StateRefused, p.refused.Error()
			out = append(out, st)
			continue
		}
		for _, s := range sessions {
			if is, ok := s.instanceStatus(p.name); ok {
				st.Instances = append(st.Instances, is)
			}
		}
		st.State, st.Reason = StateStopped, "not started: no document of its languages is open"
		best := -1
		for i, is := range st.Instances {
			st.Restarts += is.Restarts
			if best < 0 || stateRank(is.State) < stateRank(st.Instances[best].State) {
				best = i
			}
		}
		if best >= 0 {
			b := st.Instances[best]
			st.State, st.Reason, st.Sandbox, st.PID = b.State, b.Reason, b.Sandbox, b.PID
		}
		out = append(out, st)
	}
	return out
}

// stateRank orders instance states from best to worst.
func stateRank(state string) int {
	switch state {
	case StateRunning:
		return 0
	case StateStarting, StateRestarting:
		return 1
	case StateDisabled:
		return 2
	default:
		return 3
	}
}

// Close ends every session, stopping its plugin instances, and releases the
// loaded plugins. The host is unusable afterwards.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	sessions := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(s.Close)
	}
	wg.Wait()
	var err error
	if h.release != nil {
		err = h.release()
	}
	return errors.Join(err)
}

// loaded returns the plugins that may run: loaded and not refused.
func (h *Host) loaded() []*plugin {
	out := make([]*plugin, 0, len(h.plugins))
	for _, p := range h.plugins {
		if p.refused == nil && p.start != nil {
			out = append(out, p)
		}
	}
	return out
}
