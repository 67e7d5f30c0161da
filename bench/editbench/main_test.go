package main

import (
	"io"
	"testing"

	"github.com/gathering-dev/gathering/bench/internal/reporttest"
)

// TestRun runs the benchmark briefly, including its check that gathering
// applied every edit; the figures of so short a run mean nothing and are
// not checked.
func TestRun(t *testing.T) {
	reporttest.Check(t, 4, func(args []string) error {
		return run(t.Context(), args, io.Discard)
	}, "-sizes", "100,10000", "-edits", "300", "-rounds", "2", "-warmup", "50", "-batch", "7")
}
