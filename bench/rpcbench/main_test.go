package main

import (
	"io"
	"testing"

	"github.com/gathering-dev/gathering/bench/internal/reporttest"
)

// TestRun runs the benchmark briefly, to keep it working; the figures of
// so short a run mean nothing and are not checked.
func TestRun(t *testing.T) {
	reporttest.Check(t, 2, func(args []string) error {
		return run(t.Context(), args, io.Discard)
	}, "-samples", "60", "-rounds", "6", "-warmup", "10")
}
