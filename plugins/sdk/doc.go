// Package sdk is what a gathering language plugin imports: it serves an LSP
// server, written as a map of JSON-RPC handlers, to the gathering host over
// go-plugin, and keeps the plugin alive through bad input and panics.
//
// A plugin's main is one call to [Serve]:
//
//	func main() {
//		sdk.Serve(&sdk.Server{
//			Info: sdk.Info{Name: "hello", Version: "0.1.0"}, // as in plugin.toml
//			Requests: map[string]sdk.Handler{
//				"initialize": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
//					return map[string]any{"capabilities": map[string]any{"hoverProvider": true}}, nil
//				},
//				"textDocument/hover": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
//					return map[string]any{"contents": "hello"}, nil
//				},
//			},
//		})
//	}
//
// plugins/sdk/example is a complete plugin with its README: build, manifest,
// signature, install.
//
// # Sessions
//
// The host opens one Session stream per editor session and speaks LSP on it
// as the client: initialize, the didOpen/didChange/didClose notifications,
// requests such as textDocument/hover, then shutdown and exit. The SDK
// answers shutdown and exit itself (see [Server]); everything else goes to
// the handlers, which get a [Conn] to notify or call the host in turn.
//
// # Limits
//
// Messages are capped at 16 MiB each way unless [WithMaxMessageBytes] says
// otherwise, and the host caps them too. A handler whose result is over the
// cap answers -32603 instead of breaking the session.
//
// # Other transports
//
// [ServeRaw] hands a plugin the raw messages of each Session (for a bridge
// to an external LSP server), [ServeStdio] serves a [Server] over LSP's
// Content-Length framing (for tests and benchmarks), and [Server.Run] over
// any [Transport]. [NewStdioTransport] is that framing on its own, for a
// host that speaks it to a plugin (gathering does, to its bridge built-ins).
package sdk
