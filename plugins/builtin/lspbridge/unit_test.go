package lspbridge

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestScanEnvelope(t *testing.T) {
	tests := []struct {
		msg                      string
		id, method               string
		request, response, noted bool
	}{
		{msg: `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"id":99,"method":"x"}}`, id: "1", method: "initialize", request: true},
		{msg: `{"jsonrpc":"2.0","result":{"id":5,"error":null,"s":"a\"b,}"},"id":12}`, id: "12", response: true},
		{msg: `{"jsonrpc":"2.0","error":{"code":-1,"message":"m"},"id":"ab\"c"}`, id: `"ab\"c"`, response: true},
		{msg: ` { "id" : "x,y" , "result" : [1,{"id":2}] } `, id: `"x,y"`, response: true},
		{msg: `{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"text":"\"id\":3"}}}`, method: "textDocument/didOpen"},
		{msg: `{"jsonrpc":"2.0","method":"exit"}`, method: "exit"},
		{msg: `[{"id":1,"method":"x"}]`},
		{msg: `not json at all`},
		{msg: `{"id":` + strings.Repeat("1", 300) + `,"result":null}`}, // id too long to answer for
	}
	for _, tt := range tests {
		env := scanEnvelope([]byte(tt.msg))
		if string(env.id) != tt.id || string(env.method) != tt.method || env.isRequest() != tt.request || env.isResponse() != tt.response {
			t.Errorf("scanEnvelope(%.60s) = id %q method %q request %v response %v; want %q %q %v %v",
				tt.msg, env.id, env.method, env.isRequest(), env.isResponse(), tt.id, tt.method, tt.request, tt.response)
		}
		// Fed in pieces of every size, the scan finds the same.
		for size := 1; size < 8; size++ {
			var s envelopeScanner
			for m := []byte(tt.msg); len(m) > 0; m = m[min(size, len(m)):] {
				s.write(m[:min(size, len(m))])
			}
			if got := s.result(); !reflect.DeepEqual(got, env) {
				t.Errorf("scan of %.60s in %d-byte pieces = %+v, want %+v", tt.msg, size, got, env)
			}
		}
	}
}

func TestErrorResponse(t *testing.T) {
	got := string(errorResponse([]byte(`"a"`), `too "big"`))
	want := `{"jsonrpc":"2.0","id":"a","error":{"code":-32803,"message":"too \"big\""}}`
	if got != want {
		t.Errorf("errorResponse = %s, want %s", got, want)
	}
}

func TestReadHeader(t *testing.T) {
	tests := []struct {
		in   string
		n    int64
		err  string
		body string
	}{
		{in: "Content-Length: 2\r\n\r\n{}", n: 2, body: "{}"},
		{in: "content-length:3\nContent-Type: application/vscode-jsonrpc; charset=utf-8\n\n[1]", n: 3, body: "[1]"},
		{in: "Content-Type: x\r\n\r\n{}", err: "header without Content-Length"},
		{in: "Content-Length: -1\r\n\r\n", err: `bad Content-Length "-1"`},
		{in: "Content-Length: 2\r\n", err: "output ended inside a header"},
		{in: "{\"jsonrpc\":\"2.0\"}\r\n\r\n", err: "header without Content-Length"},
		{in: "garbage\r\n\r\n", err: `header line "garbage" has no colon`},
		{in: "Content-Length: 1" + strings.Repeat("0", 70000) + "\r\n\r\n", err: "header line longer than"},
		{in: "", err: "EOF"},
	}
	for _, tt := range tests {
		r := bufio.NewReaderSize(strings.NewReader(tt.in), 64<<10)
		n, err := readHeader(r)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("readHeader(%.40q) = %d, %v; want error containing %q", tt.in, n, err, tt.err)
			}
			if tt.err != "EOF" && !errors.Is(err, errFraming) {
				t.Errorf("readHeader(%.40q) error %v is not errFraming", tt.in, err)
			}
			continue
		}
		body, _ := io.ReadAll(r)
		if err != nil || n != tt.n || string(body) != tt.body {
			t.Errorf("readHeader(%.40q) = %d, %v, body %q; want %d, %q", tt.in, n, err, body, tt.n, tt.body)
		}
	}
	if got := string(appendHeader(nil, 42)); got != "Content-Length: 42\r\n\r\n" {
		t.Errorf("appendHeader = %q", got)
	}
}

func TestRingKeepsTheTail(t *testing.T) {
	r := newRing(16)
	r.Write([]byte("one\ntwo\n"))
	if got := r.tail(5); got != "one\ntwo" {
		t.Errorf("tail = %q, want one, two", got)
	}
	r = newRing(16)
	r.Write([]byte("alpha\nbeta\n"))
	r.Write([]byte("gamma\ndelta\n")) // 23 bytes: "alpha\nb" goes, so does what is left of beta
	if got := r.tail(5); got != "gamma\ndelta" {
		t.Errorf("tail after overflow = %q, want gamma, delta (the cut line left out)", got)
	}
	if got := r.tail(1); got != "delta" {
		t.Errorf("tail(1) = %q, want delta", got)
	}
	r.Write([]byte(strings.Repeat("x", 40)))
	if got := r.tail(3); got != strings.Repeat("x", 16) {
		t.Errorf("tail after one line bigger than the ring = %q, want its last 16 bytes", got)
	}
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
