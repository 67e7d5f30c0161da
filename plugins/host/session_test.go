package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/sdk"
	"github.com/gathering-dev/gathering/protocol"
)

func TestPluginsStartLazilyAndGetTheirDocuments(t *testing.T) {
	alpha, _ := twoPlugins()
	py := &testPlugin{name: "snake", langs: []string{"python"}, sync: syncFull}
	st := newSetup(t, "utf-16", alpha, py)
	ctx := context.Background()
	if n := len(st.s.instances()); n != 0 {
		t.Fatalf("%d instances before any document opened", n)
	}
	// Matched by glob although the editor calls it plaintext.
	st.s.DidOpen(ctx, "file:///ws/pkg/a.go", "plaintext", 3, "package pkg\n")
	st.s.DidOpen(ctx, "file:///ws/README.md", "markdown", 1, "# hi\n")
	<-st.started
	eventually(t, "didOpen", func() bool { return alpha.text("file:///ws/pkg/a.go") == "package pkg\n" })
	if st.s.existing("snake") != nil {
		t.Fatal("the python plugin started without a python document")
	}
	var init map[string]any
	alpha.mu.Lock()
	json.Unmarshal(alpha.init, &init)
	alpha.mu.Unlock()
	if init["rootUri"] != "file:///ws" || fmt.Sprint(init["workspaceFolders"]) != "[map[name:ws uri:file:///ws]]" || init["processId"] != nil {
		t.Fatalf("initialize params %v", init)
	}
	if _, ok := init["initializationOptions"]; ok {
		t.Fatal("initializationOptions sent")
	}
	caps := init["capabilities"].(map[string]any)
	if enc := caps["general"].(map[string]any)["positionEncodings"]; fmt.Sprint(enc) != "[utf-16]" {
		t.Fatalf("positionEncodings %v for a utf-16 session", enc)
	}
	if strings.Contains(fmt.Sprint(caps), "dynamicRegistration:true") {
		t.Fatal("client capabilities offer dynamic registration")
	}
	if got := alpha.log(); fmt.Sprint(got) != "[didOpen file:///ws/pkg/a.go 3]" {
		t.Fatalf("alpha received %v", got)
	}
}

func TestChangesForwardedIncrementallyOrInFull(t *testing.T) {
	alpha, beta := twoPlugins() // alpha incremental, beta full
	st := newSetup(t, "utf-16", alpha, beta)
	ctx := context.Background()
	st.s.DidOpen(ctx, goURI, "go", 1, "package main\n")
	<-st.started
	<-st.started
	eventually(t, "didOpen", func() bool { return alpha.text(goURI) != "" && beta.text(goURI) != "" })
	calls := 0
	text := func() string { calls++; return "package mainly\n" }
	st.s.DidChange(ctx, goURI, 2, []Change{{Range: &Range{Start: Position{0, 12}, End: Position{0, 12}}, Text: "ly"}}, text)
	if calls != 1 {
		t.Fatalf("text() called %d times, want once", calls)
	}
	st.s.DidSave(ctx, goURI)
	eventually(t, "the save", func() bool {
		return len(alpha.log()) == 3 && len(beta.log()) == 3
	})
	if got := alpha.log()[1]; got != "didChange file:///ws/main.go 2 incremental" || alpha.text(goURI) != "package mainly\n" {
		t.Fatalf("alpha got %q and has %q", got, alpha.text(goURI))
	}
	if got := beta.log()[1]; got != "didChange file:///ws/main.go 2 full" || beta.text(goURI) != "package mainly\n" {
		t.Fatalf("beta got %q and has %q", got, beta.text(goURI))
	}
	if got := alpha.log()[2]; got != "didSave file:///ws/main.go text=true" {
		t.Fatalf("alpha got %q", got)
	}
	st.s.DidClose(ctx, goURI)
	eventually(t, "didClose", func() bool { return len(alpha.log()) == 4 && len(beta.log()) == 4 })
	if alpha.log()[3] != "didClose "+goURI {
		t.Fatalf("alpha got %v", alpha.log())
	}
}

func TestOversizeDocumentsAreNotSent(t *testing.T) {
	alpha, _ := twoPlugins()
	alpha.caps["hoverProvider"] = true
	alpha.requests["textDocument/hover"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return map[string]any{"contents": "x"}, nil
	}
	st := newSetup(t, "utf-16", alpha)
	st.h.cfg.MaxDocumentBytes = 100
	ctx := context.Background()
	big := "package main\n" + strings.Repeat("// padding\n", 20)
	st.s.DidOpen(ctx, "file:///ws/small.go", "go", 1, "package main\n")
	st.s.DidOpen(ctx, goURI, "go", 1, big)
	<-st.started
	eventually(t, "the small document", func() bool { return alpha.text("file:///ws/small.go") != "" })
	raw, _ := json.Marshal(docParams(goURI, 0, 0))
	if res, err := st.s.Request(ctx, "textDocument/hover", raw); err != nil || string(res) != "null" {
		t.Fatalf("hover on an oversize document = %s, %v; want null", res, err)
	}
	// Shrinking it below the limit sends it; growing it again closes it.
	st.s.DidChange(ctx, goURI, 2, []Change{{Text: "package main\n"}}, func() string { return "package main\n" })
	eventually(t, "didOpen after shrinking", func() bool { return alpha.text(goURI) == "package main\n" })
	st.s.DidChange(ctx, goURI, 3, []Change{{Text: big}}, func() string { return big })
	eventually(t, "didClose after growing", func() bool { return strings.HasPrefix(alpha.log()[len(alpha.log())-1], "didClose") })
	for _, l := range alpha.log() {
		if strings.Contains(l, "main.go 3") {
			t.Fatalf("the oversize version reached the plugin: %v", alpha.log())
		}
	}
}

func TestDiagnosticsMergedCappedAndCleared(t *testing.T) {
	alpha, beta := twoPlugins()
	st := newSetup(t, "utf-16", alpha, beta)
	ctx := context.Background()
	st.s.DidOpen(ctx, goURI, "go", 1, "package main // diags:1500\n")
	first := <-st.started
	second := <-st.started
	eventually(t, "both plugins' diagnostics", func() bool { return len(st.client.diags(goURI)) == MaxDiagnosticsPerURI })
	var alphas, betas int
	for i, d := range st.client.diags(goURI) {
		var m struct{ Source string }
		json.Unmarshal(d, &m)
		switch m.Source {
		case "alpha":
			alphas++
			if i >= 1500 {
				t.Fatal("alpha's diagnostics must come first, in plugin order")
			}
		case "beta":
			betas++
		}
	}
	if alphas != 1500 || betas != 500 {
		t.Fatalf("merged %d of alpha's and %d of beta's; want 1500 and 500 (capped at 2000)", alphas, betas)
	}
	// A plugin that publishes more than the cap is cut at the cap.
	st.s.DidOpen(ctx, "file:///ws/flood.go", "go", 1, "diags:2500\n")
	eventually(t, "flood", func() bool { return len(st.client.diags("file:///ws/flood.go")) == MaxDiagnosticsPerURI })

	// The crash of one plugin clears its diagnostics, not the other's.
	alphaInst := first
	if alphaInst.name != "alpha" {
		alphaInst = second
	}
	alphaInst.crash(false)
	eventually(t, "alpha's diagnostics cleared", func() bool { return len(st.client.diags(goURI)) == 1500 })
	for _, d := range st.client.diags(goURI) {
		if strings.Contains(string(d), `"source":"alpha"`) {
			t.Fatal("alpha's diagnostics survived its crash")
		}
	}
	// Closing the document clears the rest.
	st.s.DidClose(ctx, goURI)
	eventually(t, "no diagnostics after close", func() bool { return len(st.client.diags(goURI)) == 0 })
	if got := st.client.notifications("textDocument/publishDiagnostics"); !strings.Contains(string(got[len(got)-1]), `"diagnostics":[]`) {
		t.Fatalf("last publish %s; want an empty list", got[len(got)-1])
	}
}

func TestRestartedPluginGetsDocumentsBack(t *testing.T) {
	alpha, _ := twoPlugins()
	alpha.caps["hoverProvider"] = true
	alpha.requests["textDocument/hover"] = func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
		<-ctx.Done() // answers only when cancelled or the session ends
		return nil, ctx.Err()
	}
	st := newSetup(t, "utf-16", alpha)
	ctx := context.Background()
	st.s.DidOpen(ctx, goURI, "go", 1, "package main // diags:3\n")
	st.s.DidOpen(ctx, "file:///ws/b.go", "go", 7, "package main\n")
	inst := <-st.started
	eventually(t, "diagnostics", func() bool { return len(st.client.diags(goURI)) == 3 })
	st.s.DidChange(ctx, goURI, 2, []Change{{Text: "package main // diags:2\n"}}, func() string { return "package main // diags:2\n" })
	eventually(t, "new diagnostics", func() bool { return len(st.client.diags(goURI)) == 2 })

	errc := make(chan error, 1)
	go func() { errc <- st.request(t, "textDocument/hover", docParams(goURI, 0, 0), nil) }()
	time.Sleep(100 * time.Millisecond)
	go inst.crash(true)
	select {
	case err := <-errc:
		if !errors.Is(err, protocol.ErrPluginCrashed) || !strings.Contains(err.Error(), "alpha") {
			t.Fatalf("in-flight hover failed with %v; want plugin_crashed naming alpha", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight hover not failed by the crash")
	}
	eventually(t, "diagnostics cleared by the crash", func() bool { return len(st.client.diags(goURI)) == 0 })
	eventually(t, "the restart", func() bool { alpha.mu.Lock(); defer alpha.mu.Unlock(); return alpha.inits == 2 })
	eventually(t, "diagnostics back", func() bool { return len(st.client.diags(goURI)) == 2 })
	eventually(t, "didOpen replayed", func() bool { return alpha.text("file:///ws/b.go") == "package main\n" })
	got := fmt.Sprint(alpha.log())
	if !strings.Contains(got, "didOpen file:///ws/main.go 2") || !strings.Contains(got, "didOpen file:///ws/b.go 7") {
		t.Fatalf("after restart the plugin got %s; want both documents at their current versions", got)
	}
}

func TestServerCapabilitiesNeverOverAdvertise(t *testing.T) {
	alpha, beta := twoPlugins()
	// alpha's manifest claims hover and formatting; its initialize answers
	// neither. beta's claims references and really serves it.
	alpha.advisory = []string{"hover", "formatting", "completion", "semanticTokens"}
	beta.advisory = []string{"references"}
	beta.caps["referencesProvider"] = true
	alpha.requests["textDocument/hover"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return map[string]any{"contents": "should not be asked"}, nil
	}
	st := newSetup(t, "utf-8", alpha, beta)
	before := st.s.ServerCapabilities()
	for _, k := range []string{"hoverProvider", "documentFormattingProvider", "completionProvider", "referencesProvider", "semanticTokensProvider"} {
		if before[k] == nil {
			t.Errorf("before start: %s missing though a manifest claims it", k)
		}
	}
	for _, k := range []string{"renameProvider", "executeCommandProvider", "definitionProvider", "diagnosticProvider"} {
		if before[k] != nil {
			t.Errorf("before start: %s advertised", k)
		}
	}
	if before["positionEncoding"] != "utf-8" {
		t.Errorf("positionEncoding %v", before["positionEncoding"])
	}
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	<-st.started
	<-st.started
	after := st.s.ServerCapabilities()
	if after["hoverProvider"] != nil || after["documentFormattingProvider"] != nil || after["semanticTokensProvider"] != nil {
		t.Errorf("after initialize: %v; alpha's real capabilities lack hover, formatting and semantic tokens", after)
	}
	cp := after["completionProvider"].(map[string]any)
	if fmt.Sprint(cp["triggerCharacters"]) != "[. :]" || cp["resolveProvider"] != true {
		t.Errorf("completionProvider %v; want both plugins' trigger characters", cp)
	}
	raw, _ := json.Marshal(docParams(goURI, 0, 0))
	if res, err := st.s.Request(context.Background(), "textDocument/hover", raw); err != nil || string(res) != "null" {
		t.Errorf("hover = %s, %v; want null, as no plugin really serves it", res, err)
	}
}

func TestPluginTrafficToTheEditor(t *testing.T) {
	var answers atomic.Value
	alpha := &testPlugin{name: "alpha", langs: []string{"go"}, sync: syncFull, encoding: "utf-8",
		caps: map[string]any{"hoverProvider": true},
		requests: map[string]sdk.Handler{
			"textDocument/hover": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
				var out []string
				c.Notify(ctx, "window/logMessage", map[string]any{"type": 3, "message": "hello"})
				c.Notify(ctx, "window/showMessage", map[string]any{"type": 2, "message": "careful"})
				var cfg []any
				err := c.Call(ctx, "workspace/configuration", map[string]any{"items": []any{map[string]any{"section": "a"}, map[string]any{"section": "b"}}}, &cfg)
				out = append(out, fmt.Sprintf("configuration %v %v", cfg, err))
				c.Call(ctx, "window/workDoneProgress/create", map[string]any{"token": 7}, nil)
				c.Notify(ctx, "$/progress", map[string]any{"token": 7, "value": map[string]any{"kind": "begin", "title": "indexing"}})
				var applied map[string]any
				err = c.Call(ctx, "workspace/applyEdit", map[string]any{"edit": map[string]any{"changes": map[string]any{goURI: []any{
					map[string]any{"range": map[string]any{"start": map[string]any{"line": 0, "character": 6}, "end": map[string]any{"line": 0, "character": 7}}, "newText": "x"}}}}}, &applied)
				out = append(out, fmt.Sprintf("applyEdit %v %v", applied, err))
				err = c.Call(ctx, "workspace/inventedMethod", nil, nil)
				out = append(out, fmt.Sprintf("invented %v", err))
				answers.Store(out)
				return nil, nil
			},
		}}
	st := newSetup(t, "utf-16", alpha)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "é😀ab\n")
	if err := st.request(t, "textDocument/hover", docParams(goURI, 0, 0), nil); err != nil {
		t.Fatal(err)
	}
	out := answers.Load().([]string)
	if out[0] != "configuration [<nil> <nil>] <nil>" || out[1] != "applyEdit map[applied:true] <nil>" ||
		!strings.Contains(out[2], "-32601") {
		t.Fatalf("plugin got %q", out)
	}
	if m := st.client.notifications("window/logMessage"); len(m) != 1 || !strings.Contains(string(m[0]), `"message":"alpha: hello"`) {
		t.Fatalf("logMessage %s", m)
	}
	if m := st.client.notifications("window/showMessage"); len(m) != 1 || !strings.Contains(string(m[0]), `"message":"alpha: careful"`) {
		t.Fatalf("showMessage %s", m)
	}
	if m := st.client.notifications("$/progress"); len(m) != 1 || !strings.Contains(string(m[0]), `"token":"alpha/7"`) {
		t.Fatalf("$/progress %s", m)
	}
	st.client.mu.Lock()
	calls := st.client.calls
	st.client.mu.Unlock()
	var edit string
	for _, c := range calls {
		if c.method == "workspace/applyEdit" {
			edit = string(c.params)
		}
	}
	// UTF-8 6..7 is "a" after é (2 bytes) and 😀 (4): UTF-16 3..4.
	if !strings.Contains(edit, `"end":{"character":4,"line":0},"start":{"character":3,"line":0}`) {
		t.Fatalf("applyEdit reached the editor as %s; want UTF-16 positions", edit)
	}
}

func TestHostPluginsReportsInstances(t *testing.T) {
	alpha, _ := twoPlugins()
	st := newSetup(t, "utf-16", alpha)
	st.h.plugins = append(st.h.plugins, &plugin{name: "bad", source: "/plugins/bad", refused: errors.New("signature: no trusted key")})
	list := st.h.Plugins()
	if len(list) != 2 || list[0].State != StateStopped || list[1].State != StateRefused || !strings.Contains(list[1].Reason, "signature") {
		t.Fatalf("before start: %+v", list)
	}
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	<-st.started
	s2 := st.h.NewSession(SessionConfig{Client: newFakeClient()})
	s2.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	<-st.started
	list = st.h.Plugins()
	if a := list[0]; a.State != StateRunning || len(a.Instances) != 2 || a.Version != "1.0.0" || a.Languages[0] != "go" {
		t.Fatalf("alpha: %+v", a)
	}
	s2.Close()
	if a := st.h.Plugins()[0]; len(a.Instances) != 1 {
		t.Fatalf("after one session closed: %+v", a)
	}
	if err := st.h.Close(); err != nil {
		t.Fatal(err)
	}
	if a := st.h.Plugins()[0]; len(a.Instances) != 0 {
		t.Fatalf("after Close: %+v", a)
	}
}

func TestGlobs(t *testing.T) {
	for _, c := range []struct {
		glob, name string
		want       bool
	}{
		{"**/*.go", "main.go", true},
		{"**/*.go", "a/b/c.go", true},
		{"**/*.go", "a/b/c.gox", false},
		{"**/go.mod", "x/go.mod", true},
		{"cmd/*.go", "cmd/a.go", true},
		{"cmd/*.go", "cmd/x/a.go", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
	} {
		if got := matchGlob(c.glob, c.name); got != c.want {
			t.Errorf("matchGlob(%q, %q) = %v", c.glob, c.name, got)
		}
	}
	if got := relativeName("/ws/sub/a.go", []Folder{{Path: "/ws"}, {Path: "/ws/sub"}}); got != "a.go" {
		t.Errorf("relativeName = %q", got)
	}
}

func TestReopenedDocumentIsSentAgain(t *testing.T) {
	alpha, _ := twoPlugins()
	st := newSetup(t, "utf-16", alpha)
	ctx := context.Background()
	st.s.DidOpen(ctx, goURI, "go", 1, "package a\n")
	<-st.started
	st.s.DidOpen(ctx, goURI, "go", 1, "package b\n")
	eventually(t, "the second opening", func() bool { return alpha.text(goURI) == "package b\n" })
	if got := fmt.Sprint(alpha.log()); got != "[didOpen file:///ws/main.go 1 didClose file:///ws/main.go didOpen file:///ws/main.go 1]" {
		t.Fatalf("plugin got %s", got)
	}
}

func TestPluginThatFailsToStart(t *testing.T) {
	alpha, _ := twoPlugins()
	alpha.caps["hoverProvider"] = true
	alpha.requests["initialize"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return nil, &sdk.Error{Code: -32603, Message: "cannot find go"}
	}
	st := newSetup(t, "utf-16", alpha)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	err := st.request(t, "textDocument/hover", docParams(goURI, 0, 0), nil)
	if !errors.Is(err, protocol.ErrPluginUnavailable) || !strings.Contains(err.Error(), "alpha") || !strings.Contains(err.Error(), "cannot find go") {
		t.Fatalf("hover = %v; want plugin_unavailable naming alpha and why", err)
	}
	eventually(t, "the editor told", func() bool { return len(st.client.notifications("window/showMessage")) == 1 })
	if s := st.h.Plugins()[0]; s.State != StateStopped || !strings.Contains(s.Reason, "cannot find go") {
		t.Fatalf("status %+v", s)
	}
	// A later document tries again, once the retry delay has passed.
	st.s.DidOpen(context.Background(), "file:///ws/b.go", "go", 1, "package main\n")
	if err := st.request(t, "textDocument/hover", docParams(goURI, 0, 0), nil); !errors.Is(err, protocol.ErrPluginUnavailable) {
		t.Fatalf("hover right after = %v; want no retry yet", err)
	}
	defer func(d time.Duration) { startRetryAfter = d }(startRetryAfter)
	startRetryAfter = 0
	delete(alpha.requests, "initialize") // the cause is gone
	st.s.DidOpen(context.Background(), "file:///ws/c.go", "go", 1, "package main\n")
	eventually(t, "the plugin started", func() bool { return st.h.Plugins()[0].State == StateRunning })
	eventually(t, "all three documents", func() bool {
		return alpha.text(goURI) != "" && alpha.text("file:///ws/b.go") != "" && alpha.text("file:///ws/c.go") != ""
	})
}

func TestCommandsRegisteredWhenTheEditorAllows(t *testing.T) {
	alpha, beta := twoPlugins()
	client := newFakeClient()
	h := newHost(Config{}, []*plugin{alpha.plugin(t, nil), beta.plugin(t, nil)}, nil)
	defer h.Close()
	s := h.NewSession(SessionConfig{Client: client, Encoding: "utf-16",
		ClientCapabilities: json.RawMessage(`{"workspace":{"executeCommand":{"dynamicRegistration":true}}}`)})
	if caps := s.ServerCapabilities(); caps["executeCommandProvider"] != nil {
		t.Fatalf("commands advertised before any plugin started: %v", caps["executeCommandProvider"])
	}
	s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	registrations := func() []string {
		client.mu.Lock()
		defer client.mu.Unlock()
		var out []string
		for _, c := range client.calls {
			if c.method == "client/registerCapability" {
				out = append(out, string(c.params))
			}
		}
		return out
	}
	eventually(t, "two registrations", func() bool { return len(registrations()) == 2 })
	got := strings.Join(registrations(), "\n")
	for _, want := range []string{`"commands":["alpha.after","alpha.fix"]`, `"commands":["beta.after","beta.fix"]`, `"method":"workspace/executeCommand"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("registrations %s lack %s", got, want)
		}
	}
	// The plugins' client capabilities still offer no dynamic registration.
	alpha.mu.Lock()
	init := string(alpha.init)
	alpha.mu.Unlock()
	if !strings.Contains(init, `"executeCommand":{"dynamicRegistration":false}`) {
		t.Fatalf("initialize params %s", init)
	}

	// An editor without dynamic registration gets none.
	client2 := newFakeClient()
	s2 := h.NewSession(SessionConfig{Client: client2})
	s2.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	eventually(t, "the second session's plugins", func() bool {
		a, _ := s2.instanceStatus("alpha")
		b, _ := s2.instanceStatus("beta")
		return a.State == StateRunning && b.State == StateRunning
	})
	s2.Close()
	for _, c := range client2.calls {
		if c.method == "client/registerCapability" {
			t.Fatal("registered with an editor that cannot take it")
		}
	}
}

func TestLaterSessionsAdvertiseWhatPluginsAnswered(t *testing.T) {
	alpha, _ := twoPlugins()
	alpha.advisory = []string{"completion", "hover"} // hover: claimed, not served
	st := newSetup(t, "utf-16", alpha)
	if cp := st.s.ServerCapabilities()["completionProvider"].(map[string]any); cp["triggerCharacters"] != nil {
		t.Fatalf("first session, before start: %v; the manifest names no trigger characters", cp)
	}
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	<-st.started
	s2 := st.h.NewSession(SessionConfig{Client: newFakeClient()})
	defer s2.Close()
	caps := s2.ServerCapabilities()
	if cp := caps["completionProvider"].(map[string]any); fmt.Sprint(cp["triggerCharacters"]) != "[.]" {
		t.Fatalf("second session: completionProvider %v; want alpha's answer from the first", cp)
	}
	if caps["hoverProvider"] != nil || caps["executeCommandProvider"] == nil {
		t.Fatalf("second session: %v", caps)
	}
}

// TestProgressWithoutEditorSupport: an editor that takes no progress is
// never asked to create a token; the plugin is told yes at once (gopls
// waits for that answer before loading the workspace) and its progress is
// dropped.
func TestProgressWithoutEditorSupport(t *testing.T) {
	var created atomic.Value
	alpha := &testPlugin{name: "alpha", langs: []string{"go"}, sync: syncFull, encoding: "utf-16",
		caps: map[string]any{"hoverProvider": true},
		requests: map[string]sdk.Handler{
			"textDocument/hover": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
				err := c.Call(ctx, "window/workDoneProgress/create", map[string]any{"token": 7}, nil)
				created.Store(fmt.Sprint(err))
				c.Notify(ctx, "$/progress", map[string]any{"token": 7, "value": map[string]any{"kind": "begin", "title": "indexing"}})
				return map[string]any{"contents": "ok"}, nil
			},
		}}
	st := newSetupWith(t, "utf-16", json.RawMessage(`{}`), alpha)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package a\n")
	if err := st.request(t, "textDocument/hover", docParams(goURI, 0, 0), nil); err != nil {
		t.Fatal(err)
	}
	if got := created.Load(); got != "<nil>" {
		t.Errorf("create answered %v, want success", got)
	}
	st.client.mu.Lock()
	calls := st.client.calls
	st.client.mu.Unlock()
	for _, c := range calls {
		if c.method == "window/workDoneProgress/create" {
			t.Errorf("the editor was asked to create a progress token it cannot show")
		}
	}
	if m := st.client.notifications("$/progress"); len(m) != 0 {
		t.Errorf("$/progress forwarded to an editor without progress: %s", m)
	}
}
