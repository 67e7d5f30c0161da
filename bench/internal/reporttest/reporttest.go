// Package reporttest checks that a benchmark program runs and reports, for
// the smoke tests that keep the programs working.
package reporttest

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/gathering-dev/gathering/bench/internal/report"
)

// Check runs a benchmark program's run function with args plus -out and
// fails t unless it succeeds and writes want rows, each with a positive,
// finite figure for gathering and for the peer. It asserts nothing about
// the figures' size: a benchmark's results are for reading, not gating.
func Check(t testing.TB, want int, run func(args []string) error, args ...string) []report.Row {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := run(append(args, "-out", out)); err != nil {
		t.Fatalf("run(%q) = %v", args, err)
	}
	rows, err := report.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != want {
		t.Fatalf("run(%q) wrote %d rows, want %d: %+v", args, len(rows), want, rows)
	}
	for _, r := range rows {
		for _, v := range []float64{r.Ours, r.Peer} {
			if !r.HasPeer || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				t.Errorf("row %s %s: ours %v, peer %v (has peer %v); want positive figures for both", r.Bench, r.Metric, r.Ours, r.Peer, r.HasPeer)
			}
		}
	}
	return rows
}
