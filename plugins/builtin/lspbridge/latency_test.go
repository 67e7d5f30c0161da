package lspbridge

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// latencyEnv turns on TestLatencyAgainstDirectGopls; its value is the
// number of measured rounds (each round sends every request once to each
// peer).
const latencyEnv = "GATHERING_LSPBRIDGE_LATENCY"

// TestLatencyAgainstDirectGopls measures hover, definition, references and
// completion p50 and p99 through Run (over the in-memory Transport) against
// the same requests sent straight to a second gopls over its stdio from this
// process, on the same module, interleaved request by request so that both
// see the same machine. It prints both and fails if Run's p50 or p99 is over
// 1.1× direct. It runs only when GATHERING_LSPBRIDGE_LATENCY is set (to the
// number of rounds, e.g. 1000); run it without -race, which slows the
// bridge's code and not gopls's. GATHERING_LSPBRIDGE_STATE=DIR keeps gopls's
// caches between runs, which shortens the warm-up from about a minute.
func TestLatencyAgainstDirectGopls(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv(latencyEnv))
	if rounds <= 0 {
		t.Skipf("set %s=ROUNDS (e.g. 1000) to measure Run against direct gopls", latencyEnv)
	}
	l := requireServer(t, "gopls")
	dir := goModule(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	began := time.Now()
	br := runBridged(t, l, dir, Options{})
	dr := runDirect(t, l, dir)
	peers := []*client{br.client, dr.client}
	var uris [2]string
	for i, c := range peers {
		if err := c.initialize(ctx, dir, nil); err != nil {
			t.Fatal(err)
		}
		uris[i] = c.open(t, filepath.Join(dir, "main.go"), "go")
	}

	use := positionOf(t, mainGo, "Greeting(", 2, 2)
	completeAt := positionOf(t, mainGo, "fmt.Pr\n", 1, len("fmt.Pr"))
	requests := []struct {
		method string
		params func(uri string) any
	}{
		{"textDocument/hover", func(uri string) any { return textDocumentPosition(uri, use) }},
		{"textDocument/definition", func(uri string) any { return textDocumentPosition(uri, use) }},
		{"textDocument/references", func(uri string) any {
			p := textDocumentPosition(uri, use)
			p["context"] = map[string]bool{"includeDeclaration": true}
			return p
		}},
		{"textDocument/completion", func(uri string) any { return textDocumentPosition(uri, completeAt) }},
	}
	t.Logf("both peers initialized in %v", time.Since(began))
	measured := time.Now()
	// samples[request][peer] holds the round-trip times.
	samples := make([][2][]time.Duration, len(requests))
	const warmup = 50
	for round := -warmup; round < rounds; round++ {
		for ri, r := range requests {
			for k := range 2 {
				p := (k + round) % 2 // alternate which peer goes first
				if p < 0 {
					p += 2
				}
				start := time.Now()
				if _, err := peers[p].callRaw(ctx, r.method, r.params(uris[p])); err != nil {
					t.Fatalf("%s via %s: %v", r.method, peerName(p), err)
				}
				if round >= 0 {
					samples[ri][p] = append(samples[ri][p], time.Since(start))
				} else if round == -1 && ri == 0 && k == 0 {
					t.Logf("warm-up took %v", time.Since(measured))
				}
			}
		}
	}

	var report strings.Builder
	fmt.Fprintf(&report, "%d rounds in %v, gopls %s\n%-26s %12s %12s %7s %12s %12s %7s %12s %12s\n", rounds,
		time.Since(measured).Round(time.Millisecond), l.Argv[0],
		"request", "run p50", "direct p50", "ratio", "run p99", "direct p99", "ratio", "run max", "direct max")
	for ri, r := range requests {
		run, dir := samples[ri][0], samples[ri][1]
		rp50, dp50 := percentile(run, 50), percentile(dir, 50)
		rp99, dp99 := percentile(run, 99), percentile(dir, 99)
		r50, r99 := float64(rp50)/float64(dp50), float64(rp99)/float64(dp99)
		fmt.Fprintf(&report, "%-26s %12v %12v %7.3f %12v %12v %7.3f %12v %12v\n", r.method, rp50, dp50, r50, rp99, dp99, r99,
			percentile(run, 100), percentile(dir, 100))
		if r50 > 1.1 || r99 > 1.1 {
			t.Errorf("%s through Run is over 1.1x direct: p50 %.3fx, p99 %.3fx", r.method, r50, r99)
		}
	}
	t.Log("\n" + report.String())
}

func peerName(p int) string { return [2]string{"Run", "direct"}[p] }

// percentile returns the p-th percentile (nearest rank) of d.
func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}
