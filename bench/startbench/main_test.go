package main

import (
	"io"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/bench/internal/reporttest"
)

// TestRun builds both binaries and starts each a few times; the figures of
// so short a run mean nothing and are not checked.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gathering command; skipped in -short mode")
	}
	t.Chdir("../..") // the module root, which run builds from
	reporttest.Check(t, 2, func(args []string) error {
		return run(t.Context(), args, io.Discard)
	}, "-runs", "1", "-rss-runs", "1", "-idle", (10 * time.Millisecond).String())
}
