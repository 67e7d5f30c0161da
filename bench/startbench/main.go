// Command startbench measures what it costs to start gathering as an editor
// does, and to keep it idle: the time from exec of `gathering serve --stdio`
// on a fresh SQLite file in a temporary directory to the answer to
// initialize, and the resident memory (VmRSS) after initialize, initialized
// and a second of idleness.
//
// The time covers everything an editor waits for before the first request:
// exec, the Go runtime's start, every package's initialisation, reading the
// settings, creating and migrating the SQLite store, and the session's
// initialize. The peer is bench/stdiopeer, a bare
// github.com/sourcegraph/jsonrpc2 stdio server answering initialize, built
// the same way and measured the same way: what a Go language server on
// gathering's transport library costs before it does anything of its own.
// The runs alternate between the two binaries, so that drift in the machine
// (page cache, CPU frequency, noisy neighbours) lands on both.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
		fmt.Fprintln(os.Stderr, "startbench:", err)
		os.Exit(1)
	}
}

// Targets.
const (
	maxStartup = 50 * time.Millisecond
	maxRSS     = 30e6 // bytes
)

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("startbench", flag.ContinueOnError)
	gathering := fs.String("gathering", "", "the gathering `binary`; built from ./cmd/gathering when empty")
	peerBin := fs.String("peer", "", "the peer `binary`; built from ./bench/stdiopeer when empty")
	runs := fs.Int("runs", 21, "timed starts per binary")
	rssRuns := fs.Int("rss-runs", 5, "starts per binary that idle and measure memory")
	idle := fs.Duration("idle", time.Second, "how long to idle after initialized before reading VmRSS")
	out := fs.String("out", "", "append the result rows to this JSON-lines `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 || *rssRuns < 1 {
		return errors.New("runs and rss-runs must be positive")
	}

	tmp, err := os.MkdirTemp("", "startbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *gathering == "" {
		if *gathering, err = build(ctx, tmp, "gathering", "./cmd/gathering"); err != nil {
			return err
		}
	}
	if *peerBin == "" {
		if *peerBin, err = build(ctx, tmp, "stdiopeer", "./bench/stdiopeer"); err != nil {
			return err
		}
	}
	bins := []*binary{
		{name: "gathering", path: *gathering, args: func(dir string) []string {
			return []string{"serve", "--stdio", "--database", filepath.Join(dir, "g.db")}
		}},
		{name: "peer", path: *peerBin, args: func(string) []string { return nil }},
	}

	// One untimed start each brings the binaries into the page cache.
	for _, b := range bins {
		if _, _, err := b.start(ctx, tmp, 0); err != nil {
			return err
		}
	}
	for i := range *runs + *rssRuns {
		order := bins
		if i%2 == 1 {
			order = []*binary{bins[1], bins[0]}
		}
		for _, b := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			wait := time.Duration(0)
			if i >= *runs {
				wait = *idle
			}
			d, rss, err := b.start(ctx, tmp, wait)
			if err != nil {
				return err
			}
			if i < *runs {
				b.startups = append(b.startups, d)
			} else {
				b.rss = append(b.rss, rss)
			}
		}
	}

	fmt.Fprintf(stdout, "start to initialize answer over stdio, %d runs per binary, then %d runs idling %v before reading VmRSS, alternating binaries\n",
		*runs, *rssRuns, *idle)
	for _, b := range bins {
		slices.Sort(b.startups)
		slices.Sort(b.rss)
		fmt.Fprintf(stdout, "  %-9s start min %5.1fms  median %5.1fms  max %5.1fms   idle VmRSS min %5.1fMB  median %5.1fMB  max %5.1fMB\n",
			b.name, report.Millis(b.startups[0]), report.Millis(report.Quantile(b.startups, 0.5)), report.Millis(b.startups[len(b.startups)-1]),
			mb(b.rss[0]), mb(report.Quantile(b.rss, 0.5)), mb(b.rss[len(b.rss)-1]))
	}
	fmt.Fprintln(stdout)

	ours, peer := bins[0], bins[1]
	startOurs, startPeer := report.Quantile(ours.startups, 0.5), report.Quantile(peer.startups, 0.5)
	rssOurs, rssPeer := report.Quantile(ours.rss, 0.5), report.Quantile(peer.rss, 0.5)
	rows := []report.Row{
		{
			Bench: "startup", Metric: "exec → initialize answer (median)", Unit: "ms",
			Ours: report.Millis(startOurs), Peer: report.Millis(startPeer), HasPeer: true,
			Target: fmt.Sprintf("< %d ms", maxStartup.Milliseconds()), Met: startOurs < maxStartup,
		},
		{
			Bench: "startup", Metric: "idle VmRSS after initialize (median)", Unit: "MB",
			Ours: mb(rssOurs), Peer: mb(rssPeer), HasPeer: true,
			Target: fmt.Sprintf("< %.0f MB", maxRSS/1e6), Met: rssOurs < maxRSS,
		},
	}
	if err := report.Print(stdout, rows); err != nil {
		return err
	}
	return report.Append(*out, rows)
}

// mb converts bytes to megabytes of 10⁶ bytes, the stricter reading of the
// target's "MB" (/proc reports kB of 1024 bytes).
func mb(bytes int64) float64 { return float64(bytes) / 1e6 }

// binary is one server being measured.
type binary struct {
	name     string
	path     string
	args     func(dir string) []string
	startups []time.Duration
	rss      []int64 // bytes
}

// start runs the binary once in a fresh directory: it times exec to the
// initialize answer, then sends initialized, idles for idle (when not zero)
// and reads VmRSS, and ends the process with shutdown and exit.
func (b *binary) start(ctx context.Context, tmp string, idle time.Duration) (time.Duration, int64, error) {
	dir, err := os.MkdirTemp(tmp, b.name)
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		return 0, 0, err
	}
	defer stderr.Close()

	cmd := exec.CommandContext(ctx, b.path, b.args(dir)...)
	cmd.Env = servers.Environ(dir)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	c := wire.NewClient(servers.Pipes{ReadCloser: stdout, WriteCloser: stdin})

	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start %s: %w", b.name, err)
	}
	_, err = c.Call("initialize", []byte(`{"capabilities":{}}`))
	elapsed := time.Since(begin)
	fail := func(err error) (time.Duration, int64, error) {
		cmd.Process.Kill()
		cmd.Wait()
		log, _ := os.ReadFile(stderr.Name())
		return 0, 0, fmt.Errorf("%s: %w\nits stderr:\n%s", b.name, err, log)
	}
	if err != nil {
		return fail(err)
	}

	var rss int64
	if idle > 0 {
		if err := c.Notify("initialized", []byte(`{}`)); err != nil {
			return fail(err)
		}
		time.Sleep(idle)
		if rss, err = vmRSS(cmd.Process.Pid); err != nil {
			return fail(err)
		}
	}

	if _, err := c.Call("shutdown", nil); err != nil {
		return fail(err)
	}
	if err := c.Notify("exit", nil); err != nil {
		return fail(err)
	}
	stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			return fail(fmt.Errorf("after exit: %w", err))
		}
	case <-time.After(10 * time.Second):
		return fail(errors.New("still running 10s after exit"))
	}
	return elapsed, rss, nil
}

// vmRSS reads the resident set size of process pid from /proc.
func vmRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read VmRSS: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}

// build builds pkg, a package path relative to the module root (the
// current directory), into dir.
func build(ctx context.Context, dir, name, pkg string) (string, error) {
	bin := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}
