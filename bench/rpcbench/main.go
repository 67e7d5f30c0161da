// Command rpcbench measures the round trip of a small request over OS pipes:
// gathering/debug/echo through server.ServeConn against the same echo from
// a bare github.com/sourcegraph/jsonrpc2 server, the library gathering's
// transport is built on.
//
// The difference between the two is what gathering adds to every request
// beyond its JSON-RPC library: the framing codec, the ordered dispatcher,
// the lifecycle and access checks, the in-flight table, the request
// goroutine and the strict decoding of params. The peer is run two ways,
// replying inline on its read goroutine and replying from a goroutine per
// request, and the faster (by median) is the one compared, so the peer is
// the fastest honest echo the library allows.
//
// Calls are sequential: one request in flight, as an editor waiting on a
// completion or hover has. Each server gets a warm-up, then the rounds
// rotate the order of the three servers through every permutation, with a
// forced GC before each block of calls, so that drift in the machine and
// garbage left by one server land on all of them alike.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gathering-dev/gathering/bench/internal/report"
	"github.com/gathering-dev/gathering/bench/internal/servers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rpcbench:", err)
		os.Exit(1)
	}
}

// maxRatio is the target: gathering's round trip at most this many times
// the peer's, at the median and at the 99th percentile.
const maxRatio = 1.5

// echoParams is the request sent: a small value, as most LSP requests are.
var echoParams = []byte(`{"value":{"text":"hello, gathering","n":42,"ok":true}}`)

// side is one server being measured.
type side struct {
	name    string
	running *servers.Running
	method  string
	samples []time.Duration
	rounds  []time.Duration // median of each round
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rpcbench", flag.ContinueOnError)
	samples := fs.Int("samples", 24_000, "timed calls per server, over all rounds")
	rounds := fs.Int("rounds", 6, "rounds; each runs every server once, in rotating order")
	warmup := fs.Int("warmup", 3_000, "untimed calls per server before the rounds")
	out := fs.String("out", "", "append the result rows to this JSON-lines `file`")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run, both servers and the client, to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		stop, err := report.StartCPUProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *rounds < 1 || *samples < *rounds {
		return fmt.Errorf("need at least one round and one sample per round")
	}

	dir, err := os.MkdirTemp("", "rpcbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ours, err := servers.Gathering(ctx, dir)
	if err != nil {
		return fmt.Errorf("start gathering: %w", err)
	}
	defer ours.Stop()
	inline, err := servers.Peer(ctx, false)
	if err != nil {
		return fmt.Errorf("start peer: %w", err)
	}
	defer inline.Stop()
	async, err := servers.Peer(ctx, true)
	if err != nil {
		return fmt.Errorf("start peer: %w", err)
	}
	defer async.Stop()
	sides := []*side{
		{name: "gathering", running: ours, method: "gathering/debug/echo"},
		{name: "peer (inline reply)", running: inline, method: "echo"},
		{name: "peer (goroutine reply)", running: async, method: "echo"},
	}

	for _, s := range sides {
		if err := checkEcho(s); err != nil {
			return err
		}
		if _, err := s.measure(*warmup); err != nil {
			return err
		}
	}
	perRound := *samples / *rounds
	for r := range *rounds {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, s := range permutation(sides, r) {
			runtime.GC()
			d, err := s.measure(perRound)
			if err != nil {
				return err
			}
			s.samples = append(s.samples, d...)
			slices.Sort(d)
			s.rounds = append(s.rounds, report.Quantile(d, 0.5))
		}
	}

	fmt.Fprintf(stdout, "round trip of %s over OS pipes: %d rounds × %d sequential calls per server after %d warm-up calls (GOMAXPROCS=%d)\n",
		"a small echo", *rounds, perRound, *warmup, runtime.GOMAXPROCS(0))
	for _, s := range sides {
		slices.Sort(s.samples)
		fmt.Fprintf(stdout, "  %-24s p50 %6.1fµs  p90 %6.1fµs  p99 %6.1fµs  p99.9 %6.1fµs  max %7.1fµs  round p50s %s\n",
			s.name, q(s, 0.5), q(s, 0.9), q(s, 0.99), q(s, 0.999), q(s, 1), micros(s.rounds))
	}
	peer := sides[1]
	if q(sides[2], 0.5) < q(peer, 0.5) {
		peer = sides[2]
	}
	fmt.Fprintf(stdout, "  compared with the faster peer: %s\n\n", peer.name)

	rows := []report.Row{
		row("p50", q(sides[0], 0.5), q(peer, 0.5)),
		row("p99", q(sides[0], 0.99), q(peer, 0.99)),
	}
	if err := report.Print(stdout, rows); err != nil {
		return err
	}
	return report.Append(*out, rows)
}

func row(metric string, ours, peer float64) report.Row {
	return report.Row{
		Bench: "echo round trip", Metric: metric, Unit: "µs",
		Ours: ours, Peer: peer, HasPeer: true,
		Target: fmt.Sprintf("≤ %.1f× peer", maxRatio),
		Met:    ours <= maxRatio*peer,
	}
}

// q returns the q-quantile of the side's samples in microseconds.
func q(s *side, quantile float64) float64 {
	return report.Micros(report.Quantile(s.samples, quantile))
}

func micros(ds []time.Duration) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f", report.Micros(d))
	}
	return b.String()
}

// permutation returns the r-th ordering of sides, cycling through all of
// them, so that every server goes first, in the middle and last equally
// often over a multiple of len(sides)! rounds.
func permutation(sides []*side, r int) []*side {
	rest := slices.Clone(sides)
	out := make([]*side, 0, len(sides))
	for len(rest) > 0 {
		i := r % len(rest)
		r /= len(rest)
		out = append(out, rest[i])
		rest = slices.Delete(rest, i, i+1)
	}
	return out
}

// measure makes n sequential calls and returns how long each took.
func (s *side) measure(n int) ([]time.Duration, error) {
	c := s.running.Client
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		if _, err := c.Call(s.method, echoParams); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		d[i] = time.Since(start)
	}
	return d, nil
}

// checkEcho makes sure the server echoes the params back, so that the
// timed calls do the work they claim to.
func checkEcho(s *side) error {
	res, err := s.running.Client.Call(s.method, echoParams)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	var got, want any
	if err := json.Unmarshal(res, &got); err != nil {
		return fmt.Errorf("%s: echo result %q: %w", s.name, res, err)
	}
	json.Unmarshal(echoParams, &want)
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		return fmt.Errorf("%s: echo returned %s, want %s", s.name, res, echoParams)
	}
	return nil
}
