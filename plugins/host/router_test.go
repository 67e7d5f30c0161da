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

const goURI = "file:///ws/main.go"

// completer answers completion with n items labelled by the plugin, each
// with data {"i": k}, and resolves an item by adding detail from its data.
func completer(name string, n int, incomplete bool) map[string]sdk.Handler {
	return map[string]sdk.Handler{
		"textDocument/completion": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			items := make([]any, n)
			for k := range items {
				items[k] = map[string]any{"label": fmt.Sprintf("%s%d", name, k), "data": map[string]any{"i": k},
					"command": map[string]any{"title": "t", "command": "after"}}
			}
			return map[string]any{"isIncomplete": incomplete, "items": items}, nil
		},
		"completionItem/resolve": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			var item map[string]any
			json.Unmarshal(params, &item)
			item["detail"] = fmt.Sprintf("resolved by %s from data %v command %v", name, item["data"], item["command"].(map[string]any)["command"])
			return item, nil
		},
	}
}

func twoPlugins() (alpha, beta *testPlugin) {
	alpha = &testPlugin{name: "alpha", langs: []string{"go"}, sync: syncIncremental,
		caps: map[string]any{"completionProvider": map[string]any{"resolveProvider": true, "triggerCharacters": []any{"."}},
			"executeCommandProvider": map[string]any{"commands": []any{"after", "fix"}}},
		requests: completer("alpha", 3, false)}
	beta = &testPlugin{name: "beta", langs: []string{"go"}, sync: syncFull,
		caps: map[string]any{"completionProvider": map[string]any{"resolveProvider": true, "triggerCharacters": []any{":"}},
			"executeCommandProvider": map[string]any{"commands": []any{"after", "fix"}}},
		requests: completer("beta", 2, false)}
	return alpha, beta
}

func TestCompletionMergedTaggedAndResolvedByOrigin(t *testing.T) {
	alpha, beta := twoPlugins()
	st := newSetup(t, "utf-16", alpha, beta)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")

	var list struct {
		IsIncomplete bool             `json:"isIncomplete"`
		Items        []map[string]any `json:"items"`
	}
	if err := st.request(t, "textDocument/completion", docParams(goURI, 0, 3), &list); err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, it := range list.Items {
		labels = append(labels, it["label"].(string))
	}
	if got := strings.Join(labels, " "); got != "alpha0 alpha1 alpha2 beta0 beta1" || list.IsIncomplete {
		t.Fatalf("merged completion = %q incomplete=%v, want alpha's items then beta's, complete", got, list.IsIncomplete)
	}
	beta1 := list.Items[4]
	data := beta1["data"].(map[string]any)
	if data[tagPlugin] != "beta" || data[tagURI] != goURI {
		t.Fatalf("beta1 data = %v, want tagged with beta and the document", data)
	}
	if cmd := beta1["command"].(map[string]any)["command"]; cmd != "beta.after" {
		t.Fatalf("beta1 command = %v, want beta.after", cmd)
	}

	var resolved map[string]any
	if err := st.request(t, "completionItem/resolve", beta1, &resolved); err != nil {
		t.Fatal(err)
	}
	if d := resolved["detail"]; d != "resolved by beta from data map[i:1] command after" {
		t.Fatalf("resolve detail = %q: beta must get its own data and command back", d)
	}
	if d := resolved["data"].(map[string]any); d[tagPlugin] != "beta" {
		t.Fatalf("resolved item data = %v, want it tagged again", d)
	}
	if cmd := resolved["command"].(map[string]any)["command"]; cmd != "beta.after" {
		t.Fatalf("resolved command = %v, want beta.after", cmd)
	}

	// An item no plugin tagged comes back as it is.
	var same map[string]any
	if err := st.request(t, "completionItem/resolve", map[string]any{"label": "x"}, &same); err != nil || same["label"] != "x" || len(same) != 1 {
		t.Fatalf("untagged resolve = %v, %v; want the item unchanged", same, err)
	}
}

func TestCompletionCapped(t *testing.T) {
	alpha, beta := twoPlugins()
	alpha.requests = completer("alpha", 3000, false)
	beta.requests = completer("beta", 3000, false)
	st := newSetup(t, "utf-16", alpha, beta)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	var list struct {
		IsIncomplete bool             `json:"isIncomplete"`
		Items        []map[string]any `json:"items"`
	}
	if err := st.request(t, "textDocument/completion", docParams(goURI, 0, 0), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != MaxCompletionItems || !list.IsIncomplete {
		t.Fatalf("got %d items incomplete=%v; want %d, incomplete", len(list.Items), list.IsIncomplete, MaxCompletionItems)
	}
	if list.Items[2999]["label"] != "alpha2999" || list.Items[3000]["label"] != "beta0" {
		t.Fatal("capped list must keep plugin order")
	}
	// A plugin's own incompleteness carries over.
	beta.requests = completer("beta", 1, true)
	alpha.requests = completer("alpha", 1, false)
	st2 := newSetup(t, "utf-16", alpha, beta)
	st2.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	if err := st2.request(t, "textDocument/completion", docParams(goURI, 0, 0), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || !list.IsIncomplete {
		t.Fatalf("got %d items incomplete=%v; want 2, incomplete because beta was", len(list.Items), list.IsIncomplete)
	}
}

func TestHoverFromFirstPluginAnsweringNonNull(t *testing.T) {
	alpha, beta := twoPlugins()
	hover := func(name string) sdk.Handler {
		return func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			if strings.Contains(string(params), `"line":1`) && name == "alpha" {
				return nil, nil
			}
			return map[string]any{"contents": name}, nil
		}
	}
	alpha.caps["hoverProvider"] = true
	beta.caps["hoverProvider"] = true
	alpha.requests["textDocument/hover"] = hover("alpha")
	beta.requests["textDocument/hover"] = hover("beta")
	st := newSetup(t, "utf-16", alpha, beta)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n\nfunc main() {}\n")
	var h struct{ Contents string }
	if err := st.request(t, "textDocument/hover", docParams(goURI, 0, 0), &h); err != nil || h.Contents != "alpha" {
		t.Fatalf("hover = %+v, %v; want alpha's, the first plugin", h, err)
	}
	if err := st.request(t, "textDocument/hover", docParams(goURI, 1, 0), &h); err != nil || h.Contents != "beta" {
		t.Fatalf("hover = %+v, %v; want beta's when alpha answers null", h, err)
	}
}

func TestFormattingAndRenameFromOneOwner(t *testing.T) {
	alpha, beta := twoPlugins()
	edits := func(name string) sdk.Handler {
		return func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			return []any{map[string]any{"range": map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 0, "character": 0}}, "newText": name}}, nil
		}
	}
	// alpha is first but does not format; beta formats; both rename,
	// alpha without prepareRename.
	beta.caps["documentFormattingProvider"] = true
	beta.requests["textDocument/formatting"] = edits("beta")
	alpha.caps["renameProvider"] = true
	beta.caps["renameProvider"] = map[string]any{"prepareProvider": true}
	alpha.requests["textDocument/rename"] = func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
		return map[string]any{"changes": map[string]any{goURI: []any{}}}, nil
	}
	var betaRenamed atomic.Bool
	beta.requests["textDocument/rename"] = func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
		betaRenamed.Store(true)
		return nil, nil
	}
	st := newSetup(t, "utf-16", alpha, beta)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	var got []map[string]any
	if err := st.request(t, "textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": goURI}, "options": map[string]any{"tabSize": 4, "insertSpaces": false}}, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["newText"] != "beta" {
		t.Fatalf("formatting = %v, want beta's single edit", got)
	}
	var we map[string]any
	if err := st.request(t, "textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": goURI}, "position": map[string]any{"line": 0, "character": 9}, "newName": "x"}, &we); err != nil {
		t.Fatal(err)
	}
	if we["changes"] == nil || betaRenamed.Load() {
		t.Fatalf("rename = %v (beta asked: %v); want alpha's only", we, betaRenamed.Load())
	}
	var pr map[string]any
	if err := st.request(t, "textDocument/prepareRename", docParams(goURI, 0, 9), &pr); err != nil || pr["defaultBehavior"] != true {
		t.Fatalf("prepareRename = %v, %v; want defaultBehavior, as the owner does not prepare", pr, err)
	}
}

func TestListsConcatenatedWithoutDuplicates(t *testing.T) {
	alpha, beta := twoPlugins()
	loc := func(line int) map[string]any {
		return map[string]any{"uri": goURI, "range": map[string]any{"start": map[string]any{"line": line, "character": 0}, "end": map[string]any{"line": line, "character": 4}}}
	}
	alpha.caps["referencesProvider"] = true
	beta.caps["referencesProvider"] = true
	alpha.caps["definitionProvider"] = true
	beta.caps["definitionProvider"] = true
	alpha.requests["textDocument/references"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return []any{loc(1), loc(2)}, nil
	}
	beta.requests["textDocument/references"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return []any{loc(2), loc(3)}, nil
	}
	alpha.requests["textDocument/definition"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return loc(1), nil // a single Location
	}
	beta.requests["textDocument/definition"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return []any{map[string]any{"targetUri": goURI, "targetRange": loc(5)["range"], "targetSelectionRange": loc(6)["range"]}}, nil
	}
	st := newSetup(t, "utf-16", alpha, beta)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	var refs []struct {
		Range Range `json:"range"`
	}
	if err := st.request(t, "textDocument/references", docParams(goURI, 0, 0), &refs); err != nil {
		t.Fatal(err)
	}
	var lines []uint32
	for _, r := range refs {
		lines = append(lines, r.Range.Start.Line)
	}
	if fmt.Sprint(lines) != "[1 2 3]" {
		t.Fatalf("references on lines %v, want [1 2 3]", lines)
	}
	var defs []map[string]any
	if err := st.request(t, "textDocument/definition", docParams(goURI, 0, 0), &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs) != 2 || defs[1]["uri"] != goURI || defs[1]["range"].(map[string]any)["start"].(map[string]any)["line"] != 6.0 {
		t.Fatalf("definition = %v; want two Locations, beta's link turned into its selection range", defs)
	}
}

func TestCodeActionsCommandsAndDiagnosticsGoHome(t *testing.T) {
	alpha, beta := twoPlugins()
	var alphaSaw, betaSaw atomic.Value
	action := func(name string, saw *atomic.Value) sdk.Handler {
		return func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			var p struct {
				Context struct {
					Diagnostics []map[string]any `json:"diagnostics"`
				} `json:"context"`
			}
			json.Unmarshal(params, &p)
			saw.Store(p.Context.Diagnostics)
			return []any{
				map[string]any{"title": name + " fix", "command": "fix", "arguments": []any{1}},
				map[string]any{"title": name + " action", "kind": "quickfix", "data": "d-" + name,
					"command": map[string]any{"title": "x", "command": "fix"}},
			}, nil
		}
	}
	alpha.caps["codeActionProvider"] = map[string]any{"resolveProvider": true}
	beta.caps["codeActionProvider"] = true
	alpha.requests["textDocument/codeAction"] = action("alpha", &alphaSaw)
	beta.requests["textDocument/codeAction"] = action("beta", &betaSaw)
	var executed atomic.Value
	alpha.requests["workspace/executeCommand"] = func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
		executed.Store(string(params))
		return "done", nil
	}
	alpha.requests["codeAction/resolve"] = func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
		var a map[string]any
		json.Unmarshal(params, &a)
		a["edit"] = map[string]any{"changes": map[string]any{}}
		a["title"] = fmt.Sprintf("resolved %v %v", a["data"], a["command"].(map[string]any)["command"])
		return a, nil
	}
	st := newSetup(t, "utf-16", alpha, beta)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main // diags:2\n")
	eventually(t, "both plugins' diagnostics", func() bool { return len(st.client.diags(goURI)) == 4 })
	var diags []any
	for _, d := range st.client.diags(goURI) {
		var m any
		json.Unmarshal(d, &m)
		diags = append(diags, m)
	}
	params := map[string]any{"textDocument": map[string]any{"uri": goURI},
		"range":   map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 0, "character": 1}},
		"context": map[string]any{"diagnostics": diags}}
	var actions []map[string]any
	if err := st.request(t, "textDocument/codeAction", params, &actions); err != nil {
		t.Fatal(err)
	}
	if len(actions) != 4 {
		t.Fatalf("got %d code actions, want 4", len(actions))
	}
	if actions[0]["command"] != "alpha.fix" || actions[2]["command"] != "beta.fix" {
		t.Fatalf("commands %v, %v; want namespaced alpha.fix, beta.fix", actions[0]["command"], actions[2]["command"])
	}
	if c := actions[3]["command"].(map[string]any)["command"]; c != "beta.fix" {
		t.Fatalf("code action command %v, want beta.fix", c)
	}
	for name, saw := range map[string]*atomic.Value{"alpha": &alphaSaw, "beta": &betaSaw} {
		ds := saw.Load().([]map[string]any)
		if len(ds) != 2 {
			t.Fatalf("%s got %d diagnostics in its codeAction context, want its own 2", name, len(ds))
		}
		for _, d := range ds {
			if d["source"] != name || d["data"].(map[string]any)["k"] == nil {
				t.Fatalf("%s got diagnostic %v; want its own, with its data untagged", name, d)
			}
		}
	}

	var res string
	if err := st.request(t, "workspace/executeCommand", map[string]any{"command": "alpha.fix", "arguments": []any{1}}, &res); err != nil || res != "done" {
		t.Fatalf("executeCommand = %q, %v", res, err)
	}
	if got := executed.Load(); got != `{"arguments":[1],"command":"fix"}` {
		t.Fatalf("alpha executed %v; want its own command name", got)
	}
	var null any
	if err := st.request(t, "workspace/executeCommand", map[string]any{"command": "nobody.fix"}, &null); err != nil || null != nil {
		t.Fatalf("executeCommand for no plugin = %v, %v; want null", null, err)
	}

	var resolved map[string]any
	if err := st.request(t, "codeAction/resolve", actions[1], &resolved); err != nil {
		t.Fatal(err)
	}
	if resolved["title"] != "resolved d-alpha fix" || resolved["edit"] == nil {
		t.Fatalf("resolved action = %v; alpha must see its data and command", resolved)
	}
	// beta declared no resolve: its action comes back as it went.
	resolved = nil
	if err := st.request(t, "codeAction/resolve", actions[3], &resolved); err != nil || resolved["title"] != "beta action" || resolved["edit"] != nil {
		t.Fatalf("beta action resolve = %v, %v; want it unchanged", resolved, err)
	}

	caps := st.s.ServerCapabilities()
	cmds := caps["executeCommandProvider"].(map[string]any)["commands"]
	if fmt.Sprint(cmds) != "[alpha.after alpha.fix beta.after beta.fix]" {
		t.Fatalf("executeCommandProvider commands = %v", cmds)
	}
}

func TestNoPluginMeansNull(t *testing.T) {
	alpha, _ := twoPlugins()
	st := newSetup(t, "utf-16", alpha)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	st.s.DidOpen(context.Background(), "file:///ws/notes.txt", "plaintext", 1, "hello\n")
	for _, c := range []struct{ method, uri string }{
		{"textDocument/hover", goURI},                       // alpha does not hover
		{"textDocument/definition", "file:///ws/notes.txt"}, // no plugin for text
		{"textDocument/references", "file:///ws/closed.go"}, // not open
		{"textDocument/formatting", goURI},
	} {
		raw, _ := json.Marshal(docParams(c.uri, 0, 0))
		res, err := st.s.Request(context.Background(), c.method, raw)
		if err != nil || string(res) != "null" {
			t.Errorf("%s on %s = %s, %v; want null", c.method, c.uri, res, err)
		}
	}
	res, err := st.s.Request(context.Background(), "gathering/unknown", json.RawMessage(`{}`))
	if err != nil || string(res) != "null" {
		t.Errorf("unknown method = %s, %v; want null", res, err)
	}
}

func TestPluginErrorNamesThePlugin(t *testing.T) {
	alpha, _ := twoPlugins()
	alpha.caps["hoverProvider"] = true
	alpha.requests["textDocument/hover"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return nil, &sdk.Error{Code: -32602, Message: "no such position"}
	}
	st := newSetup(t, "utf-16", alpha)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	err := st.request(t, "textDocument/hover", docParams(goURI, 0, 0), nil)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.RPCCode != -32602 || !strings.Contains(pe.Message, "plugin alpha") || !strings.Contains(pe.Message, "no such position") {
		t.Fatalf("error = %#v; want -32602 naming plugin alpha", err)
	}
}

func TestDeadlineCancelsAndTimesOut(t *testing.T) {
	alpha, beta := twoPlugins()
	cancelled := make(chan struct{}, 1)
	alpha.caps["hoverProvider"] = true
	alpha.requests["textDocument/hover"] = func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
		select {
		case <-ctx.Done(): // the SDK cancels ctx on $/cancelRequest
			cancelled <- struct{}{}
		case <-time.After(10 * time.Second):
		}
		return nil, nil
	}
	st := newSetup(t, "utf-16", alpha, beta)
	st.h.deadlines.interactive = 300 * time.Millisecond
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	start := time.Now()
	err := st.request(t, "textDocument/hover", docParams(goURI, 0, 0), nil)
	took := time.Since(start)
	if !errors.Is(err, protocol.ErrPluginTimeout) || !strings.Contains(err.Error(), "alpha") {
		t.Fatalf("error = %v; want plugin_timeout naming alpha", err)
	}
	if took > 2*time.Second {
		t.Fatalf("took %v with a 300ms deadline", took)
	}
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the plugin never saw $/cancelRequest")
	}
	// The default deadlines are the ones DESIGN.md names.
	if d := defaultDeadlines; d.of(routes["textDocument/hover"].kind) != 2*time.Second ||
		d.of(routes["textDocument/rename"].kind) != 10*time.Second || d.of(routes["textDocument/references"].kind) != 30*time.Second ||
		d.of(routes["workspace/symbol"].kind) != 30*time.Second || d.of(routes["textDocument/codeAction"].kind) != 10*time.Second {
		t.Fatal("default deadlines differ from 2 s / 10 s / 30 s")
	}
}

func TestSymbolsMergedAcrossShapesAndPlugins(t *testing.T) {
	alpha, beta := twoPlugins()
	rng := map[string]any{"start": map[string]any{"line": 1, "character": 0}, "end": map[string]any{"line": 1, "character": 3}}
	alpha.caps["documentSymbolProvider"] = true
	beta.caps["documentSymbolProvider"] = true
	alpha.caps["workspaceSymbolProvider"] = map[string]any{"resolveProvider": true}
	beta.caps["workspaceSymbolProvider"] = true
	alpha.requests["textDocument/documentSymbol"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return []any{map[string]any{"name": "A", "kind": 12, "range": rng, "selectionRange": rng, "children": []any{}}}, nil
	}
	beta.requests["textDocument/documentSymbol"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return []any{map[string]any{"name": "B", "kind": 13, "location": map[string]any{"uri": goURI, "range": rng}, "containerName": "pkg"}}, nil
	}
	alpha.requests["workspace/symbol"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return []any{map[string]any{"name": "A", "kind": 12, "location": map[string]any{"uri": goURI}, "data": 1}}, nil
	}
	beta.requests["workspace/symbol"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return []any{map[string]any{"name": "B", "kind": 13, "location": map[string]any{"uri": goURI, "range": rng}}}, nil
	}
	alpha.requests["workspaceSymbol/resolve"] = func(_ context.Context, _ *sdk.Conn, p json.RawMessage) (any, error) {
		var s map[string]any
		json.Unmarshal(p, &s)
		s["location"] = map[string]any{"uri": goURI, "range": rng}
		s["name"] = fmt.Sprintf("A resolved with data %v", s["data"])
		return s, nil
	}
	st := newSetup(t, "utf-16", alpha, beta)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\nfunc A() {}\n")
	var syms []map[string]any
	if err := st.request(t, "textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": goURI}}, &syms); err != nil {
		t.Fatal(err)
	}
	if len(syms) != 2 || syms[1]["name"] != "B" || syms[1]["location"] != nil || syms[1]["selectionRange"] == nil || syms[1]["detail"] != "pkg" {
		t.Fatalf("document symbols %v; want beta's SymbolInformation made a DocumentSymbol beside alpha's", syms)
	}
	var ws []map[string]any
	if err := st.request(t, "workspace/symbol", map[string]any{"query": ""}, &ws); err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0]["name"] != "A" || ws[1]["name"] != "B" {
		t.Fatalf("workspace symbols %v", ws)
	}
	var resolved map[string]any
	if err := st.request(t, "workspaceSymbol/resolve", ws[0], &resolved); err != nil {
		t.Fatal(err)
	}
	if resolved["name"] != "A resolved with data 1" {
		t.Fatalf("resolved %v", resolved)
	}
}
