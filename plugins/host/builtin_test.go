package host

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real `go` built-in through the router: launched from this test
// binary like gathering launches it from itself, sandboxed, on a module in
// a temporary workspace.
func TestGoBuiltinThroughTheHost(t *testing.T) {
	st, ws := launchedSetup(t, Config{Builtins: []string{"go"}})
	st.h.deadlines = deadlines{interactive: 30 * time.Second, edit: 30 * time.Second, workspace: 30 * time.Second, other: 30 * time.Second}
	if err := os.WriteFile(filepath.Join(ws, "go.mod"), []byte("module example.com/m\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const text = "package main\n\nfunc main() {\n\tvar n int = \"x\"\n\t_ = n\n}\n\nfunc helper()   {}\n"
	path := filepath.Join(ws, "main.go")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	uri := "file://" + path
	ctx := context.Background()
	st.s.DidOpen(ctx, uri, "go", 1, text)

	var symbols []map[string]any
	if err := st.request(t, "textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": uri}}, &symbols); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range symbols {
		names = append(names, s["name"].(string))
	}
	if strings.Join(names, " ") != "main helper" {
		t.Fatalf("document symbols %v", names)
	}
	eventually(t, "the type error", func() bool {
		for _, d := range st.client.diags(uri) {
			if strings.Contains(string(d), `"gathering.plugin":"go"`) && strings.Contains(string(d), `"line":3`) {
				return true
			}
		}
		return false
	})
	var edits []json.RawMessage
	if err := st.request(t, "textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": uri}, "options": map[string]any{"tabSize": 4, "insertSpaces": false}}, &edits); err != nil {
		t.Fatal(err)
	}
	if len(edits) == 0 {
		t.Fatal("formatting `func helper()   {}` gave no edits")
	}
	if s := st.h.Plugins()[0]; s.Name != "go" || s.State != StateRunning || s.Source != "builtin" {
		t.Fatalf("status %+v", s)
	}
}
