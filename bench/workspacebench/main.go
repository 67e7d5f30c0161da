// Command workspacebench measures gathering's workspace methods on a
// generated git repository of 100,000 files (dNNN/sNN/fNNN.go, a few lines
// each, all committed), each beside the git command an editor would
// otherwise run, on the same repository in the same run:
//
//   - the first page (1,000 entries, every field) of
//     gathering/workspace/tree, warm (the tree already listed once),
//     against a target of 100 ms, beside `git ls-files`;
//   - the full listing through gathering/workspace/tree in pages of 10,000,
//     warm, asking for fields path and type, as a file picker does, beside
//     `git ls-files`, which lists names too: within 2×;
//   - the same listing with every field (size, mtime, git status), printed
//     beside `git ls-files` for information, without a target: git
//     ls-files does not stat the files nor run git status;
//   - gathering/workspace/search for a literal found in 1,000 files, beside
//     `git grep -n` of the same literal: within 2×;
//   - gathering/git/status beside `git status --porcelain=v2`: within 1.2×.
//
// gathering runs in this process over OS pipes, as servers.Gathering starts
// it, on a real SQLite store; its figures are whole JSON-RPC round trips,
// answers decoded. The listings' pages are decoded as a Go editor client
// built on package protocol can decode them: the result's bytes are taken
// from the answer's envelope when it is in the shape gathering writes, and
// handed to protocol.WorkspaceTreeResult's UnmarshalJSON, a strict parser
// that accepts only valid JSON, rather than to json.Unmarshal, which calls
// the same method but first scans the whole answer twice to validate it
// (that doubles the client's time). The pages are kept, as an editor keeps
// them. The first page goes through json.Unmarshal. The git commands are
// executed as child processes with their output read, as an editor's
// extension runs them. Runs alternate which side goes first, and each
// figure is the median of the runs. The cold listing (a fresh server
// reading the whole tree) is printed too, for information, without a
// target.
//
// The repository is made on tmpfs (/dev/shm) where there is one, since the
// disks these benchmarks run on create 100,000 small files slowly, or in
// -dir. -run picks measurements by name, and -cpuprofile and -memprofile
// profile the timed runs, both sides in one profile.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gathering-dev/gathering/bench/internal/report"
	"github.com/gathering-dev/gathering/bench/internal/servers"
	"github.com/gathering-dev/gathering/bench/internal/wire"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/workspace/filetree/filetreetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "workspacebench:", err)
		os.Exit(1)
	}
}

// Targets.
const (
	maxFirstPage     = 100 * time.Millisecond
	maxListingRatio  = 2.0
	maxSearchRatio   = 2.0
	maxGitStatusRate = 1.2
)

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("workspacebench", flag.ContinueOnError)
	files := fs.Int("files", 100_000, "files in the generated repository")
	runs := fs.Int("runs", 7, "timed runs of each measurement per side")
	dirFlag := fs.String("dir", "", "make the repository beneath this `directory` (default: /dev/shm, else the system temporary directory)")
	out := fs.String("out", "", "append the result rows to this JSON-lines `file`")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs (both sides) to `file`")
	memprofile := fs.String("memprofile", "", "write a profile of the memory allocated in the timed runs (both sides) to `file`")
	only := fs.String("run", "", "run only the measurements whose names match this `regexp` (\"full listing\", \"cold listing\", …)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *files < 1000 || *runs < 1 {
		return fmt.Errorf("files must be at least 1000 and runs positive")
	}
	selected, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("-run: %w", err)
	}
	base := *dirFlag
	if base == "" {
		if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
			base = "/dev/shm"
		}
	}
	work, err := os.MkdirTemp(base, "workspacebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	repo := work + "/repo"
	if err := os.Mkdir(repo, 0o755); err != nil {
		return err
	}
	start := time.Now()
	if err := filetreetest.Generate(repo, *files); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Fprintf(stdout, "workspace methods on a generated git repository of %d files in %s (made in %.1fs), %d runs each, medians (GOMAXPROCS=%d)\n",
		*files, base, time.Since(start).Seconds(), *runs, runtime.GOMAXPROCS(0))

	storeDir, err := os.MkdirTemp("", "workspacebench-store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(storeDir)
	g, err := servers.Gathering(ctx, storeDir)
	if err != nil {
		return err
	}
	defer g.Stop()
	var proj protocol.Project
	if err := call(g, protocol.MethodProjectCreate, protocol.ProjectCreateParams{Name: "bench", Root: repo}, &proj); err != nil {
		return err
	}
	b := &bench{g: g, project: proj.ID, repo: repo, files: *files}

	// Warm both sides once, and check that they agree before timing them.
	if err := b.check(); err != nil {
		return err
	}
	stopProfile, err := report.CPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.MemProfileRate = 64 << 10
		runtime.GC() // what the setup allocated is counted at the old rate
		defer pprof.Lookup("allocs").WriteTo(f, 0)
	}

	m := map[string]*[2][]time.Duration{}
	measure := func(name string, ours, peer func() error) error {
		d := &[2][]time.Duration{}
		m[name] = d
		for r := range *runs {
			order := []int{0, 1}
			if r%2 == 1 {
				order = []int{1, 0}
			}
			for _, side := range order {
				f := ours
				if side == 1 {
					f = peer
				}
				t0 := time.Now()
				if err := f(); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				d[side] = append(d[side], time.Since(t0))
			}
		}
		return nil
	}
	lsFiles := func() error { _, err := b.git("ls-files"); return err }
	steps := []struct {
		name        string
		ours, peer  func() error
		target      string
		met         func(ours, peer time.Duration) bool
		description string
		metric      string // in the table, when not the name
	}{
		{"first page", b.firstPage, lsFiles, fmt.Sprintf("< %d ms", maxFirstPage.Milliseconds()),
			func(o, _ time.Duration) bool { return o < maxFirstPage }, "tree, 1,000 entries, every field, warm; peer git ls-files", ""},
		{"full listing", b.fullListing, lsFiles, fmt.Sprintf("≤ %.0f× peer", maxListingRatio),
			func(o, p time.Duration) bool { return float64(o) <= maxListingRatio*float64(p) }, "tree in pages of 10,000, fields path and type, warm; peer git ls-files",
			"full listing (path, type)"},
		{"with details", b.detailedListing, lsFiles, "",
			func(time.Duration, time.Duration) bool { return false }, "the same with every field: size, mtime, git status; no target",
			"full listing (all fields)"},
		{"search", b.search, func() error { _, err := b.git("grep", "-n", filetreetest.Needle); return err }, fmt.Sprintf("≤ %.0f× peer", maxSearchRatio),
			func(o, p time.Duration) bool { return float64(o) <= maxSearchRatio*float64(p) }, "literal in 1% of files; peer git grep -n", ""},
		{"git status", b.gitStatus, func() error { _, err := b.git("status", "--porcelain=v2"); return err }, fmt.Sprintf("≤ %.1f× peer", maxGitStatusRate),
			func(o, p time.Duration) bool { return float64(o) <= maxGitStatusRate*float64(p) }, "clean tree; peer git status --porcelain=v2", ""},
	}
	var rows []report.Row
	for _, s := range steps {
		if !selected.MatchString(s.name) {
			continue
		}
		if err := measure(s.name, s.ours, s.peer); err != nil {
			return err
		}
		d := m[s.name]
		ours, peer := median(d[0]), median(d[1])
		fmt.Fprintf(stdout, "  %-13s gathering %8.1f ms   peer %8.1f ms   (%s)\n", s.name, report.Millis(ours), report.Millis(peer), s.description)
		rows = append(rows, report.Row{
			Bench: "workspace", Metric: fmt.Sprintf("%s @%dk files", cmp.Or(s.metric, s.name), *files/1000), Unit: "ms",
			Ours: report.Millis(ours), Peer: report.Millis(peer), HasPeer: true,
			Target: s.target, Met: s.met(ours, peer),
		})
	}

	// Cold: a fresh server reads the whole tree for its first listing.
	var cold, coldPeer []time.Duration
	for range min(*runs, 3) {
		if !selected.MatchString("cold listing") {
			break
		}
		d, err := b.coldListing(ctx)
		if err != nil {
			return err
		}
		cold = append(cold, d)
		t0 := time.Now()
		if err := lsFiles(); err != nil {
			return err
		}
		coldPeer = append(coldPeer, time.Since(t0))
	}
	if len(cold) > 0 {
		fmt.Fprintf(stdout, "  %-13s gathering %8.1f ms   peer %8.1f ms   (a fresh server's first full listing; no target)\n", "cold listing", report.Millis(median(cold)), report.Millis(median(coldPeer)))
		rows = append(rows, report.Row{
			Bench: "workspace", Metric: fmt.Sprintf("cold listing @%dk files", *files/1000), Unit: "ms",
			Ours: report.Millis(median(cold)), Peer: report.Millis(median(coldPeer)), HasPeer: true,
		})
	}
	fmt.Fprintln(stdout)
	if err := report.Print(stdout, rows); err != nil {
		return err
	}
	return report.Append(*out, rows)
}

type bench struct {
	g       *servers.Running
	project string
	repo    string
	files   int
}

func call(g *servers.Running, method string, params, result any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	res, err := g.Client.Call(method, raw)
	if err != nil {
		return err
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(res, result)
}

func (b *bench) git(args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", b.repo}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

func (b *bench) firstPage() error {
	var res protocol.WorkspaceTreeResult
	if err := call(b.g, protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: b.project, Limit: 1000}, &res); err != nil {
		return err
	}
	if len(res.Entries) != 1000 || res.Cursor == "" {
		return fmt.Errorf("first page has %d entries, cursor %q", len(res.Entries), res.Cursor)
	}
	return nil
}

// namesOnly are the fields a names-only listing asks for: what git
// ls-files answers.
var namesOnly = []string{protocol.TreeFieldPath, protocol.TreeFieldType}

// fullListing pages through the whole tree, asking for names only, and
// returns an error unless it holds every file.
func (b *bench) fullListing() error {
	_, err := listAll(b.g, b.project, b.files, namesOnly)
	return err
}

// detailedListing pages through the whole tree with every field.
func (b *bench) detailedListing() error {
	_, err := listAll(b.g, b.project, b.files, nil)
	return err
}

// listAll pages through the tree, asking for fields (every field when
// nil), and returns the pages, as an editor keeps them, once it has
// checked that they list every file.
func listAll(g *servers.Running, project string, files int, fields []string) ([][]protocol.TreeEntry, error) {
	var pages [][]protocol.TreeEntry
	cursor, n := "", 0
	for {
		var res protocol.WorkspaceTreeResult
		err := callTree(g.Client, treeCallID+int64(len(pages)), protocol.WorkspaceTreeParams{ProjectID: project, Limit: 10_000, Cursor: cursor, Fields: fields}, &res)
		if err != nil {
			return nil, err
		}
		pages = append(pages, res.Entries)
		for _, e := range res.Entries {
			if e.Type == "file" {
				n++
			}
		}
		if cursor = res.Cursor; cursor == "" {
			break
		}
	}
	if n != files+1 { // and .gitignore
		return nil, fmt.Errorf("listing has %d files, want %d", n, files+1)
	}
	return pages, nil
}

// filePaths returns the paths of the files in pages.
func filePaths(pages [][]protocol.TreeEntry) []string {
	var paths []string
	for _, page := range pages {
		for _, e := range page {
			if e.Type == "file" {
				paths = append(paths, e.Path)
			}
		}
	}
	return paths
}

// treeCallID is where the ids of callTree's requests begin, far from those
// of wire.Client.Call.
const treeCallID = 1 << 40

// callTree sends a tree request with the given id and decodes its answer
// as an editor client built on package protocol can: it reads the answer's
// frame, takes the result's bytes from an envelope in the shape gathering
// writes ({"jsonrpc":"2.0","id":N,"result":…}), and decodes them with
// WorkspaceTreeResult.UnmarshalJSON, which accepts only valid JSON, rather
// than through json.Unmarshal, whose validating scans of the envelope and
// of the result cost more than the decoding itself. An answer in any other
// shape is decoded in full.
func callTree(c *wire.Client, id int64, params protocol.WorkspaceTreeParams, res *protocol.WorkspaceTreeResult) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if err := c.Write(wire.AppendFrame(nil, wire.AppendRequest(nil, id, protocol.MethodWorkspaceTree, raw))); err != nil {
		return err
	}
	prefix := strconv.AppendInt([]byte(`{"jsonrpc":"2.0","id":`), id, 10)
	prefix = append(prefix, `,"result":`...)
	for {
		msg, err := c.Read()
		if err != nil {
			return fmt.Errorf("read answer: %w", err)
		}
		if result, ok := bytes.CutPrefix(msg, prefix); ok && len(result) > 0 && result[len(result)-1] == '}' {
			return res.UnmarshalJSON(result[:len(result)-1])
		}
		var env struct {
			ID     *json.RawMessage `json:"id"`
			Method string           `json:"method"`
			Result json.RawMessage  `json:"result"`
			Error  *json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(msg, &env); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		if env.Method != "" || env.ID == nil || string(*env.ID) != strconv.FormatInt(id, 10) {
			continue // a message from the server, or a stray answer
		}
		if env.Error != nil {
			return fmt.Errorf("error answer %s", *env.Error)
		}
		return json.Unmarshal(env.Result, res)
	}
}

func (b *bench) search() error {
	var res protocol.WorkspaceSearchResult
	err := call(b.g, protocol.MethodWorkspaceSearch, protocol.WorkspaceSearchParams{
		ProjectID: b.project, Query: filetreetest.Needle, CaseSensitive: true, MaxMatches: 100_000, TimeoutMs: 60_000,
	}, &res)
	if err != nil {
		return err
	}
	if want := (b.files + 57) / 100; len(res.Matches) != want || res.Stopped != "" {
		return fmt.Errorf("search found %d matches (stopped %q), want %d", len(res.Matches), res.Stopped, want)
	}
	return nil
}

func (b *bench) gitStatus() error {
	var res protocol.GitStatusResult
	if err := call(b.g, protocol.MethodGitStatus, protocol.GitParams{ProjectID: b.project}, &res); err != nil {
		return err
	}
	if !res.Clean || res.Branch != "main" {
		return fmt.Errorf("status = %+v, want a clean main", res)
	}
	return nil
}

// check runs each measurement once on both sides and compares what they
// found.
func (b *bench) check() error {
	pages, err := listAll(b.g, b.project, b.files, namesOnly)
	if err != nil {
		return err
	}
	detailed, err := listAll(b.g, b.project, b.files, nil)
	if err != nil {
		return err
	}
	paths := filePaths(pages)
	if !slices.Equal(paths, filePaths(detailed)) {
		return fmt.Errorf("the listings with and without details differ")
	}
	out, err := b.git("ls-files")
	if err != nil {
		return err
	}
	want := strings.Fields(string(out))
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		return fmt.Errorf("the listing (%d files) and git ls-files (%d) differ", len(paths), len(want))
	}
	for _, f := range []func() error{b.firstPage, b.search, b.gitStatus} {
		if err := f(); err != nil {
			return err
		}
	}
	grep, err := b.git("grep", "-n", filetreetest.Needle)
	if err != nil {
		return err
	}
	if n, want := strings.Count(string(grep), "\n"), (b.files+57)/100; n != want {
		return fmt.Errorf("git grep found %d lines, want %d", n, want)
	}
	return nil
}

// coldListing times a fresh server's first full listing of the repository.
func (b *bench) coldListing(ctx context.Context) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "workspacebench-cold-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	g, err := servers.Gathering(ctx, dir)
	if err != nil {
		return 0, err
	}
	defer g.Stop()
	var proj protocol.Project
	if err := call(g, protocol.MethodProjectCreate, protocol.ProjectCreateParams{Name: "cold", Root: b.repo}, &proj); err != nil {
		return 0, err
	}
	t0 := time.Now()
	_, err = listAll(g, proj.ID, b.files, namesOnly)
	return time.Since(t0), err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
