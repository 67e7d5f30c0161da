package sdk_test

import (
	"context"
	"encoding/json"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

// A plugin's whole main: a name, and a handler per LSP method it serves.
// Run by hand it exits at once; the gathering host runs it.
func ExampleServe() {
	sdk.Serve(&sdk.Server{
		Info: sdk.Info{Name: "hello", Version: "0.1.0"},
		Requests: map[string]sdk.Handler{
			"initialize": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
				return map[string]any{"capabilities": map[string]any{"hoverProvider": true}}, nil
			},
			"textDocument/hover": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
				return map[string]any{"contents": "hello"}, nil
			},
		},
		Notifications: map[string]func(context.Context, *sdk.Conn, json.RawMessage){
			"textDocument/didOpen": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
				var p struct {
					TextDocument struct{ URI string } `json:"textDocument"`
				}
				if json.Unmarshal(params, &p) == nil {
					c.Notify(ctx, "textDocument/publishDiagnostics", map[string]any{"uri": p.TextDocument.URI, "diagnostics": []any{}})
				}
			},
		},
	})
}
