// Command editbench measures how fast incremental edits go through the whole
// JSON-RPC path: framing, the ordered dispatcher, decoding of the didChange
// params and the document store. The client opens a document of N lines of
// about 40 characters, then sends single-character inserts, each its own
// textDocument/didChange notification at a random line and a middle column
// (UTF-16 positions), written in batches as fast as the pipe takes them, and
// ends each round with a request. Notifications are applied in wire order
// before a later request is answered, so that request's answer is a
// barrier: every edit before it has been applied when it arrives, and the
// round's time runs from the first byte written to that answer.
//
// The peer is a bare github.com/sourcegraph/jsonrpc2 server, gathering's
// transport library, that decodes each notification (the library decodes
// params too, into interface{} values) and drops it: the floor that the
// library, the pipe and the client set, with no document work at all. Both
// get the very same frames.
//
// Both run in this process over os.Pipe pairs, but never at the same time:
// each round starts a fresh server, opens the document, sends warm-up
// edits, forces a GC, times its edits and stops it, then does the same for
// the other server. A live gathering would otherwise leave its documents
// on the heap the two share, and the collector would charge the peer for
// scanning them. Rounds alternate which server goes first, so that drift in
// the machine lands on both. The time of the didOpen, to the answer of a
// barrier after it, is printed beside the edit rates.
//
// Per-edit cost is also compared across document sizes (1,000 and 100,000
// lines by default): an edit touches O(log n) of the document's tree, so
// a hundredfold larger document should cost little more per edit. Each
// line grows by one character per edit that lands on it, so a small
// document's lines grow longer during a round than a large one's: at the
// default counts, from 40 to about 65 bytes at 1,000 lines. After
// each of gathering's rounds, gathering/document/get checks that the server
// applied every edit (the document's version and length), so the figure is
// of edits actually made.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gathering-dev/gathering/bench/internal/report"
	"github.com/gathering-dev/gathering/bench/internal/servers"
	"github.com/gathering-dev/gathering/bench/internal/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "editbench:", err)
		os.Exit(1)
	}
}

// Targets.
const (
	minRate      = 20_000 // edits per second at targetLines
	targetLines  = 10_000
	maxCostRatio = 2.0 // per-edit cost at the largest size over the smallest
)

const uri = "file:///bench/doc.txt"

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("editbench", flag.ContinueOnError)
	sizesFlag := fs.String("sizes", "1000,10000,100000", "document sizes in `lines`, comma-separated")
	edits := fs.Int("edits", 20_000, "timed edits per server per round")
	rounds := fs.Int("rounds", 6, "rounds per size; each runs both servers, alternating which goes first")
	warmup := fs.Int("warmup", 5_000, "untimed edits per server before the rounds")
	batch := fs.Int("batch", 100, "notifications per write")
	out := fs.String("out", "", "append the result rows to this JSON-lines `file`")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run, both servers and the client, to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stopProfile, err := report.CPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	var sizes []int
	for f := range strings.SplitSeq(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad size %q", f)
		}
		sizes = append(sizes, n)
	}
	if *edits < 1 || *rounds < 1 || *batch < 1 {
		return fmt.Errorf("edits, rounds and batch must be positive")
	}

	fmt.Fprintf(stdout, "single-character didChange inserts over OS pipes: %d rounds × %d edits per server and size, %d per write, after %d warm-up edits (GOMAXPROCS=%d)\n",
		*rounds, *edits, *batch, *warmup, runtime.GOMAXPROCS(0))
	results := make(map[int]result, len(sizes))
	for _, n := range sizes {
		res, err := measureSize(ctx, n, *edits, *rounds, *warmup, *batch)
		if err != nil {
			return fmt.Errorf("%d lines: %w", n, err)
		}
		results[n] = res
		fmt.Fprintf(stdout, "  %7d lines  gathering %8.0f edits/s (%5.2fµs/edit, rounds %s); didOpen %6.1fms\n",
			n, res.ours, 1e6/res.ours, rates(res.oursRounds), report.Millis(res.oursOpen))
		fmt.Fprintf(stdout, "  %7s        peer      %8.0f edits/s (%5.2fµs/edit, rounds %s); didOpen %6.1fms\n",
			"", res.peer, 1e6/res.peer, rates(res.peerRounds), report.Millis(res.peerOpen))
	}
	fmt.Fprintln(stdout)

	var rows []report.Row
	for _, n := range sizes {
		r := results[n]
		rows = append(rows, report.Row{
			Bench: "didChange", Metric: fmt.Sprintf("µs/edit @%s lines", lines(n)), Unit: "µs",
			Ours: 1e6 / r.ours, Peer: 1e6 / r.peer, HasPeer: true,
		})
		if n == targetLines {
			rows = append(rows, report.Row{
				Bench: "didChange", Metric: fmt.Sprintf("edits/s @%s lines", lines(n)), Unit: "/s",
				Ours: r.ours, Peer: r.peer, HasPeer: true,
				Target: fmt.Sprintf("≥ %d/s", minRate), Met: r.ours >= minRate,
			})
		}
	}
	if small, large := slices.Min(sizes), slices.Max(sizes); small != large {
		s, l := results[small], results[large]
		ours, peer := s.ours/l.ours, s.peer/l.peer // cost ratio = inverse rate ratio
		rows = append(rows, report.Row{
			Bench: "didChange", Metric: fmt.Sprintf("cost @%s ÷ @%s", lines(large), lines(small)), Unit: "×",
			Ours: ours, Peer: peer, HasPeer: true,
			Target: fmt.Sprintf("≤ %.1f×", maxCostRatio), Met: ours <= maxCostRatio,
		})
	}
	if err := report.Print(stdout, rows); err != nil {
		return err
	}
	return report.Append(*out, rows)
}

// result holds the median edit rates, in edits per second, and each round's,
// and the median time of the didOpen.
type result struct {
	ours, peer             float64
	oursRounds, peerRounds []float64
	oursOpen, peerOpen     time.Duration
}

// measureSize times the rounds for an n-line document. Each server in each
// round is a fresh one, started, opened on the document and warmed up just
// before its timed edits and stopped just after, so that only one server is
// alive at a time: the two share this process's heap, and the collector
// would otherwise make the peer pay for scanning gathering's documents.
func measureSize(ctx context.Context, n, edits, rounds, warmup, batch int) (result, error) {
	text := document(n)
	open := openParams(text)
	sides := []*side{
		{name: "gathering", start: func(dir string) (*servers.Running, error) { return servers.Gathering(ctx, dir) }, barrier: "gathering/debug/echo"},
		{name: "peer", start: func(string) (*servers.Running, error) { return servers.Peer(ctx, false) }, barrier: "echo"},
	}
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	var res result
	var opens [2][]time.Duration
	for r := range rounds {
		if err := ctx.Err(); err != nil {
			return result{}, err
		}
		// Both servers get the same frames: the same positions, and the
		// same versions, since both documents start at version 1.
		g := &generator{rng: rng, lines: n, version: 1}
		warm := g.frames(warmup, batch)
		timed := g.frames(edits, batch)
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, i := range order {
			s := sides[i]
			d, open, err := s.round(open, warm, timed, func(c *wire.Client) error {
				if i != 0 {
					return nil
				}
				return verify(c, g.version, len(text)+warmup+edits)
			})
			if err != nil {
				return result{}, fmt.Errorf("%s: %w", s.name, err)
			}
			opens[i] = append(opens[i], open)
			rate := float64(edits) / d.Seconds()
			if i == 0 {
				res.oursRounds = append(res.oursRounds, rate)
			} else {
				res.peerRounds = append(res.peerRounds, rate)
			}
		}
	}
	res.ours = report.Median(slices.Clone(res.oursRounds))
	res.peer = report.Median(slices.Clone(res.peerRounds))
	res.oursOpen = report.Median(opens[0])
	res.peerOpen = report.Median(opens[1])
	return res, nil
}

// side is one of the two servers.
type side struct {
	name    string
	start   func(dir string) (*servers.Running, error)
	barrier string // the request method that ends a round
	c       *wire.Client
}

// round starts the server, opens the document with the didOpen params
// open, sends the warm-up batches, collects garbage, and times the timed
// batches; it then calls check and stops the server. It returns the time
// of the timed batches and that of the didOpen (until a barrier answers).
func (s *side) round(open []byte, warm, timed [][]byte, check func(*wire.Client) error) (edits, opened time.Duration, err error) {
	dir, err := os.MkdirTemp("", "editbench")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	running, err := s.start(dir)
	if err != nil {
		return 0, 0, err
	}
	defer running.Stop()
	s.c = running.Client

	runtime.GC()
	begin := time.Now()
	if err := s.c.Notify("textDocument/didOpen", open); err != nil {
		return 0, 0, err
	}
	if err := s.sync(); err != nil {
		return 0, 0, err
	}
	opened = time.Since(begin)
	if _, err := s.send(warm); err != nil {
		return 0, 0, err
	}
	runtime.GC()
	if edits, err = s.send(timed); err != nil {
		return 0, 0, err
	}
	if err := check(s.c); err != nil {
		return 0, 0, err
	}
	if err := running.Stop(); err != nil {
		return 0, 0, err
	}
	runtime.GC() // leave nothing of this server for the next to collect
	return edits, opened, nil
}

// send writes the batches and waits for the barrier, returning the time
// from the first write to the barrier's answer.
func (s *side) send(batches [][]byte) (time.Duration, error) {
	start := time.Now()
	for _, b := range batches {
		if err := s.c.Write(b); err != nil {
			return 0, fmt.Errorf("write edits: %w", err)
		}
	}
	if err := s.sync(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// sync makes the barrier request.
func (s *side) sync() error {
	if _, err := s.c.Call(s.barrier, []byte(`{"value":"barrier"}`)); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	return nil
}

// generator makes didChange notifications.
type generator struct {
	rng     *rand.Rand
	lines   int
	version int
}

// frames returns n single-character inserts, framed, batch to a slice.
// Each goes to a random line at a random column from 10 to 29, inside the
// line's first 38 characters, which every line keeps since inserts only
// lengthen lines.
func (g *generator) frames(n, batch int) [][]byte {
	var out [][]byte
	var buf, body []byte
	for i := range n {
		g.version++
		line, col := g.rng.IntN(g.lines), 10+g.rng.IntN(20)
		body = fmt.Appendf(body[:0],
			`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":%q,"version":%d},`+
				`"contentChanges":[{"range":{"start":{"line":%d,"character":%d},"end":{"line":%d,"character":%d}},"text":"x"}]}}`,
			uri, g.version, line, col, line, col)
		buf = wire.AppendFrame(buf, body)
		if (i+1)%batch == 0 || i == n-1 {
			out = append(out, buf)
			buf = nil
		}
	}
	return out
}

// document returns n lines of 39 characters plus a newline.
func document(n int) string {
	var b strings.Builder
	b.Grow(40 * n)
	for i := range n {
		fmt.Fprintf(&b, "line %06d: the quick brown fox jumps\n", i)
	}
	return b.String()
}

func openParams(text string) []byte {
	p, _ := json.Marshal(map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "plaintext", "version": 1, "text": text,
	}})
	return p
}

// verify checks that gathering applied every edit.
func verify(c *wire.Client, version, length int) error {
	params, _ := json.Marshal(map[string]string{"uri": uri})
	res, err := c.Call("gathering/document/get", params)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var doc struct {
		Version int    `json:"version"`
		Text    string `json:"text"`
	}
	if err := json.Unmarshal(res, &doc); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if doc.Version != version || len(doc.Text) != length {
		return fmt.Errorf("verify: document has version %d and %d bytes, want %d and %d: edits were lost",
			doc.Version, len(doc.Text), version, length)
	}
	return nil
}

func rates(rs []float64) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.0f", r)
	}
	return b.String()
}

// lines prints a line count briefly: 1k, 100k.
func lines(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
