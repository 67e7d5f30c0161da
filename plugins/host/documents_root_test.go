package host

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestTextIndexStaysInsideFolders reads files a plugin names through the
// folder's os.Root: what lies inside a folder is read, and nothing that a
// path or a symbolic link leads out to, however the URI spells it.
func TestTextIndexStaysInsideFolders(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(dir, "ws")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{ws, filepath.Join(ws, "sub"), outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, name); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	write(filepath.Join(ws, "main.go"), "package main\n")
	write(filepath.Join(ws, "big.txt"), strings.Repeat("x", 65))
	write(filepath.Join(outside, "secret"), "secret\n")
	link("../outside/secret", filepath.Join(ws, "link"))
	link(filepath.Join(outside, "secret"), filepath.Join(ws, "abs-link"))
	link("../outside", filepath.Join(ws, "dir-link"))
	link("../main.go", filepath.Join(ws, "sub", "inner-link"))
	if err := syscall.Mkfifo(filepath.Join(ws, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	h := newHost(Config{MaxDocumentBytes: 64}, nil, nil)
	t.Cleanup(func() { h.Close() })
	s := h.NewSession(SessionConfig{Client: newFakeClient(), Folders: []Folder{{URI: "file://" + ws, Path: ws}}})
	t.Cleanup(s.Close)

	for _, test := range []struct {
		name, uri, want string // want "" means nothing is read
	}{
		{"file in the folder", "file://" + ws + "/main.go", "package main\n"},
		{"link that stays inside", "file://" + ws + "/sub/inner-link", "package main\n"},
		{"relative link out", "file://" + ws + "/link", ""},
		{"absolute link out", "file://" + ws + "/abs-link", ""},
		{"directory link out", "file://" + ws + "/dir-link/secret", ""},
		{"dot-dot", "file://" + ws + "/../outside/secret", ""},
		{"percent-encoded dot-dot", "file://" + ws + "/%2e%2e/outside/secret", ""},
		{"outside every folder", "file://" + outside + "/secret", ""},
		{"the folder itself", "file://" + ws, ""},
		{"over the document limit", "file://" + ws + "/big.txt", ""},
		{"named pipe", "file://" + ws + "/fifo", ""},
		{"missing", "file://" + ws + "/nothing.go", ""},
		{"not a file URI", "untitled:main.go", ""},
	} {
		t.Run(test.name, func(t *testing.T) {
			li := s.textIndex(test.uri)
			switch {
			case test.want == "" && li != nil:
				t.Errorf("textIndex(%s) read %q; want nothing", test.uri, li.text)
			case test.want != "" && li == nil:
				t.Errorf("textIndex(%s) = nil; want %q", test.uri, test.want)
			case test.want != "" && li.text != test.want:
				t.Errorf("textIndex(%s) = %q; want %q", test.uri, li.text, test.want)
			}
		})
	}
}
