package main

import (
	"io"
	"testing"

	"github.com/gathering-dev/gathering/bench/internal/reporttest"
)

// TestRun runs the benchmark on a small repository once per side; the
// figures of so short a run mean nothing and are not checked, but the
// agreement checks (listing, search and status against git's) run in full.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a repository and runs git; skipped in -short mode")
	}
	reporttest.Check(t, 6, func(args []string) error {
		return run(t.Context(), args, io.Discard)
	}, "-files", "2000", "-runs", "1", "-dir", t.TempDir())
}
