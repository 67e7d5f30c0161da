package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gathering-dev/gathering/bench/internal/report"
	"github.com/gathering-dev/gathering/bench/internal/wire"
	"github.com/gathering-dev/gathering/plugins/builtin/lspbridge"
	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/server"
	"github.com/gathering-dev/gathering/store/sqlite"
	"github.com/gathering-dev/gathering/workspace"
)

// goplsRequests are the requests compared, each at a position of main.go.
var goplsRequests = []struct {
	method string
	params func(m module) []byte
	check  func(res json.RawMessage) error
}{
	{"textDocument/hover", func(m module) []byte { return m.at(atGreet) }, mentions("Greet")},
	{"textDocument/definition", func(m module) []byte { return m.at(atGreet) }, mentions("lib.go")},
	{"textDocument/references", func(m module) []byte { return m.references(atMsg) }, mentions("main.go")},
	{"textDocument/completion", func(m module) []byte { return m.at(afterLib) }, mentions("Shout")},
}

func mentions(s string) func(json.RawMessage) error {
	return func(res json.RawMessage) error {
		if !hoverNames(res, s) {
			return fmt.Errorf("answer does not mention %q: %.300s", s, res)
		}
		return nil
	}
}

// goplsSide is one way of reaching gopls, with its client.
type goplsSide struct {
	name string
	c    *wire.Client
	stop func() error
}

// gopls compares the requests through gathering and its gopls plugin with
// the same requests sent straight to gopls, and, for information, through
// a bare byte relay in gathering's place: the floor of any process between
// an editor and gopls.
//
// Each of rounds starts all three afresh (gopls keeps its file cache
// between them, as between an editor's sessions), lets them settle, and
// times n/rounds requests per method and side, rotating the order per
// request. Each pair of figures is one round's p50s or p99s: the round
// whose ratio of the two is the median of the rounds' ratios (the upper
// one of an even count). On two CPUs one gopls process's p99 moves by half
// between runs and two processes differ from each other, so one long run
// of one pair measures which pair it got more than what stands between
// them; and the rounds' levels differ by a third while all sides of a
// round share its machine, so figures are compared within a round, never
// one round's ours with another's peer.
func (b *bench) gopls(ctx context.Context, n, rounds int) ([]report.Row, error) {
	spec, _ := lspbridge.Lookup("gopls")
	if _, err := spec.Find(lspbridge.Where{}); err != nil {
		fmt.Printf("pluginbench: gopls rows skipped: %v (scripts/langservers installs it)\n", err)
		return nil, nil
	}
	q, per, err := b.measure(ctx, "", n, rounds, settle)
	if err != nil {
		return nil, err
	}
	fmt.Printf("pluginbench: gopls, %d rounds of %d requests per method and side; each pair of figures from the round with the median ratio\n", len(q[0][0].p50), per)
	return q.rows("gopls", true), nil
}

// instant times the same requests against bench/instantlsp at path, a
// server that answers at once, for information: what gathering adds to a
// request beside what a bare relay adds. Against gopls those few µs are
// lost in its own time and in the ±5% that two gopls processes differ by;
// here they are most of the round trip, so a change to the forwarding
// path shows.
func (b *bench) instant(ctx context.Context, path string, n, rounds int) ([]report.Row, error) {
	q, per, err := b.measure(ctx, path, n, rounds, 0)
	if err != nil {
		return nil, err
	}
	fmt.Printf("pluginbench: instant server, %d rounds of %d requests per method and side; each pair of figures from the round with the median ratio\n", len(q[0][0].p50), per)
	return q.rows("instant server", false), nil
}

// rows prints each request's rounds and returns its figures through
// gathering and through the bare relay, each beside direct from the round
// with the median ratio; with target, gathering's carry the 1.1× target.
func (q timings) rows(server string, target bool) []report.Row {
	var rows []report.Row
	for i, r := range goplsRequests {
		name := r.method[len("textDocument/"):]
		for _, p := range []struct {
			label string
			sides [3][]time.Duration
		}{
			{"p50", [3][]time.Duration{q[i][0].p50, q[i][1].p50, q[i][2].p50}},
			{"p99", [3][]time.Duration{q[i][0].p99, q[i][1].p99, q[i][2].p99}},
		} {
			rOurs, rBare, rPeer := p.sides[0], p.sides[1], p.sides[2]
			fmt.Printf("  %s %s by round: ours %s; bare relay %s; direct %s; ours/direct %s\n", name, p.label,
				micros(rOurs), micros(rBare), micros(rPeer), ratios(rOurs, rPeer))
			ours, peer := medianRound(rOurs, rPeer)
			bare, bpeer := medianRound(rBare, rPeer)
			row := report.Row{
				Bench: "plugins", Metric: fmt.Sprintf("%s %s %s via gathering", server, name, p.label), Unit: "µs",
				Ours: report.Micros(ours), Peer: report.Micros(peer), HasPeer: true,
			}
			if target {
				row.Target, row.Met = "≤ 1.1× peer", float64(ours) <= 1.1*float64(peer)
			}
			rows = append(rows, row, report.Row{
				Bench: "plugins", Metric: fmt.Sprintf("%s %s %s via a bare byte relay (floor)", server, name, p.label), Unit: "µs",
				Ours: report.Micros(bare), Peer: report.Micros(bpeer), HasPeer: true,
			})
		}
	}
	return rows
}

// timings holds, for each request of goplsRequests and each side
// (gathering, bare relay, direct), each round's p50 and p99 in round order.
type timings [][3]perRound

type perRound struct{ p50, p99 []time.Duration }

// measure times the requests against the language server at path ("" for
// the installed gopls) through gathering, through a bare relay and direct,
// in rounds with fresh processes, n requests per method and side in all;
// it returns the timings and the requests per round.
func (b *bench) measure(ctx context.Context, path string, n, rounds int, settle time.Duration) (timings, int, error) {
	spec, _ := lspbridge.Lookup("gopls")
	tag := "gopls"
	if path != "" {
		tag = "instant"
	}
	direct, err := spec.Resolve(lspbridge.Where{Path: path, StateDir: filepath.Join(b.dir, tag+"-direct")})
	if err != nil {
		return nil, 0, err
	}
	relay, err := spec.Resolve(lspbridge.Where{Path: path, StateDir: filepath.Join(b.dir, tag+"-relay")})
	if err != nil {
		return nil, 0, err
	}
	rounds = max(rounds, 1)
	per := max(n/rounds, 1)
	q := make(timings, len(goplsRequests))
	for round := range rounds {
		sides, err := b.goplsSides(ctx, tag, path, round, direct, relay, settle)
		if err != nil {
			return nil, 0, err
		}
		err = func() error {
			defer func() {
				for _, s := range sides {
					s.stop()
				}
			}()
			for i, r := range goplsRequests {
				times, err := b.timeGopls(r.method, r.params(b.mod), r.check, per, sides)
				if err != nil {
					return fmt.Errorf("round %d: %s: %w", round+1, r.method, err)
				}
				for s, ts := range times {
					slices.Sort(ts)
					q[i][s].p50 = append(q[i][s].p50, report.Quantile(ts, 0.5))
					q[i][s].p99 = append(q[i][s].p99, report.Quantile(ts, 0.99))
				}
			}
			return nil
		}()
		if err != nil {
			return nil, 0, err
		}
	}
	return q, per, nil
}

// goplsSides starts the server (gopls, or the one at path) three ways:
// through gathering, through a bare relay, and direct; waits until each
// answers, then lets it settle: gopls finishes its background analysis.
func (b *bench) goplsSides(ctx context.Context, tag, path string, round int, direct, relay *lspbridge.Launch, settle time.Duration) ([]goplsSide, error) {
	var sides []goplsSide
	stopAll := func() {
		for _, s := range sides {
			s.stop()
		}
	}
	for _, start := range []struct {
		name string
		f    func() (*wire.Client, func() error, error)
	}{
		{"gathering", func() (*wire.Client, func() error, error) { return b.gatheringWithGopls(ctx, tag, path, round) }},
		{"bare relay", func() (*wire.Client, func() error, error) { return b.goplsRelayed(ctx, relay) }},
		{"direct", func() (*wire.Client, func() error, error) { return b.goplsDirect(ctx, direct) }},
	} {
		c, stop, err := start.f()
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("gopls %s: %w", start.name, err)
		}
		sides = append(sides, goplsSide{start.name, c, stop})
	}
	// Each answers once it has loaded the module, but gopls goes on
	// analysing it in the background for a few seconds; measuring then
	// would time that, not the requests.
	for _, s := range sides {
		if err := warm(func() (time.Duration, error) {
			_, err := s.c.Call("textDocument/hover", b.mod.at(atGreet))
			return 0, err
		}); err != nil {
			stopAll()
			return nil, fmt.Errorf("gopls %s: %w", s.name, err)
		}
	}
	time.Sleep(settle)
	return sides, nil
}

// timeGopls times n calls of method on each side, rotating which goes
// first, after each answers it properly once (gopls loads the module
// first).
func (b *bench) timeGopls(method string, params []byte, check func(json.RawMessage) error, n int, sides []goplsSide) ([][]time.Duration, error) {
	calls := make([]func() (time.Duration, error), len(sides))
	for i, s := range sides {
		calls[i] = func() (time.Duration, error) {
			start := time.Now()
			res, err := s.c.Call(method, params)
			d := time.Since(start)
			if err == nil {
				err = check(res)
			}
			return d, err
		}
		if err := warm(calls[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return rotate(n, calls...)
}

// rotate calls each of fs n times, rotating which goes first, so that all
// see the same machine, and returns their times.
func rotate(n int, fs ...func() (time.Duration, error)) ([][]time.Duration, error) {
	times := make([][]time.Duration, len(fs))
	for i := range n {
		for k := range fs {
			j := (i + k) % len(fs)
			d, err := fs[j]()
			if err != nil {
				return nil, err
			}
			times[j] = append(times[j], d)
		}
	}
	return times, nil
}

// medianRound returns ours and peer of the round whose ratio ours/peer is
// the median of the rounds' ratios, the upper of the two middle ones when
// the count is even.
func medianRound(ours, peer []time.Duration) (time.Duration, time.Duration) {
	rounds := make([]int, len(ours))
	for i := range rounds {
		rounds[i] = i
	}
	ratio := func(i int) float64 { return float64(ours[i]) / float64(peer[i]) }
	slices.SortStableFunc(rounds, func(a, b int) int { return cmp.Compare(ratio(a), ratio(b)) })
	m := rounds[len(rounds)/2]
	return ours[m], peer[m]
}

// ratios lists ours[i]/peer[i] for each round.
func ratios(ours, peer []time.Duration) string {
	parts := make([]string, len(ours))
	for i := range ours {
		parts[i] = strconv.FormatFloat(float64(ours[i])/float64(peer[i]), 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}

// micros lists durations in whole µs.
func micros(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = strconv.FormatInt(d.Microseconds(), 10)
	}
	return strings.Join(parts, " ")
}

// settle is how long gopls is left to finish its background analysis
// before the requests are timed.
const settle = 10 * time.Second

// warm calls f until it succeeds, for at most a minute.
func warm(f func() (time.Duration, error)) error {
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gatheringWithGopls starts a gathering session on OS pipes, as an editor
// would reach it, with the gopls built-in as its only plugin (running the
// server at path when it is set), and opens main.go in it.
func (b *bench) gatheringWithGopls(ctx context.Context, tag, path string, round int) (*wire.Client, func() error, error) {
	st, err := sqlite.Open(ctx, filepath.Join(b.dir, fmt.Sprintf("%s%d.db", tag, round)), nil)
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	cfg := host.Config{
		Logger:   b.log,
		Builtins: []string{"gopls"},
		CacheDir: filepath.Join(b.dir, tag+"-cache"),
	}
	if path != "" {
		cfg.ServerPaths = map[string]string{"gopls": path}
	}
	h, err := host.New(cfg)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	srv := server.New(workspace.NewProjects(st, nil), &server.Config{Plugins: h})
	clientEnd, serverEnd, err := wire.Pipe()
	if err != nil {
		h.Close()
		st.Close()
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeConn(ctx, serverEnd, "pipe", server.LocalOwner("bench"))
	}()
	stop := func() error {
		err := clientEnd.Close()
		<-done
		return errors.Join(err, h.Close(), st.Close())
	}
	c := wire.NewClient(clientEnd)
	if err := b.open(c); err != nil {
		stop()
		return nil, nil, err
	}
	return c, stop, nil
}

// goplsDirect starts gopls on its stdio, as an editor would without
// gathering, and opens main.go in it.
func (b *bench) goplsDirect(ctx context.Context, l *lspbridge.Launch) (*wire.Client, func() error, error) {
	cmd, err := goplsCommand(ctx, l)
	if err != nil {
		return nil, nil, err
	}
	return b.startChild(cmd, false)
}

// goplsRelayed starts gopls as goplsDirect does, behind a bare byte relay
// in this process (see startChild): the least any process standing
// between an editor and gopls adds.
func (b *bench) goplsRelayed(ctx context.Context, l *lspbridge.Launch) (*wire.Client, func() error, error) {
	cmd, err := goplsCommand(ctx, l)
	if err != nil {
		return nil, nil, err
	}
	return b.startChild(cmd, true)
}

// goplsCommand is gopls with the command line and environment the bridge
// gives it, outside any sandbox.
func goplsCommand(ctx context.Context, l *lspbridge.Launch) (*exec.Cmd, error) {
	for _, d := range l.Write {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, l.Argv[0], l.Argv[1:]...)
	cmd.Env = l.Env
	return cmd, nil
}

// open initializes c with the module as its workspace and opens main.go.
func (b *bench) open(c *wire.Client) error {
	if _, err := c.Call("initialize", b.mod.initializeParams()); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if err := c.Notify("initialized", []byte("{}")); err != nil {
		return err
	}
	return c.Notify("textDocument/didOpen", b.mod.didOpen())
}
