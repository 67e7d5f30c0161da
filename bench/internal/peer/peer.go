// Package peer is the server every benchmark measures gathering against: a
// bare github.com/sourcegraph/jsonrpc2 server that answers each request with
// its params and drops notifications.
//
// It is the right yardstick because gathering's transport is that very
// library (internal/rpc wraps it, research/lsp.md §2.3). Whatever the peer
// costs is the floor set by the library, the pipe and the client; whatever
// gathering costs beyond it is gathering's own: its framing codec, its
// dispatcher, lifecycle gate, request goroutines, parameter decoding and
// document store. The package imports nothing of gathering, so that the
// startup benchmark's peer binary carries the library alone.
package peer

import (
	"context"
	"encoding/json"
	"io"
	"log"

	"github.com/sourcegraph/jsonrpc2"
)

// Serve serves h over rwc with sourcegraph/jsonrpc2's own LSP framing
// (VSCodeObjectCodec), its transport log discarded as gathering's is.
func Serve(ctx context.Context, rwc io.ReadWriteCloser, h *Handler) *jsonrpc2.Conn {
	stream := jsonrpc2.NewBufferedStream(rwc, jsonrpc2.VSCodeObjectCodec{})
	return jsonrpc2.NewConn(ctx, stream, h, jsonrpc2.SetLogger(log.New(io.Discard, "", 0)))
}

// Handler is the peer's whole server: it answers initialize with empty
// capabilities, shutdown with null, and every other request with its
// params, and drops every notification but exit, which calls OnExit. Its
// methods are safe for concurrent use.
type Handler struct {
	// Async replies from a goroutine per request instead of inline.
	Async bool
	// OnExit is called on the exit notification; nil ignores it.
	OnExit func()
}

var (
	initializeResult = json.RawMessage(`{"capabilities":{}}`)
	null             = json.RawMessage(`null`)
)

// Handle implements jsonrpc2.Handler. A request without params is
// answered with null.
func (h *Handler) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	if req.Notif {
		if req.Method == "exit" && h.OnExit != nil {
			h.OnExit()
		}
		return
	}
	var result any = req.Params
	switch req.Method {
	case "initialize":
		result = initializeResult
	case "shutdown":
		result = null
	}
	if !h.Async {
		conn.Reply(ctx, req.ID, result)
		return
	}
	go conn.Reply(ctx, req.ID, result)
}
