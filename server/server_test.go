package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/internal/rpc"
	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/store/sqlite"
	"github.com/gathering-dev/gathering/workspace"
	"github.com/gathering-dev/gathering/workspace/document"
)

// client is the test's end of a session.
type client struct {
	t     *testing.T
	conn  *rpc.Conn
	notes chan note
	code  chan int // the session's exit code
}

type note struct {
	method string
	params json.RawMessage
}

func (c *client) Handle(_ context.Context, _ *rpc.Conn, r *rpc.Request) {
	if r.Notif {
		c.notes <- note{r.Method, r.Params}
	}
}

// call sends a request and decodes its result into result (which may be nil).
func (c *client) call(method string, params, result any) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 20*time.Second)
	defer cancel()
	return c.conn.Call(ctx, method, params, result)
}

func (c *client) mustCall(method string, params, result any) {
	c.t.Helper()
	if err := c.call(method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(c.t.Context(), method, params); err != nil {
		c.t.Fatalf("notify %s: %v", method, err)
	}
}

// wantCode asserts err is a protocol error with the JSON-RPC code and data code.
func wantCode(t *testing.T, err error, rpcCode int64, code protocol.Code) {
	t.Helper()
	var e *protocol.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a protocol error %d (%s)", err, rpcCode, code)
	}
	if e.RPCCode != rpcCode || e.Data.Code != code {
		t.Errorf("error = %d %q (%s), want %d (%s)", e.RPCCode, e.Message, e.Data.Code, rpcCode, code)
	}
}

type bundle struct {
	dir string // a directory usable as a project root
}

// openStore opens and migrates a real SQLite store in dir, closed when tb ends.
func openStore(tb testing.TB, dir string) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "g.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st
}

// setup starts a server on a real SQLite store in a temp dir and connects
// one client to it over a pipe.
func setup(t *testing.T, cfg *Config) (*Server, *client, *bundle) {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, dir)
	if cfg == nil {
		cfg = &Config{}
	}
	cfg.DebugMethods = true
	srv := New(workspace.NewProjects(st, nil), cfg)
	root := filepath.Join(dir, "project")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return srv, connect(t, srv, LocalOwner("tester")), &bundle{dir: root}
}

func connect(t *testing.T, srv *Server, p Principal) *client {
	t.Helper()
	return connectOver(t, srv, "pipe", p)
}

// connectOver connects a client as a session of the given transport.
func connectOver(t *testing.T, srv *Server, transport string, p Principal) *client {
	t.Helper()
	a, b := net.Pipe()
	c := &client{t: t, notes: make(chan note, 64), code: make(chan int, 1)}
	go func() { c.code <- srv.ServeConn(context.Background(), a, transport, p) }()
	c.conn = rpc.NewConn(t.Context(), b, c, nil)
	c.conn.Start()
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func (c *client) initialize(params map[string]any) map[string]any {
	c.t.Helper()
	if params == nil {
		params = map[string]any{"processId": nil, "rootUri": nil, "capabilities": map[string]any{}}
	}
	var res map[string]any
	c.mustCall("initialize", params, &res)
	c.notify("initialized", map[string]any{})
	return res
}

func TestLifecycleCodes(t *testing.T) {
	_, c, _ := setup(t, nil)
	wantCode(t, c.call(protocol.MethodStatus, nil, nil), protocol.CodeServerNotInitialized, protocol.NotInitialized)
	// A notification before initialize is dropped, not applied.
	c.notify("textDocument/didOpen", openParams("file:///early.txt", "early"))

	res := c.initialize(nil)
	caps := res["capabilities"].(map[string]any)
	if caps["positionEncoding"] != "utf-16" {
		t.Errorf("positionEncoding = %v, want utf-16 when the client offers none", caps["positionEncoding"])
	}
	if sync := caps["textDocumentSync"].(map[string]any); sync["change"] != float64(2) {
		t.Errorf("textDocumentSync = %v, want incremental (2)", sync)
	}
	wantCode(t, c.call(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: "file:///early.txt"}, nil), protocol.CodeNotFound, protocol.NotFound)
	wantCode(t, c.call("initialize", map[string]any{"capabilities": map[string]any{}}, nil), protocol.CodeInvalidRequest, protocol.InvalidRequest)
	wantCode(t, c.call("textDocument/nothing", nil, nil), protocol.CodeMethodNotFound, protocol.MethodNotFound)

	c.mustCall("shutdown", nil, nil)
	wantCode(t, c.call(protocol.MethodStatus, nil, nil), protocol.CodeInvalidRequest, protocol.InvalidRequest)
	c.notify("exit", nil)
	if code := <-c.code; code != 0 {
		t.Errorf("exit after shutdown: code %d, want 0", code)
	}
}

func TestExitWithoutShutdownIsCode1(t *testing.T) {
	_, c, _ := setup(t, nil)
	c.initialize(nil)
	c.notify("exit", nil)
	if code := <-c.code; code != 1 {
		t.Errorf("exit without shutdown: code %d, want 1", code)
	}
}

func TestCancelAnswersRequestCancelled(t *testing.T) {
	srv, c, _ := setup(t, nil)
	c.initialize(nil)
	errc := make(chan error, 1)
	start := time.Now()
	go func() { errc <- c.call(protocol.MethodDebugSleep, protocol.DebugSleepParams{MS: 10_000}, nil) }()
	// rpc.Conn numbers calls from 1 and initialize took 1, so the sleep
	// is request 2; cancel it once it is running.
	waitFor(t, func() bool { return inflight(srv) == 1 })
	c.notify("$/cancelRequest", map[string]any{"id": 2})
	err := <-errc
	wantCode(t, err, protocol.CodeRequestCancelled, protocol.Cancelled)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled request took %v", d)
	}
}

// inflight counts the requests running in every session of srv.
func inflight(srv *Server) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	n := 0
	for s := range srv.sessions {
		s.mu.Lock()
		n += len(s.inflight)
		s.mu.Unlock()
	}
	return n
}

func TestPanicAnswersInternalErrorAndSessionLives(t *testing.T) {
	srv, c, _ := setup(t, nil)
	srv.methods["test/panic"] = request("test/panic", accessAny, func(*Session, context.Context, *document.Snapshot, *struct{}) (any, error) {
		panic("boom")
	})
	c.initialize(nil)
	wantCode(t, c.call("test/panic", nil, nil), protocol.CodeInternalError, protocol.Internal)
	var st protocol.StatusResult
	c.mustCall(protocol.MethodStatus, nil, &st)
	if st.Session.Transport != "pipe" {
		t.Errorf("status after panic = %+v", st)
	}
}

// TestRequestKeepsItsSnapshot holds a request open across a didChange: it
// answers from the documents as they were when it arrived, while a request
// sent after the change sees the new text.
func TestRequestKeepsItsSnapshot(t *testing.T) {
	srv, c, _ := setup(t, nil)
	started, release := make(chan struct{}), make(chan struct{})
	srv.methods["test/block"] = request("test/block", accessAny, func(_ *Session, ctx context.Context, snap *document.Snapshot, p *protocol.DocumentGetParams) (*protocol.Document, error) {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		d, ok := snap.Get(p.URI)
		if !ok {
			return nil, protocol.Errorf(protocol.ErrNotFound, "%s is not in the snapshot", p.URI)
		}
		return &protocol.Document{URI: d.URI, Version: d.Version, Text: d.Text.String()}, nil
	})
	c.initialize(nil)
	const uri = "file:///snapshot.txt"
	c.notify("textDocument/didOpen", openParams(uri, "old 😀\r\n"))

	type answer struct {
		doc protocol.Document
		err error
	}
	done := make(chan answer, 1)
	go func() {
		var a answer
		a.err = c.call("test/block", protocol.DocumentGetParams{URI: uri}, &a.doc)
		done <- a
	}()
	<-started
	c.notify("textDocument/didChange", change(uri, 2, 0, 0, 0, 3, "new"))
	// A request sent after the change sees it: by then it has been applied.
	var now protocol.Document
	c.mustCall(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: uri}, &now)
	if now.Version != 2 || now.Text != "new 😀\r\n" {
		t.Fatalf("after didChange: v%d %q, want v2 %q", now.Version, now.Text, "new 😀\r\n")
	}
	close(release)
	a := <-done
	if a.err != nil {
		t.Fatalf("test/block: %v", a.err)
	}
	if a.doc.Version != 1 || a.doc.Text != "old 😀\r\n" {
		t.Errorf("the request started before didChange saw v%d %q; want its snapshot, v1 %q", a.doc.Version, a.doc.Text, "old 😀\r\n")
	}
}

// TestStatusListsPlugins checks gathering/status's plugin summary: every
// plugin gathering/plugin/list shows, in its order, with the same state and
// sandbox; and an empty list, not null, for a server without plugins.
func TestStatusListsPlugins(t *testing.T) {
	_, bare, _ := setup(t, nil)
	bare.initialize(nil)
	var raw map[string]json.RawMessage
	bare.mustCall(protocol.MethodStatus, nil, &raw)
	if got := string(raw["plugins"]); got != "[]" {
		t.Errorf("status.plugins without a plugin host = %s, want []", got)
	}

	dirs := t.TempDir()
	if err := os.Mkdir(filepath.Join(dirs, "bogus"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs, "bogus", "plugin.toml"), []byte("name = \"bogus\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Config{Dirs: []string{dirs}, CacheDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	_, c, _ := setup(t, &Config{Plugins: h})
	c.initialize(nil)
	var st protocol.StatusResult
	c.mustCall(protocol.MethodStatus, nil, &st)
	var list protocol.PluginListResult
	c.mustCall(protocol.MethodPluginList, nil, &list)

	want := make([]protocol.PluginSummary, len(list.Plugins))
	for i, p := range list.Plugins {
		want[i] = protocol.PluginSummary{Name: p.Name, State: p.State, Sandbox: p.Sandbox}
	}
	if !slices.Equal(st.Plugins, want) {
		t.Errorf("status.plugins = %+v\nwant, from plugin/list: %+v", st.Plugins, want)
	}
	if !slices.Contains(st.Plugins, protocol.PluginSummary{Name: "bogus", State: "refused"}) {
		t.Errorf("status.plugins = %+v, want the unverifiable bogus plugin refused", st.Plugins)
	}
}

func openParams(uri, text string) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "plaintext", "version": 1, "text": text}}
}

func change(uri string, version int, sl, sc, el, ec int, text string) map[string]any {
	return map[string]any{
		"textDocument": map[string]any{"uri": uri, "version": version},
		"contentChanges": []any{map[string]any{
			"range": map[string]any{"start": map[string]any{"line": sl, "character": sc}, "end": map[string]any{"line": el, "character": ec}},
			"text":  text,
		}},
	}
}

func TestEditsApplyInWireOrder(t *testing.T) {
	_, c, _ := setup(t, nil)
	c.initialize(nil)
	const uri = "file:///order.txt"
	c.notify("textDocument/didOpen", openParams(uri, "😀\r\n"))
	want := "😀\r\n"
	for i := range 500 {
		// Append a digit after the emoji on line 0: UTF-16 column 2 is after
		// the surrogate pair; the text grows by one each time.
		col := 2 + i
		c.notify("textDocument/didChange", change(uri, i+2, 0, col, 0, col, fmt.Sprint(i%10)))
		want = want[:len("😀")+i] + fmt.Sprint(i%10) + want[len("😀")+i:]
	}
	var doc protocol.Document
	c.mustCall(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: uri}, &doc)
	if doc.Text != want || doc.Version != 501 {
		t.Errorf("document = v%d %q, want v501 %q", doc.Version, doc.Text, want)
	}
	// A full-document change replaces the text.
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 600},
		"contentChanges": []any{map[string]any{"text": "whole"}},
	})
	c.mustCall(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: uri}, &doc)
	if doc.Text != "whole" {
		t.Errorf("after full change: %q, want %q", doc.Text, "whole")
	}
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": uri}})
	wantCode(t, c.call(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: uri}, nil), protocol.CodeNotFound, protocol.NotFound)
}

func TestEncodingNegotiation(t *testing.T) {
	for _, test := range []struct {
		offered []string
		want    string
	}{
		{nil, "utf-16"},
		{[]string{"utf-16"}, "utf-16"},
		{[]string{"utf-16", "utf-8"}, "utf-8"},
		{[]string{"utf-32", "utf-16"}, "utf-32"},
		{[]string{"latin-1"}, "utf-16"},
	} {
		t.Run(strings.Join(test.offered, ","), func(t *testing.T) {
			_, c, _ := setup(t, nil)
			caps := map[string]any{}
			if test.offered != nil {
				caps["general"] = map[string]any{"positionEncodings": test.offered}
			}
			res := c.initialize(map[string]any{"capabilities": caps})
			if got := res["capabilities"].(map[string]any)["positionEncoding"]; got != test.want {
				t.Errorf("positionEncoding = %v, want %s", got, test.want)
			}
			// An insert after the emoji lands right in the chosen encoding.
			col := map[string]int{"utf-8": 4, "utf-16": 2, "utf-32": 1}[test.want]
			c.notify("textDocument/didOpen", openParams("file:///e.txt", "😀b"))
			c.notify("textDocument/didChange", change("file:///e.txt", 2, 0, col, 0, col, "a"))
			var doc protocol.Document
			c.mustCall(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: "file:///e.txt"}, &doc)
			if doc.Text != "😀ab" {
				t.Errorf("text = %q, want %q", doc.Text, "😀ab")
			}
		})
	}
}

func TestOversizeDocumentWarnsOnce(t *testing.T) {
	_, c, _ := setup(t, &Config{MaxDocumentBytes: 1024})
	c.initialize(nil)
	big := strings.Repeat("x", 2048)
	c.notify("textDocument/didOpen", openParams("file:///big.txt", big))
	c.notify("textDocument/didChange", change("file:///big.txt", 2, 0, 0, 0, 0, "y"))
	var doc protocol.Document
	c.mustCall(protocol.MethodDocumentGet, protocol.DocumentGetParams{URI: "file:///big.txt"}, &doc)
	if !doc.Oversize || doc.Text != "y"+big {
		t.Errorf("document oversize=%v len=%d, want oversize and exact text", doc.Oversize, len(doc.Text))
	}
	var warnings int
	for len(c.notes) > 0 {
		if n := <-c.notes; n.method == "window/showMessage" {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("got %d showMessage warnings, want exactly 1", warnings)
	}
}

func TestProjects(t *testing.T) {
	_, c, b := setup(t, nil)
	c.initialize(map[string]any{
		"capabilities":     map[string]any{},
		"workspaceFolders": []any{map[string]any{"uri": "file://" + b.dir, "name": "folder"}},
	})
	var list protocol.ProjectListResult
	c.mustCall(protocol.MethodProjectList, protocol.ProjectListParams{}, &list)
	if len(list.Projects) != 1 || list.Projects[0].Root != b.dir || list.Projects[0].Name != "folder" {
		t.Fatalf("projects from workspace folders = %+v, want one rooted at %s", list.Projects, b.dir)
	}
	p := list.Projects[0]

	wantCode(t, c.call(protocol.MethodProjectCreate, protocol.ProjectCreateParams{Name: "dup", Root: b.dir}, nil), protocol.CodeConflict, protocol.Conflict)
	wantCode(t, c.call(protocol.MethodProjectCreate, protocol.ProjectCreateParams{Name: "x", Root: "relative/dir"}, nil), protocol.CodeInvalidParams, protocol.InvalidParams)
	wantCode(t, c.call(protocol.MethodProjectGet, protocol.ProjectIDParams{ID: "nope"}, nil), protocol.CodeNotFound, protocol.NotFound)
	wantCode(t, c.call(protocol.MethodProjectGet, map[string]any{"id": p.ID, "extra": 1}, nil), protocol.CodeInvalidParams, protocol.InvalidParams)

	name := "renamed"
	var got protocol.Project
	c.mustCall(protocol.MethodProjectUpdate, protocol.ProjectUpdateParams{ID: p.ID, Name: &name}, &got)
	if got.Name != name || got.Root != b.dir {
		t.Errorf("updated = %+v", got)
	}
	c.mustCall(protocol.MethodProjectDelete, protocol.ProjectIDParams{ID: p.ID}, nil)
	wantCode(t, c.call(protocol.MethodProjectGet, protocol.ProjectIDParams{ID: p.ID}, nil), protocol.CodeNotFound, protocol.NotFound)
}

func TestTooManyInFlight(t *testing.T) {
	srv, c, _ := setup(t, &Config{MaxInFlight: 2})
	c.initialize(nil)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { c.call(protocol.MethodDebugSleep, protocol.DebugSleepParams{MS: 2000}, nil) })
	}
	waitFor(t, func() bool { return inflight(srv) == 2 })
	wantCode(t, c.call(protocol.MethodDebugSleep, protocol.DebugSleepParams{MS: 0}, nil), protocol.CodeRequestFailed, protocol.TooManyInFlight)
	// Inline methods hold no slot, so status still answers.
	c.mustCall(protocol.MethodStatus, nil, nil)
	wg.Wait()
}

func TestShutdownDrainsRunningRequests(t *testing.T) {
	srv, c, _ := setup(t, nil)
	c.initialize(nil)
	var res protocol.DebugSleepResult
	errc := make(chan error, 1)
	go func() { errc <- c.call(protocol.MethodDebugSleep, protocol.DebugSleepParams{MS: 300}, &res) }()
	waitFor(t, func() bool { return inflight(srv) == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-errc; err != nil || res.SleptMS < 300 {
		t.Errorf("running request during drain: %v, slept %d ms; want it to finish", err, res.SleptMS)
	}
}

func TestShutdownDeadlineCancelsRequests(t *testing.T) {
	srv, c, _ := setup(t, nil)
	c.initialize(nil)
	errc := make(chan error, 1)
	go func() { errc <- c.call(protocol.MethodDebugSleep, protocol.DebugSleepParams{MS: 30_000}, nil) }()
	waitFor(t, func() bool { return inflight(srv) == 1 })
	wantShutdownCancels(t, srv, errc, 5*time.Second)
}

// wantShutdownCancels shuts srv down with 100 ms to drain, and wants the
// request whose answer comes on errc cancelled by that within the time
// given.
func wantShutdownCancels(t *testing.T, srv *Server, errc <-chan error, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want deadline exceeded", err)
	}
	select {
	case err := <-errc:
		wantCode(t, err, protocol.CodeRequestCancelled, protocol.Cancelled)
	case <-time.After(within):
		t.Fatalf("request still running %v after the drain deadline", within)
	}
}

func TestEveryMethodHasAnAccessRule(t *testing.T) {
	for name, m := range methodTable(true) {
		if m.access == accessNone {
			t.Errorf("method %s has no access rule", name)
		}
		if strings.HasPrefix(name, "gathering/") && m.access == accessAny && name != protocol.MethodDocumentGet {
			t.Errorf("gathering method %s needs a role, not accessAny", name)
		}
	}
}

func TestViewerCannotWrite(t *testing.T) {
	srv, _, b := setup(t, nil)
	c := connect(t, srv, Principal{Name: "viewer", Role: RoleViewer})
	c.initialize(nil)
	var list protocol.ProjectListResult
	c.mustCall(protocol.MethodProjectList, nil, &list)
	wantCode(t, c.call(protocol.MethodProjectCreate, protocol.ProjectCreateParams{Name: "x", Root: b.dir}, nil), protocol.CodeForbidden, protocol.Forbidden)
	wantCode(t, c.call(protocol.MethodDebugEcho, protocol.DebugEchoParams{}, nil), protocol.CodeForbidden, protocol.Forbidden)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStdioSessionEndsWhenItsParentDies(t *testing.T) {
	srv, _, _ := setup(t, &Config{Test: TestConfig{ParentPollInterval: 20 * time.Millisecond}})
	parent := exec.Command("sleep", "60")
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	c := connectOver(t, srv, TransportStdio, LocalOwner("tester"))
	c.initialize(map[string]any{"processId": parent.Process.Pid, "capabilities": map[string]any{}})

	// While the parent lives, the session does too.
	c.mustCall(protocol.MethodStatus, nil, nil)
	parent.Process.Kill()
	parent.Wait()
	select {
	case got := <-c.code:
		if got != 1 {
			t.Errorf("exit code = %d, want 1 (no shutdown)", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("session still running after its parent process died")
	}
}
