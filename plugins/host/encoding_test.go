package host

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

func TestConvertCountsCodeUnits(t *testing.T) {
	// "a😀b": 😀 is U+1F600, 4 bytes in UTF-8, a surrogate pair in UTF-16,
	// one code point. "é" is 2 bytes, 1 unit in both UTF-16 and UTF-32.
	li := newLineIndex("a😀b\r\né\rx😀\ny")
	cases := []struct {
		line, char uint32
		from, to   encoding
		want       uint32
	}{
		{0, 3, utf16, utf8Enc, 5}, // b after the pair
		{0, 5, utf8Enc, utf16, 3},
		{0, 3, utf16, utf32, 2},
		{0, 2, utf32, utf16, 3},
		{0, 2, utf16, utf8Enc, 1},  // inside the surrogate pair: rounded down to 😀
		{0, 3, utf8Enc, utf16, 1},  // inside 😀's bytes
		{0, 99, utf16, utf8Enc, 6}, // past the end: clamped to the line
		{1, 1, utf16, utf8Enc, 2},  // after é; \r\n ended line 0
		{2, 3, utf16, utf8Enc, 5},  // a lone \r ended line 1
		{2, 5, utf8Enc, utf32, 2},
		{3, 1, utf16, utf8Enc, 1},
		{9, 4, utf16, utf8Enc, 4}, // no such line: left alone
		{0, 3, utf16, utf16, 3},
	}
	for _, c := range cases {
		if got := li.convert(c.line, c.char, c.from, c.to); got != c.want {
			t.Errorf("convert(%d:%d %s→%s) = %d, want %d", c.line, c.char, c.from, c.to, got, c.want)
		}
	}
}

func TestConverterWalksLSPValues(t *testing.T) {
	texts := map[string]*lineIndex{
		"file:///a": newLineIndex("😀😀x"), // x: utf-16 4, utf-8 8
		"file:///b": newLineIndex("éx"),  // x: utf-16 1, utf-8 2
	}
	c := &converter{from: utf16, to: utf8Enc, root: "file:///a", text: func(uri string) *lineIndex { return texts[uri] }}
	pos := func(ch int) map[string]any { return map[string]any{"line": 0, "character": ch} }
	rng := func(a, b int) map[string]any { return map[string]any{"start": pos(a), "end": pos(b)} }
	in := map[string]any{
		"link": map[string]any{"targetUri": "file:///b", "targetRange": rng(1, 2), "targetSelectionRange": rng(1, 1), "originSelectionRange": rng(4, 5)},
		"loc":  map[string]any{"uri": "file:///b", "range": rng(0, 1)},
		"edit": map[string]any{"changes": map[string]any{"file:///b": []any{map[string]any{"range": rng(1, 2), "newText": ""}}}},
		"docChanges": []any{map[string]any{"textDocument": map[string]any{"uri": "file:///b", "version": 1},
			"edits": []any{map[string]any{"range": rng(1, 1), "newText": ""}}}},
		"position": pos(4),
		"data":     map[string]any{"position": pos(4)},
		"unknown":  map[string]any{"uri": "file:///nowhere", "range": rng(3, 3)},
	}
	raw, _ := json.Marshal(in)
	v, _ := decodeJSON(raw)
	c.walk(v, "file:///a")
	out, _ := encodeJSON(v)
	want := `{"data":{"position":{"character":4,"line":0}},` +
		`"docChanges":[{"edits":[{"newText":"","range":{"end":{"character":2,"line":0},"start":{"character":2,"line":0}}}],"textDocument":{"uri":"file:///b","version":1}}],` +
		`"edit":{"changes":{"file:///b":[{"newText":"","range":{"end":{"character":3,"line":0},"start":{"character":2,"line":0}}}]}},` +
		`"link":{"originSelectionRange":{"end":{"character":9,"line":0},"start":{"character":8,"line":0}},"targetRange":{"end":{"character":3,"line":0},"start":{"character":2,"line":0}},"targetSelectionRange":{"end":{"character":2,"line":0},"start":{"character":2,"line":0}},"targetUri":"file:///b"},` +
		`"loc":{"range":{"end":{"character":2,"line":0},"start":{"character":0,"line":0}},"uri":"file:///b"},` +
		`"position":{"character":8,"line":0},` +
		`"unknown":{"range":{"end":{"character":3,"line":0},"start":{"character":3,"line":0}},"uri":"file:///nowhere"}}`
	if string(out) != want {
		t.Fatalf("converted\n%s\nwant\n%s", out, want)
	}
}

// A plugin that speaks UTF-8 in a UTF-16 session gets its positions and
// its document changes in UTF-8, and the editor gets the answers in UTF-16.
func TestPluginInAnotherEncoding(t *testing.T) {
	const text = "s := \"😀\" + y\n// 🎉 diags:1\n"
	// y: UTF-16 column 11, UTF-8 column 13.
	var sawHover atomic.Value
	alpha := &testPlugin{name: "alpha", langs: []string{"go"}, sync: syncIncremental, encoding: "utf-8",
		caps: map[string]any{"hoverProvider": true, "definitionProvider": true},
		requests: map[string]sdk.Handler{
			"textDocument/hover": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
				sawHover.Store(string(params))
				return map[string]any{"contents": "y", "range": map[string]any{
					"start": map[string]any{"line": 0, "character": 13}, "end": map[string]any{"line": 0, "character": 14}}}, nil
			},
			"textDocument/definition": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
				// 🎉 on line 1 starts at UTF-8 3 and ends at 7.
				return []any{map[string]any{"uri": goURI, "range": map[string]any{
					"start": map[string]any{"line": 1, "character": 3}, "end": map[string]any{"line": 1, "character": 7}}}}, nil
			},
		}}
	st := newSetup(t, "utf-16", alpha)
	ctx := context.Background()
	st.s.DidOpen(ctx, goURI, "go", 1, text)

	var h struct {
		Range Range `json:"range"`
	}
	if err := st.request(t, "textDocument/hover", docParams(goURI, 0, 11), &h); err != nil {
		t.Fatal(err)
	}
	if got := sawHover.Load().(string); got != `{"position":{"character":13,"line":0},"textDocument":{"uri":"file:///ws/main.go"}}` {
		t.Fatalf("plugin got hover params %s; want the UTF-8 column 13", got)
	}
	if h.Range.Start.Character != 11 || h.Range.End.Character != 12 {
		t.Fatalf("hover range %+v; want UTF-16 11..12", h.Range)
	}
	var defs []struct {
		Range Range `json:"range"`
	}
	if err := st.request(t, "textDocument/definition", docParams(goURI, 0, 11), &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 || defs[0].Range.Start.Character != 3 || defs[0].Range.End.Character != 5 {
		t.Fatalf("definition %+v; want UTF-16 3..5 (🎉 is a surrogate pair)", defs)
	}

	// (TestPublishedDiagnosticsConverted checks the ranges.)
	eventually(t, "diagnostics", func() bool { return len(st.client.diags(goURI)) == 1 })

	// An incremental change in UTF-16 reaches the UTF-8 plugin as full text.
	st.s.DidChange(ctx, goURI, 2, []Change{{Range: &Range{Start: Position{0, 11}, End: Position{0, 12}}, Text: "z"}},
		func() string { return "s := \"😀\" + z\n// 🎉 diags:1\n" })
	eventually(t, "the change", func() bool { return alpha.text(goURI) == "s := \"😀\" + z\n// 🎉 diags:1\n" })
	log := alpha.log()
	if last := log[len(log)-1]; last != "didChange file:///ws/main.go 2 full" {
		t.Fatalf("plugin got %q; want the full text", last)
	}
}

func TestPublishedDiagnosticsConverted(t *testing.T) {
	alpha := &testPlugin{name: "alpha", langs: []string{"go"}, sync: syncFull, encoding: "utf-32"}
	st := newSetup(t, "utf-8", alpha)
	st.s.DidOpen(context.Background(), goURI, "go", 1, "😀x diags:1\n")
	eventually(t, "diagnostics", func() bool { return len(st.client.diags(goURI)) == 1 })
	var d struct {
		Range Range `json:"range"`
	}
	json.Unmarshal(st.client.diags(goURI)[0], &d)
	// The plugin said UTF-32 0..1, the whole 😀: 0..4 in UTF-8.
	if d.Range.End.Character != 4 {
		t.Fatalf("diagnostic range %+v; want UTF-8 end 4", d.Range)
	}
	// The plugin was offered the session's encoding first, then utf-16.
	var init struct {
		Capabilities struct {
			General struct {
				PositionEncodings []string `json:"positionEncodings"`
			} `json:"general"`
		} `json:"capabilities"`
	}
	alpha.mu.Lock()
	json.Unmarshal(alpha.init, &init)
	alpha.mu.Unlock()
	if got := init.Capabilities.General.PositionEncodings; len(got) != 2 || got[0] != "utf-8" || got[1] != "utf-16" {
		t.Fatalf("offered encodings %v, want [utf-8 utf-16]", got)
	}
}
