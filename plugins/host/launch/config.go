package launch

import (
	"log/slog"
	"time"

	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/manifest"
)

// Config configures [Load] and every plugin started from the [Set] it
// returns. The zero value loads only the built-ins.
type Config struct {
	// Logger receives the host's own messages and the plugins' output (at
	// a limited rate). nil means slog.Default().
	Logger *slog.Logger
	// Dirs are plugin roots: each directory directly under one is a plugin
	// directory, verified against Trust.
	Dirs []string
	// DevOverrides are plugin directories, or roots of them, from which
	// unsigned plugins load (each with a warning).
	DevOverrides []string
	// Trust holds the keys plugin manifests may be signed with; nil trusts
	// none, so only dev overrides load.
	Trust *manifest.Trust
	// Policy caps what manifests may ask for; nil means the defaults.
	Policy *manifest.Policy
	// Builtins names the built-in plugins to offer; nil means every one
	// whose dependencies are found, an empty non-nil slice none.
	Builtins []string
	// ServerPaths maps a bridge built-in's name (gopls, pyright,
	// typescript) to its configured language-server executable; a built-in
	// not listed searches PATH and the langservers directory.
	ServerPaths map[string]string
	// CacheDir holds one read-write directory per plugin (its HOME and
	// TMPDIR in the sandbox). Empty means $XDG_CACHE_HOME/gathering/plugins.
	CacheDir string
	// MaxMessageBytes caps one JSON-RPC message in either direction; 0 means
	// pluginv1.DefaultMaxMessageBytes (16 MiB).
	MaxMessageBytes int
	// DisableNamespaces, DisableLandlock and DisableSeccomp turn a sandbox
	// layer off; each plugin's sandbox level then says so.
	DisableNamespaces, DisableLandlock, DisableSeccomp bool

	// Test holds knobs for tests only.
	Test TestConfig
}

// TestConfig holds test-only knobs; production code leaves it zero.
type TestConfig struct {
	// Executable is the program that is both the sandbox launcher
	// (`plugin-exec`) and the image of the built-ins (`plugin-run NAME`).
	// Empty means the running executable, which is what a test binary wants
	// when its TestMain dispatches those two commands.
	Executable string
	// Builtins are offered in addition to plugins/builtin's list.
	Builtins []builtin.Builtin
	// Trace sees every JSON-RPC message to (outgoing) and from each
	// plugin, before it is sent or handled.
	Trace func(plugin string, outgoing bool, msg []byte)
	// InputStall replaces the 10 s a stdio plugin may leave its input
	// unread before it counts as hung.
	InputStall time.Duration
}
