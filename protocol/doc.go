// Package protocol defines what gathering says on the wire beyond the Language
// Server Protocol: the names of the gathering/* JSON-RPC methods, their params
// and results, and the coded errors every method answers with.
//
// # Errors
//
// Every failure that reaches a client is an [*Error]: a JSON-RPC code plus a
// stable string in data.code (see [Code]). Handlers wrap the sentinels
// ([ErrNotFound], [ErrInvalidParams], …) with fmt.Errorf and %w; the server
// reads the code back with [AsError], so the wrapped message reaches the client
// and the code never drifts.
//
// The LSP types themselves live in the sibling package [lsp], the one place
// that imports go.lsp.dev/protocol.
package protocol
