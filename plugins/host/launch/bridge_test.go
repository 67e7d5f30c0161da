package launch_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
)

// bridged loads the bridge built-in name, skipping when its server is not
// installed (scripts/langservers installs them).
func bridged(t *testing.T, name string) *launch.Set {
	t.Helper()
	set := load(t, config(t, name))
	for _, p := range set.Plugins() {
		if p.Name() == name && p.Refused != nil {
			if p.Step() != launch.StepAvailable {
				t.Fatalf("%s refused: %v", name, p.Refused)
			}
			t.Skipf("%s: %v", name, p.Refused)
		}
	}
	return set
}

func TestGoplsBuiltinThroughBridge(t *testing.T) {
	set := bridged(t, "gopls")
	dir, uri, text := goModule(t)
	rec := newRecorder()
	i := start(t, set, "gopls", launch.StartOptions{Handler: rec, Folders: []launch.Folder{{URI: "file://" + dir, Path: dir}}, Init: initGo(dir)})
	t.Logf("sandbox: %s", i.Status().Sandbox)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := i.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "go", "version": 1, "text": text}}); err != nil {
		t.Fatal(err)
	}
	got, err := i.Call(ctx, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 2, "character": 6}})
	if err != nil || !strings.Contains(string(got), "Answer") {
		t.Fatalf("hover through gopls: %s %v\nstderr: %s", got, err, i.Stderr())
	}
	waitFor(t, 30*time.Second, func() bool {
		for _, n := range rec.snapshot() {
			if strings.HasPrefix(n, "textDocument/publishDiagnostics") && strings.Contains(n, "forty-two") {
				return true
			}
		}
		return false
	}, "gopls's type error")
	i.Close()
	assertNoChildren(t)
}

func TestPyrightBuiltinThroughBridge(t *testing.T) {
	set := bridged(t, "pyright")
	dir := t.TempDir()
	text := "def f() -> int:\n    return \"not an int\"\n"
	path := filepath.Join(dir, "main.py")
	os.WriteFile(path, []byte(text), 0o644)
	rec := newRecorder()
	i := start(t, set, "pyright", launch.StartOptions{Handler: rec, Folders: []launch.Folder{{URI: "file://" + dir, Path: dir}}, Init: initGo(dir)})
	ctx := context.Background()
	if err := i.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": "file://" + path, "languageId": "python", "version": 1, "text": text}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, func() bool {
		for _, n := range rec.snapshot() {
			if strings.HasPrefix(n, "textDocument/publishDiagnostics") && strings.Contains(n, "not an int") || strings.Contains(n, "str") && strings.Contains(n, "int") && strings.Contains(n, "publishDiagnostics") {
				return true
			}
		}
		return false
	}, "pyright's type error")
	i.Close()
	assertNoChildren(t)
}

func TestTypescriptBuiltinThroughBridge(t *testing.T) {
	set := bridged(t, "typescript")
	dir := t.TempDir()
	text := "export function answer(): number { return 42; }\nanswer();\n"
	path := filepath.Join(dir, "main.ts")
	os.WriteFile(path, []byte(text), 0o644)
	i := start(t, set, "typescript", launch.StartOptions{Handler: newRecorder(), Folders: []launch.Folder{{URI: "file://" + dir, Path: dir}}, Init: initGo(dir)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	uri := "file://" + path
	if err := i.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "typescript", "version": 1, "text": text}}); err != nil {
		t.Fatal(err)
	}
	got, err := i.Call(ctx, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 1, "character": 2}})
	if err != nil || !strings.Contains(string(got), "answer(): number") {
		t.Fatalf("hover through typescript-language-server: %s %v\nstderr: %s", got, err, i.Stderr())
	}
	i.Close()
	assertNoChildren(t)
}
