package host

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

// A plugin's semantic tokens reach the editor in the host's legend and the
// session's encoding, without the token types the host does not know.
func TestSemanticTokensRemapped(t *testing.T) {
	var asked []string
	alpha := &testPlugin{name: "alpha", langs: []string{"go"}, sync: syncFull, encoding: "utf-8",
		advisory: []string{"semanticTokens"},
		caps: map[string]any{"semanticTokensProvider": map[string]any{
			"legend": map[string]any{"tokenTypes": []any{"function", "variable", "weird", "keyword"}, "tokenModifiers": []any{"declaration", "odd", "readonly"}},
			"full":   true}},
		requests: map[string]sdk.Handler{
			"textDocument/semanticTokens/full": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
				asked = append(asked, "full")
				// keyword "func" 0:0+4; weird 😀 0:5+4 (UTF-8); variable "xy"
				// 0:10+2 declaration|odd|readonly; function 2:1+1.
				return map[string]any{"resultId": "1", "data": []any{0, 0, 4, 3, 0, 0, 5, 4, 2, 0, 0, 5, 2, 1, 7, 2, 1, 1, 0, 0}}, nil
			},
		}}
	st := newSetup(t, "utf-16", alpha)
	if caps := st.s.ServerCapabilities(); fmt.Sprint(caps["semanticTokensProvider"]) != fmt.Sprint(semanticTokensCapability()) {
		t.Fatalf("before start: semanticTokensProvider %v; want the host's legend", caps["semanticTokensProvider"])
	}
	st.s.DidOpen(context.Background(), goURI, "go", 1, "func 😀 xy\n\n f\n")
	for _, method := range []string{"textDocument/semanticTokens/full", "textDocument/semanticTokens/range"} {
		params := map[string]any{"textDocument": map[string]any{"uri": goURI}}
		if method == "textDocument/semanticTokens/range" {
			params["range"] = map[string]any{"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 3, "character": 0}}
		}
		var got struct {
			ResultID *string  `json:"resultId"`
			Data     []uint32 `json:"data"`
		}
		if err := st.request(t, method, params, &got); err != nil {
			t.Fatal(err)
		}
		// keyword is host type 15, variable 8 (declaration|readonly = 5),
		// function 12; xy starts at UTF-16 8.
		if fmt.Sprint(got.Data) != "[0 0 4 15 0 0 8 2 8 5 2 1 1 12 0]" || got.ResultID != nil {
			t.Fatalf("%s: data %v resultId %v", method, got.Data, got.ResultID)
		}
	}
	if fmt.Sprint(asked) != "[full full]" {
		t.Fatalf("plugin asked %v; a range request goes to full when the plugin serves no ranges", asked)
	}
}
