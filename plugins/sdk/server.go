package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// Info names a plugin. The host checks Name against the verified manifest
// after the handshake, so it must be the manifest's name.
type Info struct {
	Name    string
	Version string
}

// Handler answers one request. params is the request's params exactly as
// they came (nil when the request had none). The result is encoded with
// encoding/json; a nil result is sent as null. An error is sent as a
// JSON-RPC error: an *Error as it is, anything else as -32603 with the
// error's text. ctx is cancelled when the host sends $/cancelRequest for this
// request or the session ends; a cancelled request is answered -32800
// whatever the handler returns.
type Handler func(ctx context.Context, c *Conn, params json.RawMessage) (result any, err error)

// Server is a plugin's JSON-RPC side: the LSP server the host talks to.
//
// Notifications run one at a time in the order they arrived, and a request
// is started only after every notification before it has returned (so a hover
// sees the didChange sent before it). Each request then runs on its own
// goroutine, so handlers must be safe for concurrent use. A request with no
// entry in Requests is answered -32601, a notification with no entry in
// Notifications is dropped. A panic in a handler answers -32603 (for a
// request) and is logged to stderr; the plugin lives on.
//
// The SDK itself answers "shutdown" (null, unless Requests has its own
// "shutdown", which then runs first), refuses every later request with
// -32600, and ends the session on "exit" (after Notifications["exit"], if
// any, has run).
type Server struct {
	// Info answers the host's GetInfo.
	Info Info
	// Requests maps a method to its handler.
	Requests map[string]Handler
	// Notifications maps a method to its handler.
	Notifications map[string]func(ctx context.Context, c *Conn, params json.RawMessage)
}

// Error is a JSON-RPC error. A Handler returns one to choose the code the
// host sees; Conn.Call returns one when the host answered with an error.
type Error struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Error returns the message and the code.
func (e *Error) Error() string { return fmt.Sprintf("%s (jsonrpc %d)", e.Message, e.Code) }

// JSON-RPC and LSP error codes the SDK sends, for handlers and callers that
// want to send or recognise the same.
const (
	CodeParseError       = -32700
	CodeInvalidRequest   = -32600
	CodeMethodNotFound   = -32601
	CodeInvalidParams    = -32602
	CodeInternalError    = -32603
	CodeRequestCancelled = -32800
)

// Option changes how a plugin is served. Options are accepted by every entry
// point so that they can grow without breaking plugin authors.
type Option func(*options)

type options struct {
	maxBytes int
}

// WithMaxMessageBytes caps one JSON-RPC message, in and out, at n bytes
// (0 or less means pluginv1.DefaultMaxMessageBytes, 16 MiB). A larger
// incoming message is answered -32600 and dropped; a larger result is
// answered -32603 instead; Conn.Notify and Conn.Call refuse to send a larger
// message. Under Serve and ServeRaw the same cap is set on the gRPC server.
func WithMaxMessageBytes(n int) Option {
	return func(o *options) { o.maxBytes = n }
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxBytes <= 0 {
		o.maxBytes = pluginv1.DefaultMaxMessageBytes
	}
	return o
}
