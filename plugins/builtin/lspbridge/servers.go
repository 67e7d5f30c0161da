package lspbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ServerSpec describes a ready-made language server: what it serves, how it
// is started, and what it needs from its environment. Resolve turns it into
// a Launch for one machine.
type ServerSpec struct {
	// Name is the built-in plugin's name: gopls, pyright, typescript.
	Name string
	// Languages are the LSP language ids it serves.
	Languages []string
	// FileGlobs match the files it serves.
	FileGlobs []string
	// RootMarkers are files whose directory is a project root for it.
	RootMarkers []string
	// Command is the executable's file name, searched as Resolve says.
	Command string
	// Args follow the command: "--stdio" for the npm servers.
	Args []string
	// Node is true for servers that are npm packages run by node.
	Node bool
	// PassEnv names the caller's environment variables passed through when
	// set, on top of the ones Resolve sets itself.
	PassEnv []string
	// Network is the network the server needs: always "none".
	Network string
	// Capabilities are the LSP features the server provides, named as a
	// manifest's [capabilities] lsp list names them. They are what the host
	// advertises before the server has started; its initialize answer then
	// decides.
	Capabilities []string
}

// Servers returns the ready-made servers: gopls, pyright and
// typescript-language-server.
func Servers() []ServerSpec {
	return []ServerSpec{
		{
			Name:        "gopls",
			Languages:   []string{"go", "gomod"},
			FileGlobs:   []string{"**/*.go", "**/go.mod"},
			RootMarkers: []string{"go.work", "go.mod"},
			Command:     "gopls",
			PassEnv:     []string{"GOWORK", "GOPRIVATE", "GOEXPERIMENT", "GOOS", "GOARCH", "GODEBUG"},
			Network:     "none",
			Capabilities: []string{"diagnostics", "completion", "hover", "signatureHelp", "definition", "typeDefinition",
				"implementation", "references", "documentHighlight", "documentSymbol", "workspaceSymbol", "codeAction",
				"codeLens", "formatting", "rename", "foldingRange", "selectionRange", "inlayHint", "documentLink", "semanticTokens"},
		},
		{
			Name:        "pyright",
			Languages:   []string{"python"},
			FileGlobs:   []string{"**/*.py", "**/*.pyi"},
			RootMarkers: []string{"pyrightconfig.json", "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt"},
			Command:     "pyright-langserver",
			Args:        []string{"--stdio"},
			Node:        true,
			PassEnv:     []string{"VIRTUAL_ENV", "PYTHONPATH"},
			Network:     "none",
			// pyright formats nothing; listing formatting would over-advertise.
			Capabilities: []string{"diagnostics", "completion", "hover", "signatureHelp", "definition", "declaration",
				"references", "documentHighlight", "documentSymbol", "workspaceSymbol", "codeAction", "rename"},
		},
		{
			Name:        "typescript",
			Languages:   []string{"typescript", "typescriptreact", "javascript", "javascriptreact"},
			FileGlobs:   []string{"**/*.ts", "**/*.tsx", "**/*.mts", "**/*.cts", "**/*.js", "**/*.jsx", "**/*.mjs", "**/*.cjs"},
			RootMarkers: []string{"tsconfig.json", "jsconfig.json", "package.json"},
			Command:     "typescript-language-server",
			Args:        []string{"--stdio"},
			Node:        true,
			Network:     "none",
			Capabilities: []string{"diagnostics", "completion", "hover", "signatureHelp", "definition", "typeDefinition",
				"implementation", "references", "documentHighlight", "documentSymbol", "workspaceSymbol", "codeAction",
				"formatting", "rangeFormatting", "rename", "foldingRange", "selectionRange", "inlayHint", "semanticTokens"},
		},
	}
}

// Lookup returns the ready-made server called name.
func Lookup(name string) (ServerSpec, bool) {
	for _, s := range Servers() {
		if s.Name == name {
			return s, true
		}
	}
	return ServerSpec{}, false
}

// DefaultBinDir is where scripts/langservers installs the servers:
// $GATHERING_LANGSERVERS/bin, else ~/.cache/gathering/langservers/bin; ""
// when neither variable gives a directory.
func DefaultBinDir() string {
	if dir := os.Getenv("GATHERING_LANGSERVERS"); dir != "" {
		return filepath.Join(dir, "bin")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".cache", "gathering", "langservers", "bin")
}

// Where says where Resolve looks for a server and where it may write.
type Where struct {
	// Path, if set, is the configured server executable; nothing else is
	// searched.
	Path string
	// SearchPath is the PATH searched first; "" means $PATH.
	SearchPath string
	// BinDir is searched after PATH; "" means DefaultBinDir().
	BinDir string
	// StateDir is the plugin's own writable directory (its cache dir in the
	// sandbox): the server's HOME, caches (gopls's GOCACHE) and temporary
	// files go under it. Required.
	StateDir string
}

// Launch is a resolved server: the command line to run, its
// environment, and the absolute paths the sandbox must grant. The workspace
// folders are the caller's to add to Read.
type Launch struct {
	Spec ServerSpec
	// Argv is the command line: an absolute executable, then its arguments.
	// For an npm server it is node, the package's script, then the args, so
	// no shebang has to be executed.
	Argv []string
	// Env is the server's whole environment.
	Env []string
	// Exec are the directories whose files the server executes.
	Exec []string
	// Read are trees the server reads (beside the workspace).
	Read []string
	// Write are trees the server writes: StateDir.
	Write []string
	// Network is "none".
	Network string
}

// Resolve finds the server's executable (Where.Path, else on PATH, else in
// BinDir), and works out its environment and the paths it needs. For gopls
// it asks `go env` for GOROOT, GOPATH, GOMODCACHE and GOFLAGS, since gopls
// runs `go list`; for the npm servers it finds node and the node_modules
// tree the script lives in. It creates StateDir's subdirectories.
func (s ServerSpec) Resolve(w Where) (*Launch, error) {
	if w.StateDir == "" || !filepath.IsAbs(w.StateDir) {
		return nil, fmt.Errorf("lspbridge: resolve %s: StateDir must be an absolute directory, got %q", s.Name, w.StateDir)
	}
	exe, err := s.Find(w)
	if err != nil {
		return nil, err
	}
	home := filepath.Join(w.StateDir, "home")
	cache := filepath.Join(w.StateDir, "cache")
	tmp := filepath.Join(w.StateDir, "tmp")
	for _, d := range []string{home, cache, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("lspbridge: resolve %s: %w", s.Name, err)
		}
	}
	l := &Launch{
		Spec:    s,
		Write:   []string{w.StateDir},
		Network: s.Network,
		Env:     []string{"HOME=" + home, "XDG_CACHE_HOME=" + cache, "TMPDIR=" + tmp},
	}
	for _, name := range s.PassEnv {
		if v, ok := os.LookupEnv(name); ok {
			l.Env = append(l.Env, name+"="+v)
		}
	}
	if s.Node {
		err = l.resolveNode(exe, s.Args)
	} else {
		err = l.resolveGopls(exe, w.StateDir)
	}
	if err != nil {
		return nil, fmt.Errorf("lspbridge: resolve %s: %w", s.Name, err)
	}
	l.Exec = compact(l.Exec)
	l.Read = compact(l.Read)
	return l, nil
}

// Find returns the absolute path of the server's executable: Where.Path if
// set, else the first in SearchPath, else in BinDir. It runs nothing and
// creates nothing (Where.StateDir is not needed), so it can tell cheaply
// whether the server is installed; it does not check for go or node.
func (s ServerSpec) Find(w Where) (string, error) {
	if w.Path != "" {
		abs, err := filepath.Abs(w.Path)
		if err != nil {
			return "", fmt.Errorf("lspbridge: configured %s path: %w", s.Name, err)
		}
		if !isExecutable(abs) {
			return "", fmt.Errorf("lspbridge: configured %s path %s is not an executable file", s.Name, abs)
		}
		return abs, nil
	}
	search := w.SearchPath
	if search == "" {
		search = os.Getenv("PATH")
	}
	bin := w.BinDir
	if bin == "" {
		bin = DefaultBinDir()
	}
	dirs := filepath.SplitList(search)
	if bin != "" {
		dirs = append(dirs, bin)
	}
	for _, d := range dirs {
		if d == "" || !filepath.IsAbs(d) {
			continue // a relative PATH entry would depend on the working directory
		}
		if p := filepath.Join(d, s.Command); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("lspbridge: %s not found on PATH or in %s (scripts/langservers installs it)", s.Command, bin)
}

// resolveGopls sets gopls's environment: the go command's own settings,
// a GOCACHE of its own under stateDir, no toolchain or module downloads.
func (l *Launch) resolveGopls(exe, stateDir string) error {
	goExe, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("gopls runs the go command, which is not on PATH: %w", err)
	}
	out, err := exec.Command(goExe, "env", "-json", "GOROOT", "GOPATH", "GOMODCACHE", "GOFLAGS", "CGO_ENABLED").Output()
	if err != nil {
		return fmt.Errorf("go env: %w", err)
	}
	var env struct{ GOROOT, GOPATH, GOMODCACHE, GOFLAGS, CGO_ENABLED string }
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&env); err != nil {
		return fmt.Errorf("go env: %w", err)
	}
	if env.GOROOT == "" {
		return errors.New("go env printed no GOROOT")
	}
	gocache := filepath.Join(stateDir, "go-build")
	if err := os.MkdirAll(gocache, 0o700); err != nil {
		return err
	}
	gorootBin := filepath.Join(env.GOROOT, "bin")
	l.Argv = []string{exe}
	l.Env = append(l.Env,
		"PATH="+gorootBin,
		"GOROOT="+env.GOROOT,
		"GOPATH="+env.GOPATH,
		"GOMODCACHE="+env.GOMODCACHE,
		"GOFLAGS="+env.GOFLAGS,
		"CGO_ENABLED="+env.CGO_ENABLED,
		"GOCACHE="+gocache,
		"GOTOOLCHAIN=local", // never download a toolchain: network is none
		"GOPROXY=off",       // nor modules; the module cache is read as it is
	)
	// go list may run the compiler's tools (cgo for -compiled).
	l.Exec = []string{filepath.Dir(exe), gorootBin, filepath.Join(env.GOROOT, "pkg", "tool")}
	l.Read = []string{filepath.Dir(exe), env.GOROOT, env.GOMODCACHE}
	return nil
}

// resolveNode runs an npm server's script with node directly.
func (l *Launch) resolveNode(exe string, args []string) error {
	script, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return err
	}
	modules := nodeModulesRoot(script)
	if modules == "" {
		return fmt.Errorf("%s (from %s) is not inside a node_modules tree", script, exe)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("the npm server needs node, which is not on PATH: %w", err)
	}
	if node, err = filepath.Abs(node); err != nil {
		return err
	}
	if node, err = filepath.EvalSymlinks(node); err != nil {
		return err
	}
	nodeDir := filepath.Dir(node)
	l.Argv = append([]string{node, script}, args...)
	l.Env = append(l.Env, "PATH="+nodeDir)
	// typescript-language-server forks tsserver with node itself.
	l.Exec = []string{nodeDir}
	l.Read = []string{modules, nodeDir}
	return nil
}

// nodeModulesRoot returns the outermost node_modules directory above path.
func nodeModulesRoot(path string) string {
	parts := strings.Split(filepath.ToSlash(path), "/")
	for i, p := range parts {
		if p == "node_modules" {
			return filepath.FromSlash(strings.Join(parts[:i+1], "/"))
		}
	}
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// compact sorts paths and drops empties, duplicates and paths inside
// another one listed.
func compact(paths []string) []string {
	paths = slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return p == "" })
	slices.Sort(paths)
	out := paths[:0]
	for _, p := range paths {
		if n := len(out); n > 0 && (p == out[n-1] || strings.HasPrefix(p, out[n-1]+string(filepath.Separator))) {
			continue
		}
		out = append(out, p)
	}
	return out
}
