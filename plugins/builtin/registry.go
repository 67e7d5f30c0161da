// Package builtin lists the plugins compiled into gathering: each one's
// manifest, as Go data trusted because it is compiled in, and the main
// function `gathering plugin-run NAME` runs inside the sandbox.
//
// The host launches a built-in like any other plugin, from a sealed memfd
// copy of its own executable, with argv `gathering plugin-run NAME ARGS...`;
// cmd/gathering dispatches that to [Run] before any flag parsing.
package builtin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/gathering-dev/gathering/plugins/builtin/golang"
	"github.com/gathering-dev/gathering/plugins/builtin/lspbridge"
	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sdk"
)

// RunCommand is the argument that makes gathering run a built-in plugin:
// `gathering plugin-run NAME [ARGS...]`.
const RunCommand = "plugin-run"

// Publisher is the publisher of every built-in plugin.
const Publisher = "gathering"

// bridgeVersion is the version of the bridge built-ins (gopls, pyright,
// typescript): the bridge's, not the language server's.
const bridgeVersion = "0.1.0"

// Builtin is one built-in plugin.
type Builtin struct {
	// Manifest describes it exactly as a plugin.toml would, defaults filled
	// in, with no [[binary]]: the binary is gathering itself.
	Manifest *manifest.Manifest
	// Run is the plugin's main, run inside the sandbox with the arguments
	// after `plugin-run NAME`; it returns the exit code.
	Run func(args []string) int
	// Available reports why the plugin cannot run on this machine (its
	// language server is not installed, say); nil means it always can. It
	// only looks; it changes nothing.
	Available func(opts PrepareOptions) error
	// Prepare, if set, runs on the host before each start, outside the
	// sandbox, and says what this machine's copy of the plugin needs beyond
	// its manifest: the arguments after `plugin-run NAME`, environment
	// variables and grants (a language server's directory, node's).
	Prepare func(opts PrepareOptions) (*Prepared, error)
	// Stdio says the plugin speaks LSP's Content-Length framing on its
	// stdin and stdout instead of the go-plugin wire: the host starts it in
	// the sandbox with [StdioEnv] set and talks to it over those pipes, with
	// no handshake, no gRPC and no identity call (a built-in's identity is
	// the host's own executable). The bridges use it: their Run executes
	// the language server in its place, so an editor's request crosses no
	// process but the server's, the cost that mattered beside the server's
	// own answer times (bench/pluginbench).
	Stdio bool
}

// StdioEnv is set to "1" in the environment of a built-in the host runs
// over stdio ([Builtin.Stdio]).
const StdioEnv = "GATHERING_PLUGIN_STDIO"

// PrepareOptions are what the host knows when it prepares a built-in.
type PrepareOptions struct {
	// CacheDir is the plugin's own read-write directory, the same path
	// inside the sandbox.
	CacheDir string
	// ServerPath is a configured language-server executable; "" means
	// search PATH and the langservers directory.
	ServerPath string
}

// Prepared is what Prepare resolved for one start.
type Prepared struct {
	// Args follow `plugin-run NAME`.
	Args []string
	// Env holds KEY=VALUE entries set in the plugin's environment, over the
	// sandbox's defaults.
	Env []string
	// Read, Write and Exec are absolute paths granted besides the manifest's.
	Read, Write, Exec []string
}

// List returns the built-in plugins, in a fixed order. Each call builds
// fresh values, so callers may keep or change what they get.
func List() []Builtin {
	all := []Builtin{goPlugin()}
	for _, s := range lspbridge.Servers() {
		all = append(all, bridge(s))
	}
	return all
}

// Run is `gathering plugin-run NAME ARGS...`: it runs the built-in named
// name with args and returns its exit code, or 2 after printing to stderr
// when no built-in has that name. It never writes to stdout, which belongs
// to the go-plugin handshake.
func Run(name string, args []string) int {
	all := List()
	i := slices.IndexFunc(all, func(b Builtin) bool { return b.Manifest.Name == name })
	if i < 0 {
		fmt.Fprintf(os.Stderr, "gathering plugin-run: no built-in plugin %q\n", name)
		return 2
	}
	return all[i].Run(args)
}

// Main is `gathering plugin-run NAME ARGS...` given its whole argv, as
// the sandbox launcher passes it to a built-in it runs in its own process:
// it runs the built-in named NAME, looked up first in extra (a test
// binary's own built-ins) and then as [Run] does, and returns its exit
// code, or 2 after printing to stderr when argv names none.
func Main(argv []string, extra ...Builtin) int {
	if len(argv) < 3 || argv[1] != RunCommand {
		fmt.Fprintf(os.Stderr, "gathering %s: which built-in plugin? (argv %q)\n", RunCommand, argv)
		return 2
	}
	name, args := argv[2], argv[3:]
	for _, b := range extra {
		if b.Manifest.Name == name {
			return b.Run(args)
		}
	}
	return Run(name, args)
}

// goPlugin is the native Go plugin. It reads the standard library and the
// module cache (the host expands ${goroot} and ${gomodcache} and tells the
// plugin where they are), never writes, runs nothing and needs no network.
func goPlugin() Builtin {
	return Builtin{
		Manifest: &manifest.Manifest{
			Schema:      manifest.SchemaVersion,
			Name:        "go",
			Version:     golang.Version,
			Publisher:   Publisher,
			Description: "Go: diagnostics, symbols, hover, definition, references, formatting and completion on go/parser, go/types and go/format",
			Protocol:    manifest.Protocol{PluginAPI: []int{1}},
			Languages: manifest.Languages{
				IDs:         []string{"go"},
				FileGlobs:   []string{"**/*.go"},
				RootMarkers: []string{"go.mod", "go.work"},
				Activation:  "on-language",
			},
			Capabilities: manifest.Capabilities{LSP: []string{"diagnostics", "documentSymbol", "hover", "definition", "references", "formatting", "completion"}},
			Permissions: manifest.Permissions{
				Read:               []string{"${goroot}", "${gomodcache}"},
				Network:            "none",
				UntrustedWorkspace: "supported",
			},
			Limits: manifest.DefaultLimits(),
		},
		Run: func([]string) int {
			sdk.Serve(golang.Server())
			return 0
		},
	}
}

// bridge is the built-in that runs the language server s, as lspbridge
// resolves it, over stdio. The manifest grants nothing beyond the workspace: Prepare
// finds the server and grants its directories (and node's) for that start.
func bridge(s lspbridge.ServerSpec) Builtin {
	m := &manifest.Manifest{
		Schema:      manifest.SchemaVersion,
		Name:        s.Name,
		Version:     bridgeVersion,
		Publisher:   Publisher,
		Description: fmt.Sprintf("%s through lspbridge, inside the sandbox", s.Command),
		Protocol:    manifest.Protocol{PluginAPI: []int{1}},
		Languages: manifest.Languages{
			IDs:         slices.Clone(s.Languages),
			FileGlobs:   slices.Clone(s.FileGlobs),
			RootMarkers: slices.Clone(s.RootMarkers),
			Activation:  "on-language",
		},
		Capabilities: manifest.Capabilities{LSP: slices.Clone(s.Capabilities)},
		Permissions: manifest.Permissions{
			Network:            s.Network,
			UntrustedWorkspace: "unsupported", // the servers run project code (go list, tsconfig plugins)
		},
		Limits: manifest.DefaultLimits(),
	}
	return Builtin{
		Manifest:  m,
		Available: func(o PrepareOptions) error { return available(s, o.ServerPath) },
		Prepare: func(o PrepareOptions) (*Prepared, error) {
			l, err := s.Resolve(lspbridge.Where{Path: o.ServerPath, StateDir: o.CacheDir})
			if err != nil {
				return nil, err
			}
			return &Prepared{Args: l.Argv, Env: l.Env, Read: l.Read, Write: l.Write, Exec: l.Exec}, nil
		},
		Run:   func(argv []string) int { return runBridge(m, argv) },
		Stdio: true,
	}
}

// runBridge becomes the language server: it runs inside the sandbox the
// host set up for argv (the host started it with [StdioEnv], and speaks LSP
// with the server over these very stdin and stdout), so it only checks what
// it was given and executes the server with this environment, less the
// host's variables. It returns only when that fails.
func runBridge(m *manifest.Manifest, argv []string) int {
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		fmt.Fprintf(os.Stderr, "gathering plugin-run %s: want the resolved server command line, got %q\n", m.Name, argv)
		return 2
	}
	if os.Getenv(StdioEnv) != "1" {
		fmt.Fprintf(os.Stderr, "gathering plugin-run %s: the host runs this plugin over stdio (%s=1)\n", m.Name, StdioEnv)
		return 2
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PLUGIN_") || strings.HasPrefix(kv, "GATHERING_PLUGIN=") || strings.HasPrefix(kv, StdioEnv+"=")
	})
	err := syscall.Exec(argv[0], argv, env)
	fmt.Fprintf(os.Stderr, "gathering plugin-run %s: exec %s: %v\n", m.Name, argv[0], err)
	return 1
}

// available looks for the server the way Resolve does, without resolving:
// the configured path, PATH, then the langservers directory; and for its
// runtime (go for gopls, node for the npm servers) on PATH.
func available(s lspbridge.ServerSpec, configured string) error {
	runtimeCmd := "go"
	if s.Node {
		runtimeCmd = "node"
	}
	if _, err := exec.LookPath(runtimeCmd); err != nil {
		return fmt.Errorf("%s needs %s, which is not on PATH", s.Name, runtimeCmd)
	}
	if configured != "" {
		if !isExecutable(configured) {
			return fmt.Errorf("configured %s path %s is not an executable file", s.Name, configured)
		}
		return nil
	}
	dirs := filepath.SplitList(os.Getenv("PATH"))
	if bin := lspbridge.DefaultBinDir(); bin != "" {
		dirs = append(dirs, bin)
	}
	for _, d := range dirs {
		if filepath.IsAbs(d) && isExecutable(filepath.Join(d, s.Command)) {
			return nil
		}
	}
	return errors.New(s.Command + " not found on PATH or in the langservers directory (scripts/langservers installs it)")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
