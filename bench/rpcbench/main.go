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
// By default both servers run in this process, each behind an os.Pipe
// pair. With -gathering and -peer they run instead as child processes
// serving their stdin and stdout (gathering serve --stdio --debug-methods,
// and bench/stdiopeer, the latter with -async for the goroutine variant),
// which is how an editor runs a language server: each server has its own
// scheduler and heap, reads a blocking stdin, and lets its threads sleep
// between requests. Handing a request to another goroutine then costs a
// thread wake-up, which the in-process setup, whose client keeps the one
// shared scheduler busy, largely hides. The forced GCs below are then the
// client's only.
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
	"path/filepath"
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
	p50s    []time.Duration // of each round
	p99s    []time.Duration
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rpcbench", flag.ContinueOnError)
	samples := fs.Int("samples", 24_000, "timed calls per server, over all rounds")
	rounds := fs.Int("rounds", 6, "rounds; each runs every server once, in rotating order")
	warmup := fs.Int("warmup", 3_000, "untimed calls per server before the rounds")
	gathering := fs.String("gathering", "", "run the gathering `binary` as a child process instead of in process (needs -peer)")
	peerBin := fs.String("peer", "", "run the bench/stdiopeer `binary` as a child process instead of in process (needs -gathering)")
	out := fs.String("out", "", "append the result rows to this JSON-lines `file`")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process (the client, and the servers when in process) to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stopProfile, err := report.CPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if *rounds < 1 || *samples < *rounds {
		return fmt.Errorf("need at least one round and one sample per round")
	}
	if (*gathering == "") != (*peerBin == "") {
		return fmt.Errorf("-gathering and -peer go together")
	}

	dir, err := os.MkdirTemp("", "rpcbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	setup, start := "in process", inProcess(ctx)
	if *gathering != "" {
		setup, start = "child processes", childProcesses(ctx, *gathering, *peerBin)
	}
	var running [3]*servers.Running
	for i := range running {
		sub, err := os.MkdirTemp(dir, "server")
		if err != nil {
			return err
		}
		if running[i], err = start(i, sub); err != nil {
			return err
		}
		defer running[i].Stop()
	}
	ours, inline, async := running[0], running[1], running[2]
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
			s.p50s = append(s.p50s, report.Quantile(d, 0.5))
			s.p99s = append(s.p99s, report.Quantile(d, 0.99))
		}
	}

	fmt.Fprintf(stdout, "round trip of a small echo over OS pipes, servers %s: %d rounds × %d sequential calls per server after %d warm-up calls (GOMAXPROCS=%d)\n",
		setup, *rounds, perRound, *warmup, runtime.GOMAXPROCS(0))
	for _, s := range sides {
		slices.Sort(s.samples)
		fmt.Fprintf(stdout, "  %-22s p50 %6.1fµs  p90 %6.1fµs  p99 %6.1fµs  p99.9 %7.1fµs  max %8.1fµs\n",
			s.name, q(s, 0.5), q(s, 0.9), q(s, 0.99), q(s, 0.999), q(s, 1))
		fmt.Fprintf(stdout, "  %-22s rounds' p50s %s; p99s %s\n", "", micros(s.p50s), micros(s.p99s))
	}
	peer := sides[1]
	if q(sides[2], 0.5) < q(peer, 0.5) {
		peer = sides[2]
	}
	fmt.Fprintf(stdout, "  compared with the faster peer: %s; gathering over the goroutine-reply peer, which pays the same handoff: p50 %.2f×, p99 %.2f×\n\n",
		peer.name, q(sides[0], 0.5)/q(sides[2], 0.5), q(sides[0], 0.99)/q(sides[2], 0.99))

	rows := []report.Row{
		row(setup, "p50", q(sides[0], 0.5), q(peer, 0.5)),
		row(setup, "p99", q(sides[0], 0.99), q(peer, 0.99)),
	}
	if err := report.Print(stdout, rows); err != nil {
		return err
	}
	return report.Append(*out, rows)
}

// startFunc starts server i (0 gathering, 1 the inline peer, 2 the
// goroutine peer) with dir as its own directory.
type startFunc func(i int, dir string) (*servers.Running, error)

func inProcess(ctx context.Context) startFunc {
	return func(i int, dir string) (*servers.Running, error) {
		if i == 0 {
			return servers.Gathering(ctx, dir)
		}
		return servers.Peer(ctx, i == 2)
	}
}

func childProcesses(ctx context.Context, gathering, peer string) startFunc {
	return func(i int, dir string) (*servers.Running, error) {
		switch i {
		case 0:
			return servers.Process(ctx, dir, gathering, "serve", "--stdio", "--debug-methods", "--database", filepath.Join(dir, "g.db"))
		case 1:
			return servers.Process(ctx, dir, peer)
		default:
			return servers.Process(ctx, dir, peer, "-async")
		}
	}
}

func row(setup, metric string, ours, peer float64) report.Row {
	return report.Row{
		Bench: "echo round trip, " + setup, Metric: metric, Unit: "µs",
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
		fmt.Fprintf(&b, "%.0f", report.Micros(d))
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
