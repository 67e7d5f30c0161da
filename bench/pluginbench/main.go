// Command pluginbench measures gathering's language plugins, each figure
// beside its peer from the same run:
//
//   - per-request overhead: textDocument/hover to the built-in `go` plugin
//     through the host (sealed memfd, sandbox launcher, go-plugin gRPC, the
//     Session stream) against the same plugin logic (plugins/builtin/golang)
//     served on a raw stdio pipe to a child process. The target is a
//     median difference under 200 µs;
//   - cold start of the `go` plugin: verification, memfd, sandbox,
//     handshake and GetInfo, then initialize and the first hover answered,
//     against a target of 50 ms (the peer is the same child on raw stdio:
//     exec, initialize and the first hover);
//   - hover, definition, references and completion on a Go module through
//     the whole of gathering (an LSP client over OS pipes to a gathering
//     session whose `gopls` built-in runs gopls in the sandbox and speaks
//     to it over its stdio) against the same requests sent straight to
//     gopls over its stdio: p50 and p99 within 1.1×. There are -rounds
//     rounds with fresh processes, all sides of a round timed in turn;
//     each pair of figures is from the round whose ratio is the median of
//     the rounds' ratios. Beside them, for information, the same requests
//     through a bare byte relay in gathering's place: what any process
//     between editor and gopls costs on this machine. Needs gopls
//     (scripts/langservers installs the pinned one); without it those rows
//     are skipped with a message;
//   - with -instant, the same requests against bench/instantlsp, which
//     answers at once: the µs gathering adds to a request beside those a
//     bare relay adds, which gopls's own time and noise hide. No target.
//
// The program is its own plugin image: the host re-executes it as the
// sandbox launcher (`plugin-exec`) and as the built-in plugins
// (`plugin-run NAME`), exactly as it does the gathering binary.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/gathering-dev/gathering/bench/internal/report"
	"github.com/gathering-dev/gathering/bench/internal/servers"
	"github.com/gathering-dev/gathering/bench/internal/wire"
	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/builtin/golang"
	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/plugins/sandbox"
	"github.com/gathering-dev/gathering/plugins/sdk"
)

const stdioCommand = "stdio-go" // serve the go plugin's logic on raw stdio

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case sandbox.LauncherCommand:
			os.Exit(sandbox.LauncherMainWith(os.Args[2:], func(argv []string) int { return builtin.Main(argv) }))
		case builtin.RunCommand:
			os.Exit(builtin.Main(os.Args))
		case stdioCommand:
			if err := sdk.ServeStdio(golang.Server(), os.Stdin, os.Stdout); err != nil && !errors.Is(err, io.EOF) {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(run())
}

func run() int {
	out := flag.String("out", "", "append the figures as JSON lines to `file` for the summary")
	n := flag.Int("n", 2000, "hovers per measured side in the host→plugin comparison")
	goplsN := flag.Int("gopls-n", 5000, "requests per method and side in the gopls comparison, split across -rounds")
	rounds := flag.Int("rounds", 5, "gopls comparison rounds, each with fresh processes; each pair of figures is from the round with the median ratio")
	starts := flag.Int("starts", 20, "cold starts per side")
	withGopls := flag.Bool("gopls", true, "compare gopls through gathering with gopls direct")
	instantPath := flag.String("instant", "", "also time the gopls requests against the bench/instantlsp `binary`, which answers at once: what gathering and a bare relay add to a request, without gopls's own time (information, no target)")
	verbose := flag.Bool("v", false, "log the host and the plugins' stderr at debug level")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the gopls and instant-server comparisons (all sides; gathering and the relay run in this process) to `file`")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pluginbench")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	mod, err := writeModule(filepath.Join(dir, "mod"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	b := &bench{dir: dir, mod: mod, log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}
	var rows []report.Row
	// The CPU profile covers the gopls and instant-server comparisons.
	stopProfile := func() error { return nil }
	defer func() { stopProfile() }()
	for _, step := range []func(context.Context, int) ([]report.Row, error){
		func(ctx context.Context, _ int) ([]report.Row, error) { return b.overhead(ctx, *n) },
		func(ctx context.Context, _ int) ([]report.Row, error) { return b.coldStart(ctx, *starts) },
		func(ctx context.Context, _ int) ([]report.Row, error) {
			stop, err := report.CPUProfile(*cpuprofile)
			if err != nil {
				return nil, err
			}
			stopProfile = stop
			if !*withGopls {
				return nil, nil
			}
			return b.gopls(ctx, *goplsN, *rounds)
		},
		func(ctx context.Context, _ int) ([]report.Row, error) {
			if *instantPath == "" {
				return nil, nil
			}
			return b.instant(ctx, *instantPath, *goplsN, *rounds)
		},
	} {
		rs, err := step(ctx, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pluginbench:", err)
			return 1
		}
		rows = append(rows, rs...)
	}
	fmt.Printf("pluginbench: %d hovers per side; %d cold starts per side\n", *n, *starts)
	if err := report.Print(os.Stdout, rows); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *out != "" {
		if err := report.Append(*out, rows); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

type bench struct {
	dir string
	mod module
	log *slog.Logger
}

// module is the Go module every request is about.
type module struct {
	dir, uri string
	mainURI  string
	mainText string
}

const libText = `// Package lib is what main uses.
package lib

// Greet says hello to name.
func Greet(name string) string {
	return "hello, " + name
}

// Shout is loud.
func Shout(s string) string { return s + "!" }
`

const mainText = `package main

import (
	"fmt"

	"example.com/bench/lib"
)

func main() {
	msg := lib.Greet("world")
	fmt.Println(msg)
	fmt.Println(lib.Shout(msg))
}
`

func writeModule(dir string) (module, error) {
	files := map[string]string{
		"go.mod":     "module example.com/bench\n\ngo 1.22\n",
		"main.go":    mainText,
		"lib/lib.go": libText,
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return module{}, err
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return module{}, err
		}
	}
	return module{
		dir: dir, uri: "file://" + dir,
		mainURI:  "file://" + filepath.Join(dir, "main.go"),
		mainText: mainText,
	}, nil
}

// Positions in main.go (utf-16 = bytes here: the text is ASCII).
var (
	atGreet  = pos(9, 12)  // lib.Gr|eet
	atMsg    = pos(10, 14) // fmt.Println(m|sg)
	afterLib = pos(11, 17) // fmt.Println(lib.|Shout
)

type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

func pos(line, char int) position { return position{line, char} }

func (m module) initializeParams() []byte {
	return mustJSON(map[string]any{
		"processId": nil,
		"rootUri":   m.uri,
		"workspaceFolders": []map[string]string{
			{"uri": m.uri, "name": "bench"},
		},
		"capabilities": map[string]any{
			"general": map[string]any{"positionEncodings": []string{"utf-16"}},
			"textDocument": map[string]any{
				"hover":      map[string]any{"contentFormat": []string{"markdown", "plaintext"}},
				"completion": map[string]any{"completionItem": map[string]any{"snippetSupport": false}},
			},
		},
	})
}

func (m module) didOpen() []byte {
	return mustJSON(map[string]any{"textDocument": map[string]any{
		"uri": m.mainURI, "languageId": "go", "version": 1, "text": m.mainText,
	}})
}

func (m module) at(p position) []byte {
	return mustJSON(map[string]any{"textDocument": map[string]string{"uri": m.mainURI}, "position": p})
}

func (m module) references(p position) []byte {
	return mustJSON(map[string]any{
		"textDocument": map[string]string{"uri": m.mainURI}, "position": p,
		"context": map[string]bool{"includeDeclaration": true},
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// loadGo loads the built-in go plugin as gathering serve does.
func (b *bench) loadGo() (*launch.Set, *launch.Plugin, error) {
	set, err := launch.Load(launch.Config{
		Logger:   b.log,
		Builtins: []string{"go"},
		CacheDir: filepath.Join(b.dir, "cache"),
	})
	if err != nil {
		return nil, nil, err
	}
	p := set.Lookup("go")
	if p == nil {
		set.Close()
		return nil, nil, errors.New("the go built-in did not load")
	}
	if p.Refused != nil {
		set.Close()
		return nil, nil, fmt.Errorf("the go built-in was refused: %w", p.Refused)
	}
	return set, p, nil
}

// startGo starts the go plugin through the host and opens main.go in it.
func (b *bench) startGo(ctx context.Context, p *launch.Plugin) (*launch.Instance, error) {
	return launch.Start(ctx, p, launch.StartOptions{
		Folders: []launch.Folder{{URI: b.mod.uri, Path: b.mod.dir}},
		Init: func(ctx context.Context, i *launch.Instance) error {
			if _, err := i.Call(ctx, "initialize", json.RawMessage(b.mod.initializeParams())); err != nil {
				return err
			}
			if err := i.Notify(ctx, "initialized", json.RawMessage("{}")); err != nil {
				return err
			}
			return i.Notify(ctx, "textDocument/didOpen", json.RawMessage(b.mod.didOpen()))
		},
	})
}

// startStdio starts the go plugin's logic as a child on raw stdio, past
// initialize, with main.go open.
func (b *bench) startStdio(ctx context.Context) (*wire.Client, func() error, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, self, stdioCommand)
	cmd.Stderr = os.Stderr
	return b.startChild(cmd, false)
}

// startChild starts cmd as a language server on its stdio, initializes it
// with the module as its workspace and opens main.go. relayed puts a bare
// byte relay in between: OS pipes from the client to two goroutines of
// this process copying bytes to and from the child's stdio. stop shuts it
// down, killing it if it has not exited five seconds later.
func (b *bench) startChild(cmd *exec.Cmd, relayed bool) (*wire.Client, func() error, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	var conn io.ReadWriteCloser = servers.Pipes{ReadCloser: stdout, WriteCloser: stdin}
	if relayed {
		clientEnd, relayEnd, err := wire.Pipe()
		if err != nil {
			return nil, nil, err
		}
		go func() { io.Copy(stdin, relayEnd); stdin.Close() }()
		go func() { io.Copy(relayEnd, stdout); relayEnd.Close() }()
		conn = clientEnd
	}
	if err := cmd.Start(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	c := wire.NewClient(conn)
	stop := func() error {
		c.Call("shutdown", nil)
		c.Notify("exit", nil)
		c.Close()
		return waitOrKill(cmd)
	}
	if err := b.open(c); err != nil {
		stop()
		return nil, nil, err
	}
	return c, stop, nil
}

// waitOrKill waits for cmd to exit after its input closed, and kills it
// after 5 s.
func waitOrKill(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		return <-done
	}
}

// overhead times hovers through the host and on raw stdio, alternating
// rounds so that both see the same machine.
func (b *bench) overhead(ctx context.Context, n int) ([]report.Row, error) {
	set, p, err := b.loadGo()
	if err != nil {
		return nil, err
	}
	defer set.Close()
	inst, err := b.startGo(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("start the go plugin: %w", err)
	}
	defer inst.Close()
	c, stop, err := b.startStdio(ctx)
	if err != nil {
		return nil, fmt.Errorf("start the stdio peer: %w", err)
	}
	defer stop()

	hover := b.mod.at(atGreet)
	viaHost := func() (time.Duration, error) {
		start := time.Now()
		res, err := inst.Call(ctx, "textDocument/hover", json.RawMessage(hover))
		d := time.Since(start)
		if err == nil && !hoverNames(res, "Greet") {
			err = fmt.Errorf("hover through the host answered %s", res)
		}
		return d, err
	}
	direct := func() (time.Duration, error) {
		start := time.Now()
		res, err := c.Call("textDocument/hover", hover)
		d := time.Since(start)
		if err == nil && !hoverNames(res, "Greet") {
			err = fmt.Errorf("hover on stdio answered %s", res)
		}
		return d, err
	}
	ours, peer, err := alternate(n, viaHost, direct)
	if err != nil {
		return nil, err
	}
	diff := report.Median(ours) - report.Median(peer)
	return []report.Row{
		{Bench: "plugins", Metric: "hover via host p50", Unit: "µs", Ours: report.Micros(report.Median(ours)), Peer: report.Micros(report.Median(peer)), HasPeer: true},
		{Bench: "plugins", Metric: "host→plugin overhead (p50 diff)", Unit: "µs", Ours: report.Micros(diff), Target: "< 200 µs", Met: diff < 200*time.Microsecond},
		{Bench: "plugins", Metric: "hover via host p99", Unit: "µs", Ours: report.Micros(q(ours, 0.99)), Peer: report.Micros(q(peer, 0.99)), HasPeer: true},
	}, nil
}

func hoverNames(raw json.RawMessage, name string) bool {
	return json.Valid(raw) && bytes.Contains(raw, []byte(name))
}

// coldStart times the go plugin's cold start through the host: load
// (verification, a sealed memfd of the executable), the sandboxed launch,
// the go-plugin handshake, GetInfo, and initialize answered; beside the
// same plugin logic exec'd as a child on raw stdio until it answers
// initialize. The first hover after each is timed too, for information:
// it type-checks the package and its imports from source.
func (b *bench) coldStart(ctx context.Context, n int) ([]report.Row, error) {
	hover := json.RawMessage(b.mod.at(atGreet))
	var hoverOurs, hoverPeer []time.Duration
	viaHost := func() (time.Duration, error) {
		start := time.Now()
		set, p, err := b.loadGo()
		if err != nil {
			return 0, err
		}
		defer set.Close()
		inst, err := b.startGo(ctx, p)
		if err != nil {
			return 0, err
		}
		d := time.Since(start)
		_, err = inst.Call(ctx, "textDocument/hover", hover)
		hoverOurs = append(hoverOurs, time.Since(start))
		return d, errors.Join(err, inst.Close())
	}
	direct := func() (time.Duration, error) {
		start := time.Now()
		c, stop, err := b.startStdio(ctx)
		if err != nil {
			return 0, err
		}
		d := time.Since(start)
		_, err = c.Call("textDocument/hover", hover)
		hoverPeer = append(hoverPeer, time.Since(start))
		stop()
		return d, err
	}
	ours, peer, err := alternate(n, viaHost, direct)
	if err != nil {
		return nil, err
	}
	m := report.Median(ours)
	return []report.Row{
		{
			Bench: "plugins", Metric: "go plugin cold start (load to initialize answered)", Unit: "ms",
			Ours: report.Millis(m), Peer: report.Millis(report.Median(peer)), HasPeer: true,
			Target: "< 50 ms", Met: m < 50*time.Millisecond,
		},
		{
			Bench: "plugins", Metric: "go plugin start to first hover (type-checks fmt)", Unit: "ms",
			Ours: report.Millis(report.Median(hoverOurs)), Peer: report.Millis(report.Median(hoverPeer)), HasPeer: true,
		},
	}, nil
}

// alternate runs ours and peer n times each, in alternating order.
func alternate(n int, ours, peer func() (time.Duration, error)) ([]time.Duration, []time.Duration, error) {
	var a, b []time.Duration
	for i := range n {
		first, second := ours, peer
		if i%2 == 1 {
			first, second = peer, ours
		}
		d1, err := first()
		if err != nil {
			return nil, nil, err
		}
		d2, err := second()
		if err != nil {
			return nil, nil, err
		}
		if i%2 == 1 {
			d1, d2 = d2, d1
		}
		a, b = append(a, d1), append(b, d2)
	}
	return a, b, nil
}

func q(xs []time.Duration, p float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return report.Quantile(s, p)
}
