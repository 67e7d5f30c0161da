// Package rpc is gathering's JSON-RPC 2.0 connection: LSP framing with a size
// limit, strict wire order for incoming messages, and calls, replies and
// notifications going out. It is the only package that imports
// github.com/sourcegraph/jsonrpc2 (research/lsp.md §2.3 says why that library).
package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/gathering-dev/gathering/internal/jsonstr"
	"github.com/gathering-dev/gathering/internal/lspframe"
	"github.com/gathering-dev/gathering/protocol"
)

// ID is a request id: a number or a string.
type ID struct{ id jsonrpc2.ID }

// String returns the id as it is keyed: decimal for numbers, quoted for strings.
func (id ID) String() string { return id.id.String() }

// NumberID is the id n.
func NumberID(n uint64) ID { return ID{jsonrpc2.ID{Num: n}} }

// StringID is the id s.
func StringID(s string) ID { return ID{jsonrpc2.ID{Str: s, IsString: true}} }

// Request is one incoming request or notification. Params is nil when
// absent, and otherwise exactly one JSON value: the codec checked it.
type Request struct {
	Method string
	Params json.RawMessage
	ID     ID
	Notif  bool
}

// A Handler receives every incoming request and notification in wire order,
// on the connection's read goroutine: nothing else is read while it runs. It
// must therefore never wait on the connection itself (no [Conn.Call]); work
// that takes time goes to a goroutine that replies later.
type Handler interface {
	Handle(ctx context.Context, c *Conn, r *Request)
}

// Options configure a connection. The zero value is usable.
type Options struct {
	// MaxFrameBytes caps one incoming message. 0 means DefaultMaxFrameBytes.
	MaxFrameBytes int64
	// Logger receives protocol errors. nil discards them.
	Logger *slog.Logger
	// Take, when set, is offered each request in the common shape
	// {"jsonrpc":"2.0","id":N,"method":"M","params":P} as soon as its frame
	// is read, before jsonrpc2 decodes it, with P checked to be one JSON
	// value. If it returns true it has taken the request, answers it
	// through the Conn, and the Handler never sees it. It runs on the read
	// goroutine, in wire order with the Handler's calls, under the same
	// rules. Decoding a request into jsonrpc2's types costs some 10 µs,
	// which a request that is only passed on to a language server does not
	// pay: jsonrpc2 never sees it. The Request and the bytes of its Params
	// are reused once Take returns: Take copies what it keeps.
	Take func(ctx context.Context, c *Conn, r *Request) bool
}

// Conn is a JSON-RPC connection over a byte stream. Its methods are safe for
// concurrent use.
type Conn struct {
	conn    *jsonrpc2.Conn
	stream  jsonrpc2.ObjectStream
	codec   *codec
	log     *slog.Logger
	started chan struct{}
	start   sync.Once
	nextID  atomic.Uint64 // ids of outgoing calls
}

// NewConn returns a connection over rwc that passes incoming messages to h,
// from the first [Conn.Start] until the stream ends or [Conn.Close] is
// called. The context given to h is cancelled then. Holding messages until
// Start lets the caller finish wiring (keep c where h can see it) first.
func NewConn(ctx context.Context, rwc io.ReadWriteCloser, h Handler, opt *Options) *Conn {
	if opt == nil {
		opt = &Options{}
	}
	c := &Conn{
		codec:   &codec{max: opt.MaxFrameBytes},
		log:     opt.Logger,
		started: make(chan struct{}),
	}
	if c.codec.max <= 0 {
		c.codec.max = DefaultMaxFrameBytes
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// Take gets what the handler gets: a context that ends with the
	// connection.
	ctx, cancel := context.WithCancel(ctx)
	if take := opt.Take; take != nil {
		c.codec.taker = func(r *Request) bool {
			select {
			case <-c.started:
			default:
				return false // the handler would wait for Start; so does this
			}
			return take(ctx, c, r)
		}
	}
	c.stream = jsonrpc2.NewBufferedStream(rwc, c.codec)
	c.conn = jsonrpc2.NewConn(ctx, c.stream, handlerFunc(func(ctx context.Context, _ *jsonrpc2.Conn, r *jsonrpc2.Request) {
		select {
		case <-c.started:
		case <-ctx.Done():
			return
		}
		if r.Method == rejectedMethod {
			if rej := c.codec.take(); rej != nil {
				c.answerRejection(rej)
				return
			}
		}
		req := &Request{Method: r.Method, ID: ID{r.ID}, Notif: r.Notif}
		// The codec kept the params of this very message aside: jsonrpc2
		// hands each message to this handler before it reads the next.
		if p, ok := c.codec.takeParams(); ok {
			req.Params = p
		} else if r.Params != nil {
			req.Params = *r.Params
		}
		h.Handle(ctx, c, req)
	}), jsonrpc2.SetLogger(slogPrintf{c.log}))
	go func() {
		<-c.conn.DisconnectNotify()
		cancel()
	}()
	return c
}

// slogPrintf routes the transport's own messages (protocol errors, stray
// responses) to the structured log.
type slogPrintf struct{ l *slog.Logger }

func (p slogPrintf) Printf(format string, args ...any) {
	p.l.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)), slog.String("component", "jsonrpc2"))
}

type handlerFunc func(context.Context, *jsonrpc2.Conn, *jsonrpc2.Request)

func (f handlerFunc) Handle(ctx context.Context, c *jsonrpc2.Conn, r *jsonrpc2.Request) { f(ctx, c, r) }

// answerRejection answers a refused frame with its error. The response is
// written raw because the id may be null, which jsonrpc2.Response cannot say.
func (c *Conn) answerRejection(rej *rejection) {
	id := rej.id
	if id == nil {
		id = json.RawMessage("null")
	}
	msg, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   wireError       `json:"error"`
	}{"2.0", id, toWire(rej.err)})
	if err == nil {
		err = c.stream.WriteObject(json.RawMessage(msg))
	}
	c.log.Warn("refused message", slog.String("id", string(id)), slog.String("reason", rej.err.Message), slog.Any("write_error", err))
}

type wireError struct {
	Code    int64              `json:"code"`
	Message string             `json:"message"`
	Data    protocol.ErrorData `json:"data"`
}

func toWire(e *protocol.Error) wireError {
	return wireError{Code: e.RPCCode, Message: e.Message, Data: e.Data}
}

// Start lets incoming messages through to the handler. Calling it again
// does nothing.
func (c *Conn) Start() { c.start.Do(func() { close(c.started) }) }

// Reply answers request id with result, which is encoded with encoding/json
// (pass a json.RawMessage, which must be valid JSON, to send bytes encoded
// elsewhere).
//
// The response is encoded here in one pass, framed, and written as is:
// jsonrpc2's own Reply marshals the result, then the response, then the
// message, each pass rescanning the result, which dominated large answers
// such as a tree page.
func (c *Conn) Reply(ctx context.Context, id ID, result any) error {
	if raw, ok := result.(json.RawMessage); ok {
		return c.ReplyJSON(ctx, id, raw)
	}
	data, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	return c.ReplyJSON(ctx, id, data)
}

// ReplyJSON answers request id with result, which must be valid JSON
// (empty is null). It is Reply without the result going through an
// interface, which costs an answer passed on as it came an allocation.
func (c *Conn) ReplyJSON(ctx context.Context, id ID, data json.RawMessage) error {
	if len(data) == 0 {
		data = []byte("null")
	}
	var idBuf [24]byte
	idJSON := appendID(idBuf[:0], id.id)
	const prefix, key = `{"jsonrpc":"2.0","id":`, `,"result":`
	n := len(prefix) + len(idJSON) + len(key) + len(data) + 1
	f := replyPool.Get().(*framed)
	msg := slices.Grow((*f)[:0], n+32)
	msg = lspframe.AppendHeader(msg, n)
	msg = append(msg, prefix...)
	msg = append(msg, idJSON...)
	msg = append(msg, key...)
	msg = append(msg, data...)
	msg = append(msg, '}')
	*f = msg
	defer func() {
		if cap(*f) <= keptReplyBytes { // one large answer does not pin its buffer
			replyPool.Put(f)
		}
	}()
	select {
	case <-c.conn.DisconnectNotify():
		return jsonrpc2.ErrClosed
	default:
	}
	return c.stream.WriteObject(f) // written before it returns: f can be reused
}

// replyPool holds the buffers replies are framed in, so that an answer
// costs no allocation of its own.
var replyPool = sync.Pool{New: func() any { return new(framed) }}

// keptReplyBytes is the largest reply buffer put back in replyPool.
const keptReplyBytes = 64 << 10

// appendID appends id as JSON, as jsonrpc2's MarshalJSON writes it but
// without the reflection json.Marshal takes.
func appendID(dst []byte, id jsonrpc2.ID) []byte {
	if !id.IsString {
		return strconv.AppendUint(dst, id.Num, 10)
	}
	return jsonstr.Append(dst, id.Str)
}

// ReplyError answers request id with an error.
func (c *Conn) ReplyError(ctx context.Context, id ID, e *protocol.Error) error {
	je := &jsonrpc2.Error{Code: e.RPCCode, Message: e.Message}
	je.SetError(e.Data)
	return c.conn.ReplyWithError(ctx, id.id, je)
}

// Notify sends a notification.
func (c *Conn) Notify(ctx context.Context, method string, params any) error {
	return c.conn.Notify(ctx, method, params)
}

// Call sends a request and waits for its answer, decoding the result into
// result. An error answer is returned as a *protocol.Error. It must not be
// called from a [Handler] on the read goroutine.
//
// Calls pick their own ids so that the codec can recognise their answers and
// keep each result's bytes aside: jsonrpc2 would decode a result into
// interface{} and then twice more, which dominated large answers.
func (c *Conn) Call(ctx context.Context, method string, params, result any) error {
	id := jsonrpc2.ID{Num: c.nextID.Add(1)}
	key := id.String()
	c.codec.expect(key)
	defer c.codec.forget(key)
	w, err := c.conn.DispatchCall(ctx, method, params, jsonrpc2.PickID(id))
	if err == nil {
		err = w.Wait(ctx, nil)
	}
	if je, ok := errors.AsType[*jsonrpc2.Error](err); ok {
		e := &protocol.Error{RPCCode: je.Code, Message: je.Message}
		if je.Data != nil {
			json.Unmarshal(*je.Data, &e.Data) // data that is not ours leaves Data zero
		}
		return e
	}
	if err != nil {
		return fmt.Errorf("call %s: %w", method, err)
	}
	if result == nil {
		return nil
	}
	raw := c.codec.result(key)
	if raw == nil {
		raw = json.RawMessage("null")
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("call %s: decode result: %w", method, err)
	}
	return nil
}

// Close closes the connection and its stream.
func (c *Conn) Close() error { return c.conn.Close() }

// Done is closed when the connection has closed, for whatever reason.
func (c *Conn) Done() <-chan struct{} { return c.conn.DisconnectNotify() }
