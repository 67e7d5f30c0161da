//go:build unix

package workspace

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRootNamedPipe checks that a named pipe in a project is refused at once
// instead of blocking the reader until a writer appears.
func TestRootNamedPipe(t *testing.T) {
	r, b := setupRoot(t)
	mustDo(t, syscall.Mkfifo(filepath.Join(b.dir, "fifo"), 0o644))

	if got, err := r.ReadFile("fifo", 10); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadFile(%q) = %q, %v, want a not-a-regular-file error", "fifo", got, err)
	}
	if got, err := r.ReadDir("fifo"); err == nil {
		t.Errorf("ReadDir(%q) = %v, nil, want an error", "fifo", got)
	}
	if err := r.WriteFile("fifo", []byte("x"), 0o644); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("WriteFile(%q) = %v, want a not-a-regular-file error", "fifo", err)
	}
}
