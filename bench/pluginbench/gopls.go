package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// gopls compares the requests through gathering and its gopls plugin with
// the same requests sent straight to gopls.
func (b *bench) gopls(ctx context.Context, n int) ([]report.Row, error) {
	spec, _ := lspbridge.Lookup("gopls")
	l, err := spec.Resolve(lspbridge.Where{StateDir: filepath.Join(b.dir, "gopls-direct")})
	if err != nil {
		fmt.Printf("pluginbench: gopls rows skipped: %v (scripts/langservers installs it)\n", err)
		return nil, nil
	}
	viaGathering, stopG, err := b.gatheringWithGopls(ctx)
	if err != nil {
		return nil, fmt.Errorf("gathering with gopls: %w", err)
	}
	defer stopG()
	direct, stopD, err := b.goplsDirect(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("gopls direct: %w", err)
	}
	defer stopD()
	// Both answer once they have loaded the module, but gopls goes on
	// analysing it in the background for a few seconds; measuring then
	// would time that, not the requests.
	for _, c := range []*wire.Client{viaGathering, direct} {
		if err := warm(func() (time.Duration, error) {
			_, err := c.Call("textDocument/hover", b.mod.at(atGreet))
			return 0, err
		}); err != nil {
			return nil, err
		}
	}
	time.Sleep(settle)
	var rows []report.Row
	for _, r := range goplsRequests {
		params := r.params(b.mod)
		call := func(c *wire.Client) func() (time.Duration, error) {
			return func() (time.Duration, error) {
				start := time.Now()
				res, err := c.Call(r.method, params)
				d := time.Since(start)
				if err == nil {
					err = r.check(res)
				}
				return d, err
			}
		}
		// Until both answer properly: gopls loads the module first.
		for _, c := range []*wire.Client{viaGathering, direct} {
			if err := warm(call(c)); err != nil {
				return nil, fmt.Errorf("%s: %w", r.method, err)
			}
		}
		ours, peer, err := alternate(n, call(viaGathering), call(direct))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.method, err)
		}
		name := r.method[len("textDocument/"):]
		for _, p := range []struct {
			label string
			q     float64
		}{{"p50", 0.5}, {"p99", 0.99}} {
			o, pe := q(ours, p.q), q(peer, p.q)
			rows = append(rows, report.Row{
				Bench: "plugins", Metric: fmt.Sprintf("gopls %s %s via gathering", name, p.label), Unit: "µs",
				Ours: report.Micros(o), Peer: report.Micros(pe), HasPeer: true,
				Target: "≤ 1.1× peer", Met: float64(o) <= 1.1*float64(pe),
			})
		}
	}
	return rows, nil
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
// would reach it, with the gopls built-in as its only plugin, and opens
// main.go in it.
func (b *bench) gatheringWithGopls(ctx context.Context) (*wire.Client, func() error, error) {
	st, err := sqlite.Open(ctx, filepath.Join(b.dir, "g.db"), nil)
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	h, err := host.New(host.Config{
		Logger:   b.log,
		Builtins: []string{"gopls"},
		CacheDir: filepath.Join(b.dir, "gcache"),
	})
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
	// The same command line and environment the bridge gives it, outside
	// any sandbox.
	for _, d := range l.Write {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, err
		}
	}
	cmd := exec.CommandContext(ctx, l.Argv[0], l.Argv[1:]...)
	cmd.Env = l.Env
	return b.startChild(cmd)
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
