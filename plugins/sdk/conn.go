package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
)

// Conn is one session's JSON-RPC link to the host. The host is the LSP
// client, so a plugin uses Notify for textDocument/publishDiagnostics,
// window/logMessage and the like, and Call for workspace/configuration and
// other requests to the client. A Conn is handed to every handler and stays
// valid for the whole session, so a handler may keep it to publish later.
// Its methods are safe for concurrent use; after the session ends they fail.
type Conn struct {
	t        Transport
	srv      *Server
	maxBytes int
	nextID   atomic.Int64

	writeMu sync.Mutex
	ended   bool // under writeMu: nothing is written once the session is over

	mu       sync.Mutex
	pending  map[string]chan *message // the host's answers to our Calls, by id
	inflight map[string]*request      // the host's requests being answered, by id
	done     chan struct{}            // closed when the session ends

	shutdown bool // only the dispatching goroutine reads and writes it
}

// message is any JSON-RPC 2.0 message, as read from the wire.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// request is a request or notification from the host on its way to a
// handler. A request's ctx exists from the moment it is read, so that a
// $/cancelRequest that overtakes it in the queue still cancels it.
type request struct {
	id       json.RawMessage // nil for a notification
	method   string
	params   json.RawMessage
	ctx      context.Context
	cancel   context.CancelCauseFunc
	answered atomic.Bool
}

var (
	// ErrClosed is returned by Conn.Notify and Conn.Call once the session
	// has ended.
	ErrClosed = errors.New("sdk: the session with the host has ended")

	errExit            = errors.New("exit")
	errCancelledByHost = errors.New("cancelled by the host's $/cancelRequest")
	errSessionEnded    = errors.New("the session ended")
	nullID             = json.RawMessage("null")
)

// Run serves one session over t until the host sends "exit" (Run returns
// nil), t.Read reports io.EOF (nil) or another error (that error), or ctx
// ends (ctx's error). Handlers still running then see their ctx cancelled and
// their answers are dropped; a t.Read in progress is left to the transport's
// own closing. Serve, ServeRaw and ServeStdio all end up here; Run is exported
// for plugins that bring their own Transport.
func (s *Server) Run(ctx context.Context, t Transport, opts ...Option) error {
	o := collect(opts)
	c := &Conn{
		t:        t,
		srv:      s,
		maxBytes: o.maxBytes,
		pending:  make(map[string]chan *message),
		inflight: make(map[string]*request),
		done:     make(chan struct{}),
	}
	return c.run(ctx)
}

func (c *Conn) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	q := newQueue()
	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		readErr = c.read(ctx, q)
		q.close()
	}()
	err := c.dispatch(ctx, q)
	cancel(errSessionEnded)
	c.end()
	switch {
	case err == errExit:
		return nil
	case err != nil:
		return err
	}
	<-readDone
	if errors.Is(readErr, io.EOF) {
		return nil
	}
	return readErr
}

// end stops all writing and fails the Calls still waiting for an answer.
func (c *Conn) end() {
	c.writeMu.Lock()
	c.ended = true
	c.writeMu.Unlock()
	c.mu.Lock()
	close(c.done)
	c.mu.Unlock()
}

// read reads messages until the transport fails or ctx ends. Answers to our
// Calls and $/cancelRequest are handled here at once; everything else goes
// to the queue in wire order.
func (c *Conn) read(ctx context.Context, q *queue) error {
	for ctx.Err() == nil {
		data, err := c.t.Read()
		var tooLarge *TooLargeError
		switch {
		case errors.As(err, &tooLarge):
			c.refuse(nullID, CodeInvalidRequest, tooLarge.Error())
			continue
		case err != nil:
			return err
		case len(data) > c.maxBytes:
			c.refuse(nullID, CodeInvalidRequest, (&TooLargeError{Size: len(data), Max: c.maxBytes}).Error())
			continue
		}
		c.receive(ctx, data, q)
	}
	return ctx.Err()
}

func (c *Conn) receive(ctx context.Context, data []byte, q *queue) {
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		if !json.Valid(data) {
			c.refuse(nullID, CodeParseError, "parse error: "+err.Error())
		} else {
			c.refuse(nullID, CodeInvalidRequest, "not a JSON-RPC message object (batches are not supported): "+err.Error())
		}
		return
	}
	id := m.ID
	if id != nil && !validID(id) {
		c.refuse(nullID, CodeInvalidRequest, "the id must be a string, a number or null")
		return
	}
	if id == nil {
		id = nullID
	}
	switch {
	case m.JSONRPC != "2.0":
		c.refuse(id, CodeInvalidRequest, `"jsonrpc" must be "2.0"`)
	case m.Method == "" && m.ID != nil && (m.Result != nil || m.Error != nil):
		c.answer(&m)
	case m.Method == "":
		c.refuse(id, CodeInvalidRequest, "a request needs a method")
	case m.ID == nil && m.Method == "$/cancelRequest":
		c.cancelRequest(m.Params)
	case m.ID == nil:
		q.push(&request{method: m.Method, params: m.Params, ctx: ctx})
	default:
		rctx, cancel := context.WithCancelCause(ctx)
		r := &request{id: m.ID, method: m.Method, params: m.Params, ctx: rctx, cancel: cancel}
		c.mu.Lock()
		c.inflight[string(m.ID)] = r
		c.mu.Unlock()
		q.push(r)
	}
}

func validID(id json.RawMessage) bool {
	switch id[0] {
	case '"', '-', 'n', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

// answer hands the host's answer to the Call waiting for it.
func (c *Conn) answer(m *message) {
	c.mu.Lock()
	ch, ok := c.pending[string(m.ID)]
	delete(c.pending, string(m.ID))
	c.mu.Unlock()
	if !ok {
		logf("dropped an answer to id %s, which no call is waiting for", m.ID)
		return
	}
	ch <- m
}

func (c *Conn) cancelRequest(params json.RawMessage) {
	var p struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.ID == nil {
		logf("ignored a $/cancelRequest without an id: %s", params)
		return
	}
	c.mu.Lock()
	r := c.inflight[string(p.ID)]
	c.mu.Unlock()
	if r != nil {
		r.cancel(errCancelledByHost)
	}
}

// dispatch takes messages off the queue in wire order: it runs
// notifications inline and starts a goroutine for each request.
func (c *Conn) dispatch(ctx context.Context, q *queue) error {
	for {
		r, ok := q.pop(ctx)
		if !ok {
			return ctx.Err()
		}
		if r.id == nil {
			if r.method == "exit" {
				if h := c.srv.Notifications["exit"]; h != nil {
					c.notification(h, r)
				}
				return errExit
			}
			if h := c.srv.Notifications[r.method]; h != nil && !c.shutdown {
				c.notification(h, r)
			}
			continue
		}
		h := c.srv.Requests[r.method]
		switch {
		case c.shutdown:
			c.finish(r, nil, &Error{Code: CodeInvalidRequest, Message: r.method + ": the server has been shut down"})
		case r.method == "shutdown":
			c.shutdown = true
			if h == nil {
				c.finish(r, nil, nil)
			} else {
				go c.serve(h, r)
			}
		case h == nil:
			c.finish(r, nil, &Error{Code: CodeMethodNotFound, Message: "method not found: " + r.method})
		default:
			go c.serve(h, r)
		}
	}
}

func (c *Conn) notification(h func(context.Context, *Conn, json.RawMessage), r *request) {
	defer func() {
		if p := recover(); p != nil {
			logf("the %s notification handler panicked: %v\n%s", r.method, p, debug.Stack())
		}
	}()
	h(r.ctx, c, r.params)
}

func (c *Conn) serve(h Handler, r *request) {
	defer func() {
		if p := recover(); p != nil {
			logf("the %s handler panicked: %v\n%s", r.method, p, debug.Stack())
			c.finish(r, nil, &Error{Code: CodeInternalError, Message: fmt.Sprintf("%s: the handler panicked: %v", r.method, p)})
		}
	}()
	result, err := h(r.ctx, c, r.params)
	c.finish(r, result, err)
}

// finish answers r once: -32800 if the host cancelled it, else the error
// or the result, or -32603 if the result cannot be encoded or is over the cap.
func (c *Conn) finish(r *request, result any, err error) {
	if !r.answered.CompareAndSwap(false, true) {
		return
	}
	cancelled := context.Cause(r.ctx) == errCancelledByHost
	r.cancel(nil)
	c.mu.Lock()
	if c.inflight[string(r.id)] == r {
		delete(c.inflight, string(r.id))
	}
	c.mu.Unlock()

	if cancelled {
		c.refuse(r.id, CodeRequestCancelled, r.method+": cancelled")
		return
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: CodeInternalError, Message: err.Error()}
		}
		c.writeError(r.id, e)
		return
	}
	b, err := json.Marshal(result)
	if err != nil {
		c.refuse(r.id, CodeInternalError, fmt.Sprintf("%s: encode the result: %v", r.method, err))
		return
	}
	data := make([]byte, 0, len(b)+len(r.id)+32)
	data = append(data, `{"jsonrpc":"2.0","id":`...)
	data = append(data, r.id...)
	data = append(data, `,"result":`...)
	data = append(data, b...)
	data = append(data, '}')
	if len(data) > c.maxBytes {
		c.refuse(r.id, CodeInternalError, fmt.Sprintf("%s: the result is %d bytes, over the %d-byte message cap", r.method, len(data), c.maxBytes))
		return
	}
	if err := c.write(data); err != nil && !errors.Is(err, ErrClosed) {
		logf("answer %s: %v", r.method, err)
	}
}

func (c *Conn) refuse(id json.RawMessage, code int64, msg string) {
	c.writeError(id, &Error{Code: code, Message: msg})
}

func (c *Conn) writeError(id json.RawMessage, e *Error) {
	data, err := json.Marshal(&message{JSONRPC: "2.0", ID: id, Error: e})
	if err == nil {
		err = c.write(data)
	}
	if err != nil && !errors.Is(err, ErrClosed) {
		logf("send error %d: %v", e.Code, err)
	}
}

func (c *Conn) write(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.ended {
		return ErrClosed
	}
	return c.t.Write(data)
}

// Notify sends a notification to the host. params is encoded with
// encoding/json and left out when nil. It fails with ErrClosed after the
// session ended, and without sending anything when ctx is already done or
// the message would be over the session's cap.
func (c *Conn) Notify(ctx context.Context, method string, params any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := c.encode(nil, method, params)
	if err != nil {
		return err
	}
	return c.write(data)
}

// Call sends a request to the host and waits for its answer, which it
// decodes into result (unless result is nil). An error answer is returned
// as an *Error. When ctx ends first, Call tells the host with
// $/cancelRequest and returns ctx's error.
func (c *Conn) Call(ctx context.Context, method string, params, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id := strconv.AppendInt(nil, c.nextID.Add(1), 10)
	data, err := c.encode(id, method, params)
	if err != nil {
		return err
	}
	ch := make(chan *message, 1)
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return ErrClosed
	default:
	}
	c.pending[string(id)] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, string(id))
		c.mu.Unlock()
	}
	if err := c.write(data); err != nil {
		forget()
		return err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return m.Error
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("decode the answer to %s: %w", method, err)
		}
		return nil
	case <-ctx.Done():
		forget()
		if err := c.Notify(context.WithoutCancel(ctx), "$/cancelRequest", map[string]json.RawMessage{"id": id}); err != nil && !errors.Is(err, ErrClosed) {
			logf("cancel %s: %v", method, err)
		}
		return ctx.Err()
	case <-c.done:
		return ErrClosed
	}
}

// encode builds a request (id non-nil) or notification, refusing one over
// the cap.
func (c *Conn) encode(id json.RawMessage, method string, params any) ([]byte, error) {
	m := message{JSONRPC: "2.0", ID: id, Method: method}
	if params != nil {
		p, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("encode the params of %s: %w", method, err)
		}
		if string(p) != "null" {
			m.Params = p
		}
	}
	data, err := json.Marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", method, err)
	}
	if len(data) > c.maxBytes {
		return nil, fmt.Errorf("send %s: %w", method, &TooLargeError{Size: len(data), Max: c.maxBytes})
	}
	return data, nil
}

// TooLargeError reports a message over the cap. A Transport's Read returns
// one (after skipping the message) to have the SDK answer -32600 and go on;
// Conn.Notify and Conn.Call return one wrapped.
type TooLargeError struct {
	Size, Max int
}

// Error says how large the message was and what the cap is.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("a message of %d bytes is over the %d-byte cap", e.Size, e.Max)
}

// stderr is the process's standard error as it was started, which the host
// reads as the plugin's log. It is not os.Stderr, which go-plugin's Serve
// replaces with a pipe of its own (racing with any goroutine that reads it).
var stderr = os.NewFile(2, "/dev/stderr")

// logf writes a line to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(stderr, "sdk: "+format+"\n", args...)
}

// queue is the unbounded FIFO between the reading and the dispatching
// goroutine. It is unbounded so that reading never waits for a handler: a
// notification handler that Calls the host needs the answer to be read.
type queue struct {
	mu     sync.Mutex
	items  []*request
	closed bool
	wake   chan struct{}
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

func (q *queue) push(r *request) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	q.signal()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop returns the next item, or false once the queue is closed and empty or
// ctx is done.
func (q *queue) pop(ctx context.Context) (*request, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			r := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			return r, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}
