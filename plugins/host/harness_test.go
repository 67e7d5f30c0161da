package host

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/gathering-dev/gathering/internal/position"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sdk"
	"github.com/gathering-dev/gathering/protocol"
)

// This file connects sessions to in-process plugins: sdk.Servers served by
// sdk.ServeStdio over io.Pipes, spoken to by pipeInstance, a small JSON-RPC
// client doing what launch.Instance does (ids, $/cancelRequest when a call's
// ctx ends, the plugin's traffic to the router's handler in wire order, a
// crash failing in-flight calls, restart with init again).

// pipeInstance is one in-process plugin instance.
type pipeInstance struct {
	name    string
	newSrv  func() *sdk.Server
	handler inbound
	init    func(ctx context.Context, i instance) error

	mu       sync.Mutex
	w        *io.PipeWriter // to the plugin
	pr       *io.PipeReader // the plugin's end of w
	rw       *io.PipeWriter // the plugin's output
	nextID   int64
	pending  map[int64]chan response
	state    string
	restarts int
	served   chan struct{}
	writeMu  sync.Mutex
}

type response struct {
	result json.RawMessage
	err    error
}

type wireMsg struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Code    int64           `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data,omitempty"`
	} `json:"error,omitempty"`
}

// pipeStarter returns a starter of in-process instances of the server newSrv
// makes (a new one per start and restart).
func pipeStarter(t *testing.T, name string, newSrv func() *sdk.Server, started chan<- *pipeInstance) starter {
	return func(ctx context.Context, opts startOptions) (instance, error) {
		pi := &pipeInstance{name: name, newSrv: newSrv, handler: opts.handler, init: opts.init}
		pi.connect()
		if err := opts.init(ctx, pi); err != nil {
			pi.Close()
			return nil, err
		}
		if started != nil {
			started <- pi
		}
		return pi, nil
	}
}

// connect starts a fresh server over fresh pipes.
func (p *pipeInstance) connect() {
	toR, toW := io.Pipe()
	fromR, fromW := io.Pipe()
	served := make(chan struct{})
	p.mu.Lock()
	p.w, p.pr, p.rw, p.served = toW, toR, fromW, served
	p.pending = map[int64]chan response{}
	p.state = StateRunning
	p.mu.Unlock()
	srv := p.newSrv()
	go func() {
		defer close(served)
		sdk.ServeStdio(srv, toR, fromW)
		fromW.Close()
	}()
	go p.read(bufio.NewReader(fromR), toW)
}

// crash ends the plugin as a crash would: in-flight calls fail, the state
// leaves running; with restart, a new server is started and init runs again
// after a short back-off.
func (p *pipeInstance) crash(restart bool) {
	p.mu.Lock()
	w, pr, rw := p.w, p.pr, p.rw
	p.state = StateRestarting
	if !restart {
		p.state = StateStopped
	}
	p.mu.Unlock()
	pr.CloseWithError(io.ErrClosedPipe)
	rw.CloseWithError(io.ErrClosedPipe)
	w.Close()
	if !restart {
		return
	}
	time.Sleep(300 * time.Millisecond) // longer than the router's status poll
	p.mu.Lock()
	p.restarts++
	p.mu.Unlock()
	p.connect()
	p.init(context.Background(), p)
}

func (p *pipeInstance) read(r *bufio.Reader, w *io.PipeWriter) {
	tp := textproto.NewReader(r)
	for {
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			break
		}
		n, err := strconv.Atoi(h.Get("Content-Length"))
		if err != nil {
			break
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			break
		}
		var m wireMsg
		if err := json.Unmarshal(body, &m); err != nil {
			continue
		}
		switch {
		case m.Method != "" && m.ID != nil:
			go p.serve(w, m)
		case m.Method != "":
			p.handler.Notification(context.Background(), m.Method, m.Params)
		default:
			id, _ := strconv.ParseInt(string(m.ID), 10, 64)
			p.mu.Lock()
			ch := p.pending[id]
			delete(p.pending, id)
			p.mu.Unlock()
			if ch == nil {
				continue
			}
			if m.Error != nil {
				e := &protocol.Error{RPCCode: m.Error.Code, Message: m.Error.Message}
				json.Unmarshal(m.Error.Data, &e.Data)
				ch <- response{err: e}
			} else {
				ch <- response{result: m.Result}
			}
		}
	}
	p.mu.Lock()
	if p.w == w {
		for id, ch := range p.pending {
			ch <- response{err: protocol.Errorf(protocol.ErrPluginCrashed, "plugin %s crashed", p.name)}
			delete(p.pending, id)
		}
		if p.state == StateRunning {
			p.state = StateStopped
		}
	}
	p.mu.Unlock()
}

// serve answers a request from the plugin through the router's handler.
func (p *pipeInstance) serve(w *io.PipeWriter, m wireMsg) {
	res, err := p.handler.Request(context.Background(), m.Method, m.Params)
	out := map[string]any{"jsonrpc": "2.0", "id": m.ID}
	if err != nil {
		e := protocol.AsError(err)
		out["error"] = map[string]any{"code": e.RPCCode, "message": e.Message, "data": e.Data}
	} else {
		out["result"] = res
	}
	p.write(w, out)
}

func (p *pipeInstance) write(w *io.PipeWriter, msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	_, err = fmt.Fprintf(w, "Content-Length: %d\r\n\r\n%s", len(data), data)
	return err
}

func (p *pipeInstance) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	p.mu.Lock()
	if p.state != StateRunning {
		p.mu.Unlock()
		return nil, protocol.Errorf(protocol.ErrPluginUnavailable, "plugin %s is %s", p.name, p.state)
	}
	p.nextID++
	id := p.nextID
	ch := make(chan response, 1)
	p.pending[id] = ch
	w := p.w
	p.mu.Unlock()
	if err := p.write(w, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
		return nil, protocol.Errorf(protocol.ErrPluginCrashed, "plugin %s: %v", p.name, err)
	}
	select {
	case r := <-ch:
		return r.result, r.err
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.pending, id)
		p.mu.Unlock()
		p.write(w, map[string]any{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": map[string]any{"id": id}})
		return nil, ctx.Err()
	}
}

func (p *pipeInstance) Notify(ctx context.Context, method string, params any) error {
	p.mu.Lock()
	w, state := p.w, p.state
	p.mu.Unlock()
	if state != StateRunning {
		return protocol.Errorf(protocol.ErrPluginUnavailable, "plugin %s is %s", p.name, state)
	}
	return p.write(w, map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

func (p *pipeInstance) Status() InstanceStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return InstanceStatus{State: p.state, Restarts: p.restarts, Sandbox: "in-process (test)"}
}

func (p *pipeInstance) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.Call(ctx, "shutdown", nil)
	p.Notify(ctx, "exit", nil)
	p.mu.Lock()
	w, served := p.w, p.served
	p.state = StateStopped
	p.mu.Unlock()
	select {
	case <-served:
	case <-ctx.Done():
	}
	return w.Close()
}

// testPlugin is a small LSP server for the tests: it keeps the documents it
// is sent (applying incremental changes in its own encoding), records what
// it received, and publishes N diagnostics for a document whose text holds
// "diags:N".
type testPlugin struct {
	name     string
	langs    []string
	encoding string         // the positionEncoding it answers; "" says none
	sync     int            // its textDocumentSync change kind
	caps     map[string]any // its ServerCapabilities, besides sync and encoding
	advisory []string       // its manifest's [capabilities] lsp
	requests map[string]sdk.Handler

	mu       sync.Mutex
	docs     map[string]string
	received []string // "method uri version detail"
	init     json.RawMessage
	inits    int
}

func (tp *testPlugin) record(s string) {
	tp.mu.Lock()
	tp.received = append(tp.received, s)
	tp.mu.Unlock()
}

// log returns what the plugin received, in order.
func (tp *testPlugin) log() []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]string(nil), tp.received...)
}

func (tp *testPlugin) text(uri string) string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.docs[uri]
}

func (tp *testPlugin) plugin(t *testing.T, started chan<- *pipeInstance) *plugin {
	return &plugin{
		name:   tp.name,
		source: "test",
		manifest: &manifest.Manifest{Name: tp.name, Version: "1.0.0", Publisher: "tests",
			Languages:    manifest.Languages{IDs: tp.langs, FileGlobs: []string{"**/*." + tp.langs[0]}},
			Capabilities: manifest.Capabilities{LSP: tp.advisory}},
		start: pipeStarter(t, tp.name, tp.server, started),
	}
}

func (tp *testPlugin) server() *sdk.Server {
	tp.mu.Lock()
	tp.docs = map[string]string{}
	tp.mu.Unlock()
	reqs := map[string]sdk.Handler{
		"initialize": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			tp.mu.Lock()
			tp.init = params
			tp.inits++
			tp.mu.Unlock()
			caps := map[string]any{"textDocumentSync": map[string]any{"openClose": true, "change": tp.sync, "save": map[string]any{"includeText": true}}}
			for k, v := range tp.caps {
				caps[k] = v
			}
			if tp.encoding != "" {
				caps["positionEncoding"] = tp.encoding
			}
			return map[string]any{"capabilities": caps, "serverInfo": map[string]any{"name": tp.name}}, nil
		},
	}
	for m, h := range tp.requests {
		reqs[m] = h
	}
	type doc struct {
		URI     string `json:"uri"`
		Text    string `json:"text"`
		Version int32  `json:"version"`
	}
	return &sdk.Server{
		Info:     sdk.Info{Name: tp.name, Version: "1.0.0"},
		Requests: reqs,
		Notifications: map[string]func(context.Context, *sdk.Conn, json.RawMessage){
			"textDocument/didOpen": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
				var p struct{ TextDocument doc }
				json.Unmarshal(params, &p)
				tp.mu.Lock()
				tp.docs[p.TextDocument.URI] = p.TextDocument.Text
				tp.mu.Unlock()
				tp.record(fmt.Sprintf("didOpen %s %d", p.TextDocument.URI, p.TextDocument.Version))
				tp.diagnose(ctx, c, p.TextDocument.URI)
			},
			"textDocument/didChange": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
				var p struct {
					TextDocument   doc
					ContentChanges []struct {
						Range *Range `json:"range"`
						Text  string `json:"text"`
					}
				}
				json.Unmarshal(params, &p)
				tp.mu.Lock()
				kinds := []string{}
				for _, ch := range p.ContentChanges {
					if ch.Range == nil {
						tp.docs[p.TextDocument.URI] = ch.Text
						kinds = append(kinds, "full")
						continue
					}
					kinds = append(kinds, "incremental")
					text := tp.docs[p.TextDocument.URI]
					li := newLineIndex(text)
					enc := parseEncoding(tp.encoding)
					start := offsetOf(li, ch.Range.Start, enc)
					end := offsetOf(li, ch.Range.End, enc)
					tp.docs[p.TextDocument.URI] = text[:start] + ch.Text + text[end:]
				}
				tp.mu.Unlock()
				tp.record(fmt.Sprintf("didChange %s %d %s", p.TextDocument.URI, p.TextDocument.Version, strings.Join(kinds, ",")))
				tp.diagnose(ctx, c, p.TextDocument.URI)
			},
			"textDocument/didClose": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
				var p struct{ TextDocument doc }
				json.Unmarshal(params, &p)
				tp.mu.Lock()
				delete(tp.docs, p.TextDocument.URI)
				tp.mu.Unlock()
				tp.record("didClose " + p.TextDocument.URI)
			},
			"textDocument/didSave": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
				var p struct {
					TextDocument doc
					Text         *string
				}
				json.Unmarshal(params, &p)
				tp.record(fmt.Sprintf("didSave %s text=%v", p.TextDocument.URI, p.Text != nil))
			},
		},
	}
}

// offsetOf returns the byte offset of p in the text of li.
func offsetOf(li *lineIndex, p Position, enc encoding) int {
	s, ok := li.line(p.Line)
	if !ok {
		return len(li.text)
	}
	return li.starts[p.Line] + position.Column(enc.unit(), s, p.Character)
}

// diagnose publishes "diags:N" diagnostics for uri.
func (tp *testPlugin) diagnose(ctx context.Context, c *sdk.Conn, uri string) {
	text := tp.text(uri)
	i := strings.Index(text, "diags:")
	if i < 0 {
		return
	}
	n, _ := strconv.Atoi(strings.Fields(text[i+len("diags:"):] + " ")[0])
	list := make([]any, n)
	for k := range list {
		list[k] = map[string]any{
			"range":   map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 0, "character": 1}},
			"message": fmt.Sprintf("%s %d", tp.name, k), "source": tp.name, "data": map[string]any{"k": k},
		}
	}
	c.Notify(ctx, "textDocument/publishDiagnostics", map[string]any{"uri": uri, "diagnostics": list})
}

// fakeClient is the editor side of a session: it records what the host
// sends it and answers workspace/applyEdit.
type fakeClient struct {
	mu          sync.Mutex
	notes       []note
	diagnostics map[string][]json.RawMessage
	calls       []note
	changed     chan struct{}
}

type note struct {
	method string
	params json.RawMessage
}

func newFakeClient() *fakeClient {
	return &fakeClient{diagnostics: map[string][]json.RawMessage{}, changed: make(chan struct{}, 1)}
}

func (c *fakeClient) Notify(ctx context.Context, method string, params any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.notes = append(c.notes, note{method, raw})
	if method == "textDocument/publishDiagnostics" {
		var p struct {
			URI         string            `json:"uri"`
			Diagnostics []json.RawMessage `json:"diagnostics"`
		}
		json.Unmarshal(raw, &p)
		c.diagnostics[p.URI] = p.Diagnostics
	}
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return nil
}

func (c *fakeClient) Call(ctx context.Context, method string, params any, result any) error {
	raw, _ := json.Marshal(params)
	c.mu.Lock()
	c.calls = append(c.calls, note{method, raw})
	c.mu.Unlock()
	switch method {
	case "workspace/applyEdit":
		return json.Unmarshal([]byte(`{"applied":true}`), result)
	case "window/workDoneProgress/create", "client/registerCapability":
		return json.Unmarshal([]byte(`null`), result)
	}
	return protocol.Errorf(protocol.ErrMethodNotFound, "%s", method)
}

func (c *fakeClient) diags(uri string) []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.diagnostics[uri]
}

func (c *fakeClient) notifications(method string) []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []json.RawMessage
	for _, n := range c.notes {
		if n.method == method {
			out = append(out, n.params)
		}
	}
	return out
}

// eventually polls cond until it holds or 20 s pass (generous: the race
// detector on a loaded machine is slow).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// setup is a host with the given test plugins, one session on it with a
// folder /ws, and the fake editor.
type setup struct {
	h       *Host
	s       *Session
	client  *fakeClient
	started chan *pipeInstance
}

func newSetup(t *testing.T, enc string, plugins ...*testPlugin) *setup {
	t.Helper()
	return newSetupWith(t, enc, json.RawMessage(`{"window":{"workDoneProgress":true}}`), plugins...)
}

// newSetupWith is newSetup for an editor with the given capabilities.
func newSetupWith(t *testing.T, enc string, editorCaps json.RawMessage, plugins ...*testPlugin) *setup {
	t.Helper()
	st := &setup{client: newFakeClient(), started: make(chan *pipeInstance, 16)}
	var ps []*plugin
	for _, tp := range plugins {
		ps = append(ps, tp.plugin(t, st.started))
	}
	st.h = newHost(Config{}, ps, nil)
	// Generous deadlines: the race detector on a loaded machine is slow.
	// TestDeadlineCancelsAndTimesOut sets its own; the defaults are checked there.
	st.h.deadlines = deadlines{interactive: 20 * time.Second, edit: 20 * time.Second, workspace: 30 * time.Second, other: 20 * time.Second}
	st.s = st.h.NewSession(SessionConfig{Client: st.client, Folders: []Folder{{URI: "file:///ws", Path: "/ws"}}, Encoding: enc, ClientCapabilities: editorCaps})
	t.Cleanup(func() { st.h.Close() })
	return st
}

// request sends a request and decodes its answer into v (if not nil).
func (st *setup) request(t *testing.T, method string, params any, v any) error {
	t.Helper()
	raw, _ := json.Marshal(params)
	res, err := st.s.Request(context.Background(), method, raw)
	if err != nil {
		return err
	}
	if v != nil {
		if err := json.Unmarshal(res, v); err != nil {
			t.Fatalf("%s answer %s: %v", method, res, err)
		}
	}
	return nil
}

func docParams(uri string, line, char int) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": line, "character": char}}
}
