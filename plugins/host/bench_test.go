package host

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

func hoverPlugin(enc string) *testPlugin {
	return &testPlugin{name: "alpha", langs: []string{"go"}, sync: syncIncremental, encoding: enc,
		caps: map[string]any{"hoverProvider": true, "definitionProvider": true},
		requests: map[string]sdk.Handler{
			"textDocument/hover": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
				return map[string]any{"contents": "x", "range": map[string]any{"start": map[string]any{"line": 0, "character": 1}, "end": map[string]any{"line": 0, "character": 2}}}, nil
			},
		}}
}

// BenchmarkHoverDirect is a hover straight to an in-process plugin over
// the pipe, the router's peer in BenchmarkHoverRouted.
func BenchmarkHoverDirect(b *testing.B) {
	st := newSetup(&testing.T{}, "utf-16", hoverPlugin(""))
	defer st.h.Close()
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	inst := <-st.started
	params, _ := json.Marshal(docParams(goURI, 0, 1))
	for b.Loop() {
		if _, err := inst.Call(context.Background(), "textDocument/hover", json.RawMessage(params)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHoverRouted is the same hover through Session.Request.
func BenchmarkHoverRouted(b *testing.B) { benchRouted(b, "") }

// BenchmarkHoverRoutedConverted is the same hover to a plugin speaking
// UTF-8 in a UTF-16 session: params and answer converted.
func BenchmarkHoverRoutedConverted(b *testing.B) { benchRouted(b, "utf-8") }

func benchRouted(b *testing.B, enc string) {
	st := newSetup(&testing.T{}, "utf-16", hoverPlugin(enc))
	defer st.h.Close()
	st.s.DidOpen(context.Background(), goURI, "go", 1, "package main\n")
	<-st.started
	params, _ := json.Marshal(docParams(goURI, 0, 1))
	for b.Loop() {
		if _, err := st.s.Request(context.Background(), "textDocument/hover", params); err != nil {
			b.Fatal(err)
		}
	}
}
