package host

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/protocol"
)

// replyFunc is a function as a Reply.
type replyFunc func(result json.RawMessage, err error)

func (f replyFunc) Reply(result json.RawMessage, err error) { f(result, err) }

// forward runs Session.Forward and waits for its answer, calling its
// cancel when ctx ends; taken is false when Forward declined, and the test
// then has no answer.
func forward(t *testing.T, s *Session, ctx context.Context, method string, params any) (res json.RawMessage, err error, taken bool) {
	t.Helper()
	raw, _ := json.Marshal(params)
	type answer struct {
		res json.RawMessage
		err error
	}
	ch := make(chan answer, 2)
	fm, _ := ForwardMethodOf(method) // the zero ForwardMethod is declined
	cancel, ok := s.Forward(ctx, fm, raw, replyFunc(func(res json.RawMessage, err error) { ch <- answer{res, err} }))
	if !ok {
		return nil, nil, false
	}
	select {
	case <-ctx.Done(): // Forward watches no ctx once it has sent: the editor's cancel comes this way
		if ctx.Err() == context.Canceled {
			cancel.Cancel()
		}
	case a := <-ch:
		ch <- a
	}
	select {
	case a := <-ch:
		select {
		case <-ch:
			t.Fatalf("%s: reply called twice", method)
		case <-time.After(20 * time.Millisecond):
		}
		return a.res, a.err, true
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no reply", method)
		return nil, nil, false
	}
}

// Forward takes what one running plugin serves and answers it as Request
// would, over a stdio plugin: plain answers as sent, completion tagged so
// that resolve reaches its origin, deadlines, cancellation and crashes.
func TestForwardMatchesRequest(t *testing.T) {
	st, ws := launchedSetup(t, Config{Builtins: []string{"gamma"}})
	st.h.deadlines.interactive = 20 * time.Second // the first request waits for the start
	ctx := context.Background()
	doc := "file://" + ws + "/a.gamma"
	st.s.DidOpen(ctx, doc, "gamma", 1, "hello\n")

	// Not yet started: Forward declines, Request starts the plugin.
	if _, _, taken := forward(t, st.s, ctx, "textDocument/hover", docParams(doc, 0, 0)); taken {
		t.Fatal("Forward took a request for a plugin that has not started")
	}
	viaRequest, err := st.s.Request(ctx, "textDocument/hover", mustJSON(t, docParams(doc, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "gamma running", func() bool { return forwardable(st.s.existing("gamma")) })

	res, err, taken := forward(t, st.s, ctx, "textDocument/hover", docParams(doc, 0, 0))
	if !taken || err != nil || string(res) != string(viaRequest) || !strings.Contains(string(res), "gamma: hello") {
		t.Fatalf("Forward hover = %s, %v, %v; Request gave %s", res, err, taken, viaRequest)
	}
	// A later edit is what the next forwarded request sees.
	st.s.DidChange(ctx, doc, 2, []Change{{Text: "bye\n"}}, func() string { return "bye\n" })
	if res, err, _ := forward(t, st.s, ctx, "textDocument/hover", docParams(doc, 0, 0)); err != nil || !strings.Contains(string(res), "gamma: bye") {
		t.Fatalf("hover after the edit = %s, %v", res, err)
	}
	refs, err, taken := forward(t, st.s, ctx, "textDocument/references", docParams(doc, 0, 0))
	if !taken || err != nil || !strings.Contains(string(refs), doc) {
		t.Fatalf("Forward references = %s, %v, %v", refs, err, taken)
	}

	// Completion comes back tagged; resolve goes to gamma with its own data.
	list, err, _ := forward(t, st.s, ctx, "textDocument/completion", docParams(doc, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var cl struct{ Items []map[string]any }
	if err := json.Unmarshal(list, &cl); err != nil || len(cl.Items) != 2 {
		t.Fatalf("completion = %s, %v", list, err)
	}
	if name, _, ok := taggedBy(cl.Items[1]); !ok || name != "gamma" {
		t.Fatalf("completion item not tagged: %v", cl.Items[1])
	}
	resolved, err := st.s.Request(ctx, "completionItem/resolve", mustJSON(t, cl.Items[1]))
	if err != nil || !strings.Contains(string(resolved), "resolved by gamma with data map[n:2]") {
		t.Fatalf("resolve = %s, %v", resolved, err)
	}

	// Declined: no such document, a progress token, a method no route has.
	for _, c := range []struct {
		method string
		params any
	}{
		{"textDocument/hover", docParams("file://"+ws+"/closed.gamma", 0, 0)},
		{"textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": doc}, "position": map[string]any{"line": 0, "character": 0}, "workDoneToken": "t"}},
		{"textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": doc}}},
		{"gamma/custom", map[string]any{"textDocument": map[string]any{"uri": doc}}},
	} {
		if _, _, taken := forward(t, st.s, ctx, c.method, c.params); taken {
			t.Errorf("Forward took %s %v", c.method, c.params)
		}
	}

	// The deadline of the request's kind, then cancellation by the editor.
	hang := "file://" + ws + "/hang.gamma"
	st.s.DidOpen(ctx, hang, "gamma", 1, "hang\n")
	st.h.deadlines.interactive = 200 * time.Millisecond
	if _, err, _ := forward(t, st.s, ctx, "textDocument/hover", docParams(hang, 0, 0)); !errors.Is(err, protocol.ErrPluginTimeout) || !strings.Contains(err.Error(), "gamma") {
		t.Fatalf("hung hover = %v; want plugin_timeout naming gamma", err)
	}
	st.h.deadlines.interactive = 20 * time.Second
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err, _ := forward(t, st.s, cctx, "textDocument/hover", docParams(hang, 0, 0)); !errors.Is(err, protocol.ErrRequestCancelled) {
		t.Fatalf("cancelled hover = %v", err)
	}

	// A crash fails the forwarded request; the plugin comes back and takes
	// requests again.
	bomb := "file://" + ws + "/bomb.gamma"
	st.s.DidOpen(ctx, bomb, "gamma", 1, "crash\n")
	if _, err, _ := forward(t, st.s, ctx, "textDocument/hover", docParams(bomb, 0, 0)); !errors.Is(err, protocol.ErrPluginCrashed) {
		t.Fatalf("hover on crash = %v", err)
	}
	st.s.DidClose(ctx, bomb)
	eventually(t, "gamma running again", func() bool { return forwardable(st.s.existing("gamma")) })
	eventually(t, "forwarded hover after the restart", func() bool {
		res, err, taken := forward(t, st.s, ctx, "textDocument/hover", docParams(doc, 0, 0))
		return taken && err == nil && strings.Contains(string(res), "gamma: bye")
	})
}

// A session whose editor speaks another position encoding than the plugin
// needs its positions converted: Forward leaves that to Request.
func TestForwardDeclinesOtherEncoding(t *testing.T) {
	st, ws := launchedSetup(t, Config{Builtins: []string{"gamma"}})
	st.h.deadlines.interactive = 20 * time.Second
	ctx := context.Background()
	s := st.h.NewSession(SessionConfig{Client: st.client, Folders: st.s.cfg.Folders, Encoding: "utf-8"})
	defer s.Close()
	doc := "file://" + ws + "/a.gamma"
	s.DidOpen(ctx, doc, "gamma", 1, "hello\n")
	if _, err := s.Request(ctx, "textDocument/hover", mustJSON(t, docParams(doc, 0, 0))); err != nil {
		t.Fatal(err)
	}
	if _, _, taken := forward(t, s, ctx, "textDocument/hover", docParams(doc, 0, 0)); taken {
		t.Fatal("Forward took a request whose positions need converting")
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDocumentURI(t *testing.T) {
	for _, c := range []struct{ params, uri string }{
		{`{"textDocument":{"uri":"file:///a.go"},"position":{"line":1,"character":2}}`, "file:///a.go"},
		{`{"textDocument":{"uri":"file:///a.go","version":3}}`, "file:///a.go"},
		{`{"position":{"line":1},"textDocument":{"uri":"file:///b.go"}}`, "file:///b.go"},
		{`{"textDocument":{"uri":"file:///a\u0020b.go"}}`, "file:///a b.go"},
		{`{"textDocument":{"uri":"file:///a.go"},"textDocument":{"uri":"file:///c.go"}}`, "file:///c.go"},
		{`{"textDocument":{"uri":""}}`, ""},
		{`[1]`, ""},
		// Any key order and whitespace, as Neovim and json.Marshal of a map write them.
		{`{"context":{"includeDeclaration":true},"position":{"character":2,"line":1},"textDocument":{"uri":"file:///d.go"}}`, "file:///d.go"},
		{` { "position" : [1, "}\"{"] , "textDocument" : { "version" : 2 , "uri" : "file:///e.go" } } `, "file:///e.go"},
		// Names a decoder matches that the bytes do not say: decoded.
		{`{"TextDocument":{"uri":"file:///f.go"}}`, "file:///f.go"},
		{`{"textDocument":{"uri":"file:///a.go"},"TEXTDOCUMENT":{"uri":"file:///g.go"}}`, "file:///g.go"},
		{`{"text\u0044ocument":{"uri":"file:///h.go"}}`, "file:///h.go"},
		{`{"textDocument":{"URI":"file:///i.go"}}`, "file:///i.go"},
		{`{"textDocument":{"uri":"file:///a.go","uri":"file:///j.go"}}`, "file:///j.go"},
		{`{"textDocument":null}`, ""},
		{`{"textDocument":{"uri":3}}`, ""},
	} {
		got, ok := documentURI(json.RawMessage(c.params))
		if got != c.uri || ok != (c.uri != "") {
			t.Errorf("%s: %q, %v; want %q", c.params, got, ok, c.uri)
		}
	}
}

// FuzzDocumentURI checks that reading the uri off the bytes always gives
// what decoding gives.
func FuzzDocumentURI(f *testing.F) {
	for _, s := range []string{
		`{"textDocument":{"uri":"file:///a.go"},"position":{"line":1,"character":2}}`,
		`{"position":{"line":1},"textDocument":{"uri":"file:///b.go"}}`,
		`{"textDocument":{"uri":"file:///a.go"},"TEXTDOCUMENT":{"uri":"file:///g.go"}}`,
		`{"textDocument":{"uri":"file:///\u00e9.go"}}`,
		"{\"textDocument\":{\"uri\":\"file:///\xff.go\"}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		if !json.Valid(params) {
			return // the server has checked params before they get here
		}
		var p struct {
			TextDocument struct {
				URI string `json:"uri"`
			} `json:"textDocument"`
		}
		err := json.Unmarshal(params, &p)
		want, wantOK := p.TextDocument.URI, err == nil && p.TextDocument.URI != ""
		if got, ok := documentURI(params); ok != wantOK || (ok && got != want) {
			t.Errorf("%s: %q, %v; decoding gives %q, %v", params, got, ok, want, wantOK)
		}
	})
}

// forwardable reports whether Forward would find pi ready.
func forwardable(pi *pluginInstance) bool {
	inst, _, _, _, ok := pi.forwardView()
	_, canForward := inst.(forwarder)
	return ok && canForward && inst.Status().State == string(launch.StateRunning)
}

// Forward methods are the document requests one plugin answers as sent,
// and an instance's mask holds exactly those its capabilities declare.
func TestForwardMethods(t *testing.T) {
	for _, method := range []string{"textDocument/formatting", "textDocument/rename", "textDocument/codeAction",
		"completionItem/resolve", "workspace/symbol", "workspace/executeCommand", "textDocument/unknown"} {
		if _, ok := ForwardMethodOf(method); ok {
			t.Errorf("%s is a forward method", method)
		}
	}
	hover, ok := ForwardMethodOf("textDocument/hover")
	completion, ok2 := ForwardMethodOf("textDocument/completion")
	if !ok || !ok2 || hover.bit == completion.bit {
		t.Fatalf("hover %v %v, completion %v %v", hover, ok, completion, ok2)
	}
	mask := forwardsOf(map[string]any{"hoverProvider": true, "completionProvider": map[string]any{}, "definitionProvider": false})
	def, _ := ForwardMethodOf("textDocument/definition")
	if mask&hover.bit == 0 || mask&completion.bit == 0 || mask&def.bit != 0 || mask&^(hover.bit|completion.bit) != 0 {
		t.Errorf("mask %b: hover %b, completion %b, definition %b", mask, hover.bit, completion.bit, def.bit)
	}
}
