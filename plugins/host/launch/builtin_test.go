package launch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
)

// goModule writes a one-file module with a type error and returns its
// directory and the file's URI and text.
func goModule(t testing.TB) (dir, uri, text string) {
	dir = t.TempDir()
	text = "package demo\n\nfunc Answer() int { return \"forty-two\" }\n"
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/demo\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "demo.go"), []byte(text), 0o644)
	return dir, "file://" + filepath.Join(dir, "demo.go"), text
}

func initGo(folder string) func(ctx context.Context, i *launch.Instance) error {
	return func(ctx context.Context, i *launch.Instance) error {
		// processId null, as the host sends it: the plugin's PID namespace
		// has no such process, and typescript-language-server, polling
		// for its parent every 3 s, exited 1 whenever a test ran longer.
		_, err := i.Call(ctx, "initialize", map[string]any{
			"processId": nil, "rootUri": "file://" + folder, "capabilities": map[string]any{},
			"workspaceFolders": []map[string]any{{"uri": "file://" + folder, "name": "demo"}},
		})
		if err != nil {
			return err
		}
		return i.Notify(ctx, "initialized", map[string]any{})
	}
}

func TestGoBuiltinRunsFromSealedSelf(t *testing.T) {
	dir, uri, text := goModule(t)
	set := load(t, config(t, "go"))
	rec := newRecorder()
	i := start(t, set, "go", launch.StartOptions{Handler: rec, Folders: []launch.Folder{{URI: "file://" + dir, Path: dir}}, Init: initGo(dir)})
	st := i.Status()
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", st.PID))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(exe, "/memfd:gathering") {
		t.Fatalf("the go built-in runs %s, not the sealed copy of this executable", exe)
	}
	if launch.SelfSHA256() == "" {
		t.Fatal("the sealed self copy has no recorded sha256")
	}
	ctx := context.Background()
	if err := i.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "go", "version": 1, "text": text}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return rec.n("textDocument/publishDiagnostics") > 0 }, "diagnostics from the go plugin")
	notes := rec.snapshot()
	if !strings.Contains(strings.Join(notes, "\n"), "forty-two") {
		t.Fatalf("diagnostics do not name the type error: %v", notes)
	}
	got, err := i.Call(ctx, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 2, "character": 6}})
	if err != nil || !strings.Contains(string(got), "Answer") {
		t.Fatalf("hover: %s %v", got, err)
	}
	// A second instance (another editor session) reuses the sealed copy.
	j := start(t, set, "go", launch.StartOptions{Init: initGo(dir)})
	if a, b := inode(t, st.PID), inode(t, j.Status().PID); a != b {
		t.Fatalf("second instance runs inode %d, first %d: not the same sealed copy", b, a)
	}
	i.Close()
	j.Close()
	assertNoChildren(t)
}

// inode is the inode of the file process pid executes.
func inode(t testing.TB, pid int) uint64 {
	t.Helper()
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
