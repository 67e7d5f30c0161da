package lspbridge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/internal/testenv"
	"github.com/gathering-dev/gathering/plugins/sdk"
	"golang.org/x/sys/unix"
)

// memTransport is an in-memory Transport: the bridge Reads what the test's
// client sends and Writes what the client receives, one message per frame,
// handed over on unbuffered channels as a stream would.
type memTransport struct {
	maxBytes   int // if set, Read and Write refuse larger messages as the sdk's transports do
	toBridge   chan []byte
	fromBridge chan []byte
	closeOnce  sync.Once
	closed     chan struct{}
}

func newMemTransport() *memTransport {
	return &memTransport{toBridge: make(chan []byte), fromBridge: make(chan []byte), closed: make(chan struct{})}
}

func (m *memTransport) Read() ([]byte, error) {
	select {
	case b := <-m.toBridge:
		if m.maxBytes > 0 && len(b) > m.maxBytes {
			return nil, &sdk.TooLargeError{Size: len(b), Max: m.maxBytes}
		}
		return b, nil
	case <-m.closed:
		return nil, io.EOF
	}
}

func (m *memTransport) Write(b []byte) error {
	if m.maxBytes > 0 && len(b) > m.maxBytes {
		return &sdk.TooLargeError{Size: len(b), Max: m.maxBytes}
	}
	select {
	case m.fromBridge <- b:
		return nil
	case <-m.closed:
		return io.ErrClosedPipe
	}
}

// close ends the transport: the bridge's Read returns io.EOF.
func (m *memTransport) close() { m.closeOnce.Do(func() { close(m.closed) }) }

func (m *memTransport) send(b []byte) error {
	select {
	case m.toBridge <- b:
		return nil
	case <-m.closed:
		return io.ErrClosedPipe
	}
}

func (m *memTransport) recv() ([]byte, error) {
	select {
	case b := <-m.fromBridge:
		return b, nil
	case <-m.closed:
		return nil, io.EOF
	}
}

// wire is the client's side of a connection to a language server: the
// bridge's Transport, or the server's own stdio.
type wire interface {
	send([]byte) error
	recv() ([]byte, error)
}

// stdioWire speaks Content-Length framing straight to a server's stdio.
type stdioWire struct {
	mu  sync.Mutex
	w   io.Writer
	r   *bufio.Reader
	buf []byte
}

func (s *stdioWire) send(body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(appendHeader(s.buf[:0], len(body)), body...)
	_, err := s.w.Write(s.buf)
	return err
}

func (s *stdioWire) recv() ([]byte, error) {
	n, err := readHeader(s.r)
	if err != nil {
		return nil, err
	}
	body := make([]byte, n)
	_, err = io.ReadFull(s.r, body)
	return body, err
}

// message is any JSON-RPC message, decoded by the test client.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// client is a minimal LSP client: it numbers requests, answers the server's
// own requests (configuration with nulls, everything else with null), and
// records publishDiagnostics.
type client struct {
	w       wire
	mu      sync.Mutex
	next    int
	pending map[string]chan message
	diags   []publishDiagnostics
	diagsCh chan struct{} // signalled on each new publishDiagnostics
	done    chan struct{}
	err     error
}

type publishDiagnostics struct {
	URI         string       `json:"uri"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

type diagnostic struct {
	Range    lspRange `json:"range"`
	Severity int      `json:"severity"`
	Message  string   `json:"message"`
	Source   string   `json:"source"`
}

type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type lspRange struct {
	Start position `json:"start"`
	End   position `json:"end"`
}

type location struct {
	URI   string   `json:"uri"`
	Range lspRange `json:"range"`
}

func newClient(w wire) *client {
	c := &client{w: w, pending: map[string]chan message{}, diagsCh: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *client) loop() {
	defer close(c.done)
	for {
		raw, err := c.w.recv()
		if err != nil {
			c.mu.Lock()
			c.err = err
			for _, ch := range c.pending {
				close(ch)
			}
			c.pending = nil
			c.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(raw, &m); err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("client got a message that is not JSON: %q", truncate(raw, 200))
			c.mu.Unlock()
			continue
		}
		switch {
		case m.Method != "" && m.ID != nil:
			c.answer(m)
		case m.Method == "textDocument/publishDiagnostics":
			var p publishDiagnostics
			if json.Unmarshal(m.Params, &p) == nil {
				c.mu.Lock()
				c.diags = append(c.diags, p)
				c.mu.Unlock()
				select {
				case c.diagsCh <- struct{}{}:
				default:
				}
			}
		case m.Method != "":
			// Other notifications ($/progress, window/logMessage) are ignored.
		default:
			c.mu.Lock()
			ch := c.pending[string(m.ID)]
			delete(c.pending, string(m.ID))
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// answer replies to a request from the server.
func (c *client) answer(m message) {
	result := json.RawMessage("null")
	if m.Method == "workspace/configuration" {
		var p struct{ Items []json.RawMessage }
		_ = json.Unmarshal(m.Params, &p)
		result = json.RawMessage("[" + strings.TrimSuffix(strings.Repeat("null,", len(p.Items)), ",") + "]")
	}
	out, _ := json.Marshal(message{JSONRPC: "2.0", ID: m.ID, Result: result})
	_ = c.w.send(out)
}

// call sends a request and decodes its result into result (if not nil).
func (c *client) call(ctx context.Context, method string, params, result any) error {
	raw, err := c.callRaw(ctx, method, params)
	if err != nil {
		return err
	}
	if result != nil {
		if err := json.Unmarshal(raw, result); err != nil {
			return fmt.Errorf("%s: decode result %s: %w", method, truncate(raw, 200), err)
		}
	}
	return nil
}

func (c *client) callRaw(ctx context.Context, method string, params any) (json.RawMessage, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	ch := make(chan message, 1)
	c.mu.Lock()
	if c.pending == nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: connection closed: %v", method, err)
	}
	c.next++
	id := strconv.Itoa(c.next)
	c.pending[id] = ch
	c.mu.Unlock()
	out, _ := json.Marshal(message{JSONRPC: "2.0", ID: json.RawMessage(id), Method: method, Params: p})
	if err := c.w.send(out); err != nil {
		return nil, fmt.Errorf("%s: send: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: connection closed before the answer: %v", method, c.err)
		}
		if m.Error != nil {
			return nil, m.Error
		}
		return m.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (c *client) notify(method string, params any) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	out, _ := json.Marshal(message{JSONRPC: "2.0", Method: method, Params: p})
	return c.w.send(out)
}

// waitDiagnostics waits for a publishDiagnostics for uri that satisfies ok.
func (c *client) waitDiagnostics(ctx context.Context, uri string, ok func([]diagnostic) bool) ([]diagnostic, error) {
	for {
		c.mu.Lock()
		for i := len(c.diags) - 1; i >= 0; i-- {
			if c.diags[i].URI == uri {
				if ok(c.diags[i].Diagnostics) {
					d := c.diags[i].Diagnostics
					c.mu.Unlock()
					return d, nil
				}
				break
			}
		}
		c.mu.Unlock()
		select {
		case <-c.diagsCh:
		case <-c.done:
			return nil, errors.New("connection closed while waiting for diagnostics")
		case <-ctx.Done():
			c.mu.Lock()
			defer c.mu.Unlock()
			return nil, fmt.Errorf("no matching diagnostics for %s (got %+v): %w", uri, c.diags, ctx.Err())
		}
	}
}

// initialize runs the LSP handshake with root as the only workspace folder.
func (c *client) initialize(ctx context.Context, root string, initOptions any) error {
	uri := fileURI(root)
	params := map[string]any{
		"processId": os.Getpid(),
		"rootUri":   uri,
		"workspaceFolders": []map[string]string{
			{"uri": uri, "name": filepath.Base(root)},
		},
		"capabilities": map[string]any{
			"textDocument": map[string]any{
				"hover":              map[string]any{"contentFormat": []string{"markdown", "plaintext"}},
				"completion":         map[string]any{"completionItem": map[string]any{"snippetSupport": false}},
				"publishDiagnostics": map[string]any{"relatedInformation": false},
				"synchronization":    map[string]any{"didSave": true},
			},
			"workspace": map[string]any{"configuration": true, "workspaceFolders": true},
		},
		"initializationOptions": initOptions,
	}
	if err := c.call(ctx, "initialize", params, nil); err != nil {
		return err
	}
	return c.notify("initialized", map[string]any{})
}

// open sends didOpen for the file at path with its current content.
func (c *client) open(t testing.TB, path, languageID string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	uri := fileURI(path)
	if err := c.notify("textDocument/didOpen", map[string]any{
		"textDocument": map[string]any{"uri": uri, "languageId": languageID, "version": 1, "text": string(text)},
	}); err != nil {
		t.Fatal(err)
	}
	return uri
}

func fileURI(path string) string { return "file://" + filepath.ToSlash(path) }

// positionOf returns the position of the n-th (from 1) occurrence of needle
// in text, plus offset bytes into it.
func positionOf(t testing.TB, text, needle string, n, offset int) position {
	t.Helper()
	from := 0
	for i := 0; i < n; i++ {
		j := strings.Index(text[from:], needle)
		if j < 0 {
			t.Fatalf("occurrence %d of %q not found", n, needle)
		}
		from += j
		if i < n-1 {
			from += len(needle)
		}
	}
	at := from + offset
	line := strings.Count(text[:at], "\n")
	col := at - (strings.LastIndex(text[:at], "\n") + 1)
	return position{Line: line, Character: col}
}

func textDocumentPosition(uri string, p position) map[string]any {
	return map[string]any{"textDocument": map[string]string{"uri": uri}, "position": p}
}

// stateDir is the servers' state directory, shared by the package's tests
// as a plugin's cache dir is shared by its sessions: gopls's file cache of
// the standard library is built once, not in every test.
var stateDir string

func TestMain(m *testing.M) {
	if os.Getenv(scriptedServerEnv) != "" {
		os.Exit(scriptedServer())
	}
	// Orphans of a killed server's group come to this process, as they
	// come to a sandboxed plugin that is PID 1 of its namespace, so the
	// tests can require that Run reaps them (no zombies).
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	// GATHERING_LSPBRIDGE_STATE keeps the state (gopls's caches) across
	// runs, for measurements that should not start cold.
	if dir := os.Getenv("GATHERING_LSPBRIDGE_STATE"); dir != "" {
		stateDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "lspbridge-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stateDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logRecorder is a slog.Handler that keeps the messages logged through it.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	return nil
}

func (r *logRecorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// requireServer resolves a ready-made server, or skips the test locally (and
// fails it under CI=true) when it is not installed.
func requireServer(t testing.TB, name string) *Launch {
	t.Helper()
	spec, ok := Lookup(name)
	if !ok {
		t.Fatalf("no ready-made server %q", name)
	}
	l, err := spec.Resolve(Where{StateDir: stateDir})
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("%v; CI must run scripts/langservers first", err)
		}
		t.Skipf("%v; run scripts/langservers to install it", err)
	}
	return l
}

// bridged is a server running under Run, reached through a memTransport.
type bridged struct {
	*client
	tr   *memTransport
	pid  int
	errc chan error
}

// runBridged starts l under Run in dir and returns the client side.
func runBridged(t testing.TB, l *Launch, dir string, opts Options) *bridged {
	t.Helper()
	b := startBridged(t, l, dir, opts)
	b.client = newClient(b.tr)
	return b
}

// startBridged starts l under Run in dir, with no client reading the
// transport yet.
func startBridged(t testing.TB, l *Launch, dir string, opts Options) *bridged {
	t.Helper()
	return startBridgedOn(t, newMemTransport(), l, dir, opts)
}

// startBridgedOn is startBridged over a given transport.
func startBridgedOn(t testing.TB, tr *memTransport, l *Launch, dir string, opts Options) *bridged {
	t.Helper()
	pidc := make(chan int, 1)
	opts.Env, opts.Dir = l.Env, dir
	opts.Started = func(pid int) { pidc <- pid }
	b := &bridged{tr: tr, errc: make(chan error, 1)}
	go func() { b.errc <- Run(context.Background(), tr, l.Argv, opts) }()
	select {
	case b.pid = <-pidc:
	case err := <-b.errc:
		t.Fatalf("Run returned before the server started: %v", err)
	}
	t.Cleanup(func() {
		tr.close()
		select {
		case <-b.errc:
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10 s of the transport closing")
		}
	})
	return b
}

// wait returns Run's result, failing the test if it takes longer than d.
func (b *bridged) wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case err := <-b.errc:
		b.errc <- err // for the cleanup
		return err
	case <-time.After(d):
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}

// direct is a server started by the test itself, spoken to over its stdio.
type direct struct {
	*client
	cmd *exec.Cmd
}

func runDirect(t testing.TB, l *Launch, dir string) *direct {
	t.Helper()
	cmd := exec.Command(l.Argv[0], l.Argv[1:]...)
	cmd.Env, cmd.Dir = l.Env, dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &direct{cmd: cmd, client: newClient(&stdioWire{w: stdin, r: bufio.NewReaderSize(stdout, 64<<10)})}
	t.Cleanup(func() {
		stdin.Close()
		timer := time.AfterFunc(5*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
		timer.Stop()
	})
	return d
}

// processGroupMembers lists the pids whose process group is pgid, with
// their state letters (Z for a zombie).
func processGroupMembers(t testing.TB, pgid int) map[int]string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command's closing paren: state ppid pgrp ...
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) {
			pids[pid] = fields[0]
		}
	}
	return pids
}

// processExists reports whether pid is a live or zombie process.
func processExists(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return err == nil
}

// serverTimeout bounds each test's conversation with a real server: gopls
// with a cold cache on a busy two-core machine takes tens of seconds to
// load the standard library.
const serverTimeout = 2 * time.Minute
