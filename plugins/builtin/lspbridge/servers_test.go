package lspbridge

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gathering-dev/gathering/internal/testenv"
)

// stateDir is the servers' state directory, shared by the package's tests
// as a plugin's cache dir is shared by its sessions.
var stateDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lspbridge-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stateDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireServer resolves the ready-made server name, skipping the test
// when it is not installed (failing it in CI, which installs them).
func requireServer(t testing.TB, name string) *Launch {
	t.Helper()
	spec, ok := Lookup(name)
	if !ok {
		t.Fatalf("no ready-made server %q", name)
	}
	l, err := spec.Resolve(Where{StateDir: stateDir})
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("%v; CI must run scripts/langservers first", err)
		}
		t.Skipf("%v; run scripts/langservers to install it", err)
	}
	return l
}

func TestServers(t *testing.T) {
	var names []string
	for _, s := range Servers() {
		names = append(names, s.Name+":"+s.Command+" "+strings.Join(s.Args, " "))
		if s.Network != "none" || len(s.Languages) == 0 || len(s.FileGlobs) == 0 {
			t.Errorf("%s: network %q, languages %v, globs %v", s.Name, s.Network, s.Languages, s.FileGlobs)
		}
	}
	want := []string{"gopls:gopls ", "pyright:pyright-langserver --stdio", "typescript:typescript-language-server --stdio"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("Servers = %q, want %q", names, want)
	}
	ts, _ := Lookup("typescript")
	if !reflect.DeepEqual(ts.Languages, []string{"typescript", "typescriptreact", "javascript", "javascriptreact"}) {
		t.Errorf("typescript languages = %v", ts.Languages)
	}
	if _, ok := Lookup("rust-analyzer"); ok {
		t.Error("Lookup found a server that is not ready-made")
	}
}

// TestResolveFinds: a configured path wins; otherwise PATH comes before the
// bin dir; a miss names scripts/langservers.
func TestResolveFinds(t *testing.T) {
	pathDir, binDir, state := t.TempDir(), t.TempDir(), t.TempDir()
	writeExe := func(dir string) string {
		p := filepath.Join(dir, "gopls")
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spec, _ := Lookup("gopls")
	if _, err := spec.Resolve(Where{SearchPath: pathDir, BinDir: binDir, StateDir: state}); err == nil ||
		!strings.Contains(err.Error(), "scripts/langservers") {
		t.Errorf("Resolve with no gopls anywhere = %v, want an error naming scripts/langservers", err)
	}
	inBin := writeExe(binDir)
	if l, err := spec.Resolve(Where{SearchPath: pathDir, BinDir: binDir, StateDir: state}); err != nil || l.Argv[0] != inBin {
		t.Errorf("Resolve = %v, %v; want %s from the bin dir", l, err, inBin)
	}
	onPath := writeExe(pathDir)
	if l, err := spec.Resolve(Where{SearchPath: pathDir, BinDir: binDir, StateDir: state}); err != nil || l.Argv[0] != onPath {
		t.Errorf("Resolve = %v, %v; want %s from PATH first", l, err, onPath)
	}
	if l, err := spec.Resolve(Where{Path: inBin, SearchPath: pathDir, StateDir: state}); err != nil || l.Argv[0] != inBin {
		t.Errorf("Resolve with a configured path = %v, %v; want %s", l, err, inBin)
	}
	if _, err := spec.Resolve(Where{Path: filepath.Join(pathDir, "nope"), StateDir: state}); err == nil {
		t.Error("Resolve with a configured path that does not exist succeeded")
	}
	if p, err := spec.Find(Where{SearchPath: pathDir, BinDir: binDir}); err != nil || p != onPath {
		t.Errorf("Find without a StateDir = %q, %v; want %s", p, err, onPath)
	}
	if _, err := spec.Resolve(Where{SearchPath: pathDir}); err == nil {
		t.Error("Resolve without a StateDir succeeded")
	}
}

// TestResolveGopls: gopls gets the go command's settings, a GOCACHE of its
// own, no network, and exec on its dir and GOROOT's tools.
func TestResolveGopls(t *testing.T) {
	l := requireServer(t, "gopls")
	env := envMap(l.Env)
	goroot := env["GOROOT"]
	if goroot == "" || env["GOMODCACHE"] == "" {
		t.Fatalf("env %v lacks GOROOT or GOMODCACHE", l.Env)
	}
	want := map[string]string{
		"GOCACHE":     filepath.Join(stateDir, "go-build"),
		"HOME":        filepath.Join(stateDir, "home"),
		"PATH":        filepath.Join(goroot, "bin"),
		"GOPROXY":     "off",
		"GOTOOLCHAIN": "local",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if !slices.Contains(l.Exec, filepath.Join(goroot, "bin")) || !slices.Contains(l.Exec, filepath.Dir(l.Argv[0])) {
		t.Errorf("Exec = %v, want GOROOT/bin and gopls's dir", l.Exec)
	}
	if !slices.Contains(l.Read, goroot) || !slices.Contains(l.Write, stateDir) || l.Network != "none" {
		t.Errorf("Read %v Write %v Network %q", l.Read, l.Write, l.Network)
	}
}

// TestResolveNodeServer: an npm server runs as node + its script, with exec
// on node's dir only and read on the node_modules tree.
func TestResolveNodeServer(t *testing.T) {
	l := requireServer(t, "pyright")
	if filepath.Base(l.Argv[0]) != "node" || !strings.HasSuffix(l.Argv[1], filepath.Join("node_modules", "pyright", "langserver.index.js")) || l.Argv[2] != "--stdio" {
		t.Errorf("Argv = %q, want node, pyright's langserver.index.js, --stdio", l.Argv)
	}
	modules := l.Argv[1][:strings.LastIndex(l.Argv[1], "node_modules")+len("node_modules")]
	if !reflect.DeepEqual(l.Exec, []string{filepath.Dir(l.Argv[0])}) || !slices.Contains(l.Read, modules) {
		t.Errorf("Exec %v Read %v; want node's dir, and %s readable", l.Exec, l.Read, modules)
	}
}

func TestCompact(t *testing.T) {
	got := compact([]string{"/b", "", "/a/x", "/a", "/b", "/ab"})
	if want := []string{"/a", "/ab", "/b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("compact = %q, want %q", got, want)
	}
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
