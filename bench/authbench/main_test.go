package main

import (
	"io"
	"testing"

	"github.com/gathering-dev/gathering/bench/internal/reporttest"
)

// TestRun runs the benchmark briefly, to keep it working; the figures of
// so short a run mean nothing and are not checked.
func TestRun(t *testing.T) {
	reporttest.Check(t, 3, func(args []string) error {
		return run(t.Context(), args, io.Discard)
	}, "-samples", "200", "-revocations", "1", "-clients", "2", "-window", "300ms", "-flood", "200", "-postgres", "")
}
