package launch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
	"github.com/gathering-dev/gathering/protocol"
)

// messageStream is the host's end of a plugin's session, one JSON-RPC
// message at a time: a gRPC Session stream (grpcFrames) or a stdio
// plugin's pipes (stdioFrames). Send is called by the holder of
// conn.sendSem only, and msg is not kept once it returns; Recv only from
// the read loop.
type messageStream interface {
	Send(msg []byte) error
	Recv() ([]byte, error)
}

// grpcFrames is a go-plugin Session stream as a messageStream: one message
// per Frame.
type grpcFrames struct {
	s grpc.BidiStreamingClient[pluginv1.Frame, pluginv1.Frame]
}

func (g grpcFrames) Send(msg []byte) error { return g.s.Send(&pluginv1.Frame{Message: msg}) }

func (g grpcFrames) Recv() ([]byte, error) {
	f, err := g.s.Recv()
	if err != nil {
		return nil, err
	}
	return f.Message, nil
}

// deliveryQueue bounds the messages from the plugin that wait for the
// Handler. When it is full the read loop stops reading, so gRPC's flow
// control slows the plugin down instead of the host buffering a flood.
const deliveryQueue = 64

// conn speaks JSON-RPC 2.0 as the LSP client over one Session stream: it
// numbers its requests, matches the answers, sends $/cancelRequest when a
// caller gives up, and hands the plugin's notifications and requests to a
// Handler in wire order on one delivery goroutine, so that a slow Handler
// never holds up the answers to calls. All methods are safe for concurrent
// use.
type conn struct {
	stream   messageStream
	handler  Handler
	maxBytes int
	log      *slog.Logger
	trace    func(outgoing bool, msg []byte)

	// sendSem admits one sender at a time (gRPC streams allow one). It is a
	// channel rather than a mutex so that a caller waiting behind a Send
	// that flow control holds up (a plugin that stopped reading) gives up
	// when its context ends.
	sendSem chan struct{}

	nextID atomic.Int64

	mu      sync.Mutex
	pending map[int64]chan *envelope
	async   map[int64]*asyncCall
	// expiry fires at the earliest deadline of the async calls, expiryAt;
	// it is re-armed only for a deadline earlier than that one, so calls
	// answered in time cost no timer of their own (a timer per call cost
	// several µs of each round trip: arming one wakes the netpoller).
	expiry   *time.Timer
	expiryAt time.Time
	incoming map[string]context.CancelFunc // the plugin's requests being handled, by raw id
	failed   bool

	done  chan struct{} // closed by fail
	cause error         // why the conn ended; set before done closes

	// ctx is cancelled when the conn ends; the Handler's calls derive from it.
	ctx    context.Context
	cancel context.CancelFunc

	deliver chan *envelope

	malformed atomic.Int64 // frames that were not JSON-RPC, for tests and status

	// onEnd, when set, is told the read loop's error instead of the conn
	// failing at once, so that the owner can find a better cause (the
	// process's exit status) and then call fail.
	onEnd func(error)

	// crashed is the error for a call the plugin did not answer because
	// the conn ended for cause.
	crashed func(cause error) error

	// wbuf is where start encodes its requests; the holder of sendSem
	// owns it.
	wbuf []byte
}

// envelope is any JSON-RPC message, decoded once: a request (ID and Method),
// a notification (Method only) or a response (ID and Result or Error).
type envelope struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`

	// ctx is set for requests from the plugin: it ends when the plugin
	// cancels the request or the conn ends.
	ctx context.Context
}

// wireError is a JSON-RPC error object as the plugin sent it.
type wireError struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func newConn(stream messageStream, h Handler, maxBytes int, log *slog.Logger, trace func(bool, []byte), crashed func(error) error) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		stream:   stream,
		crashed:  crashed,
		handler:  h,
		maxBytes: maxBytes,
		log:      log,
		trace:    trace,
		sendSem:  make(chan struct{}, 1),
		pending:  make(map[int64]chan *envelope),
		async:    make(map[int64]*asyncCall),
		incoming: make(map[string]context.CancelFunc),
		done:     make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
		deliver:  make(chan *envelope, deliveryQueue),
	}
}

// run reads the stream until it ends, then fails the conn with what ended
// it. It also runs the delivery goroutine. Call it once.
func (c *conn) run() {
	go c.deliverLoop()
	defer close(c.deliver)
	for {
		msg, err := c.stream.Recv()
		if err != nil {
			err = fmt.Errorf("session stream ended: %w", err)
			if c.onEnd != nil {
				c.onEnd(err)
			} else {
				c.fail(err)
			}
			return
		}
		if c.trace != nil {
			c.trace(false, msg)
		}
		if !c.receive(msg) {
			return
		}
	}
}

// receive routes one message from the plugin; it reports false once the
// conn has failed and reading should stop. An answer to a forwarded
// request costs no allocation here: e is copied to the heap only to be
// handed to another goroutine.
func (c *conn) receive(msg []byte) bool {
	var e envelope
	if err := decodeEnvelope(msg, &e); err != nil || (e.Method == "" && e.ID == nil) {
		// Logged at a falling rate: a plugin could send nothing else.
		if n := c.malformed.Add(1); n <= 10 || n&(n-1) == 0 {
			c.log.Warn("plugin sent a frame that is not a JSON-RPC message; dropped", "bytes", len(msg), "error", err, "so_far", n)
		}
		return true
	}
	if e.Method == "" {
		c.response(e)
		return true
	}
	if e.ID == nil && e.Method == "$/cancelRequest" {
		// Cancel here rather than in the queue: the request it names may be
		// the one the delivery goroutine is running.
		var p struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(e.Params, &p) == nil {
			c.mu.Lock()
			cancel := c.incoming[string(p.ID)]
			c.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		}
		return true
	}
	if e.ID != nil {
		var cancel context.CancelFunc
		e.ctx, cancel = context.WithCancel(c.ctx)
		c.mu.Lock()
		c.incoming[string(e.ID)] = cancel
		c.mu.Unlock()
	}
	queued := new(envelope)
	*queued = e
	select {
	case c.deliver <- queued:
		return true
	case <-c.done:
		return false
	}
}

// response hands an answer to the Call waiting for it.
func (c *conn) response(e envelope) {
	id, err := strconv.ParseInt(string(e.ID), 10, 64)
	c.mu.Lock()
	a := c.async[id]
	var ch chan *envelope
	if a != nil {
		delete(c.async, id)
	} else {
		ch = c.pending[id]
		delete(c.pending, id)
	}
	c.mu.Unlock()
	if err == nil && a != nil {
		a.done.Answer(e.answer())
		return
	}
	if err != nil || ch == nil {
		// Late answers to calls whose caller gave up land here too.
		c.log.Debug("plugin answered a request the host is not waiting for; dropped", "id", string(e.ID))
		return
	}
	waited := new(envelope)
	*waited = e
	ch <- waited
}

// deliverLoop gives the plugin's notifications and requests to the Handler,
// one at a time, in the order they arrived.
func (c *conn) deliverLoop() {
	for e := range c.deliver {
		if e.ID == nil {
			if c.handler != nil {
				c.handler.Notification(c.ctx, e.Method, e.Params)
			}
			continue
		}
		c.serveRequest(e)
	}
}

// serveRequest answers one request from the plugin with the Handler's
// result. Its context ends when the plugin cancels it or the conn ends.
func (c *conn) serveRequest(e *envelope) {
	var result any
	var err error
	if c.handler == nil {
		err = protocol.Errorf(protocol.ErrMethodNotFound, "%s", e.Method)
	} else {
		result, err = c.handler.Request(e.ctx, e.Method, e.Params)
	}
	c.mu.Lock()
	if cancel := c.incoming[string(e.ID)]; cancel != nil {
		cancel()
	}
	delete(c.incoming, string(e.ID))
	c.mu.Unlock()
	var msg []byte
	if err != nil {
		msg, err = encodeError(e.ID, err)
	} else {
		msg, err = encodeResult(e.ID, result)
	}
	if err != nil {
		c.log.Error("cannot encode the answer to the plugin's request", "method", e.Method, "error", err)
		msg, _ = encodeError(e.ID, protocol.Errorf(protocol.ErrInternal, "encode answer to %s: %v", e.Method, err))
	}
	if err := c.send(c.ctx, msg); err != nil && !errors.Is(err, errConnDone) && c.ctx.Err() == nil {
		c.log.Warn("cannot answer the plugin's request", "method", e.Method, "error", err)
	}
}

// errConnDone is returned by send once the conn has ended.
var errConnDone = errors.New("session ended")

// send writes one message as one Frame. A message over the cap is refused
// here: gRPC would end the whole stream over it. Waiting for another
// sender ends with ctx; a Send already under way is not abandoned.
func (c *conn) send(ctx context.Context, msg []byte) error {
	if len(msg) > c.maxBytes {
		return tooLarge(len(msg), c.maxBytes)
	}
	if err := c.lockSend(ctx); err != nil {
		return err
	}
	defer func() { <-c.sendSem }()
	return c.sendLocked(msg)
}

func tooLarge(n, max int) error {
	return protocol.Errorf(protocol.ErrTooLarge, "message of %d bytes is over the %d-byte limit for plugin messages", n, max)
}

// lockSend takes the right to send, sendSem, until ctx ends or the conn
// does. The caller releases it with <-c.sendSem.
func (c *conn) lockSend(ctx context.Context) error {
	select {
	case <-c.done:
		return errConnDone
	default:
	}
	select {
	case c.sendSem <- struct{}{}: // the usual case, without the general select's cost
		return nil
	default:
	}
	select {
	case c.sendSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return errConnDone
	}
}

// sendLocked is send for the holder of sendSem.
func (c *conn) sendLocked(msg []byte) error {
	if len(msg) > c.maxBytes {
		return tooLarge(len(msg), c.maxBytes)
	}
	if c.trace != nil {
		c.trace(true, msg)
	}
	if err := c.stream.Send(msg); err != nil {
		// The stream is broken; Recv reports why, and the conn fails then.
		return fmt.Errorf("session stream: send: %w", err)
	}
	return nil
}

// fail ends the conn once, with cause: every pending call and the
// Handler's contexts see it.
func (c *conn) fail(cause error) {
	c.mu.Lock()
	if c.failed {
		c.mu.Unlock()
		return
	}
	c.failed = true
	c.cause = cause
	async := c.async
	c.async = nil
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.mu.Unlock()
	close(c.done)
	c.cancel()
	for _, a := range async {
		a.done.Answer(nil, c.crashed(cause))
	}
}

// err returns why the conn ended, or nil while it lives.
func (c *conn) err() error {
	select {
	case <-c.done:
		return c.cause
	default:
		return nil
	}
}

// call sends a request and waits for its answer, the end of ctx, or the end
// of the conn. When ctx ends first it sends $/cancelRequest for the request
// and returns a *CallError wrapping ctx's error. When the conn ends first it
// returns c.crashed(cause).
func (c *conn) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, &CallError{Method: method, Ctx: err}
	}
	id := c.nextID.Add(1)
	msg, err := encodeRequest(id, method, params)
	if err != nil {
		return nil, err
	}
	ch := make(chan *envelope, 1)
	c.mu.Lock()
	if c.failed {
		c.mu.Unlock()
		return nil, c.crashed(c.cause)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.send(ctx, msg); err != nil {
		c.forget(id)
		if errors.Is(err, protocol.ErrTooLarge) {
			return nil, err
		}
		if ctx.Err() != nil && c.err() == nil {
			return nil, &CallError{Method: method, Ctx: ctx.Err()}
		}
		// The stream is gone: wait for the conn to fail with the cause.
		select {
		case <-c.done:
			return nil, c.crashed(c.cause)
		case <-ctx.Done():
			return nil, &CallError{Method: method, ID: id, Ctx: ctx.Err()}
		}
	}
	select {
	case e := <-ch:
		return e.answer()
	case <-ctx.Done():
		c.forget(id)
		c.sendCancel(id)
		return nil, &CallError{Method: method, ID: id, Ctx: ctx.Err(), Sent: true}
	case <-c.done:
		select {
		case e := <-ch: // answered just before the end
			return e.answer()
		default:
		}
		c.forget(id)
		return nil, c.crashed(c.cause)
	}
}

// An Answer receives the answer to a request sent with [Instance.Go]: the
// plugin's result, or the error Call would have returned.
type Answer interface {
	Answer(result json.RawMessage, err error)
}

// A Canceler ends a request sent with [Instance.Go] before its answer.
type Canceler interface {
	Cancel()
}

// asyncCall is a request sent by start: its answer goes to done, on the
// read loop, instead of to a waiting caller. It is its own Canceler, so
// that a forwarded request costs no closure for its cancel.
type asyncCall struct {
	c        *conn
	id       int64
	method   string
	deadline time.Time
	done     Answer
}

// Cancel ends the call with context.Canceled, $/cancelRequest sent, unless
// it has been answered.
func (a *asyncCall) Cancel() {
	if a.c.takeAsync(a.id) != nil {
		a.c.cancelAsync(a, context.Canceled)
	}
}

// noCancel is the Canceler of a request that has already been answered.
type noCancel struct{}

func (noCancel) Cancel() {}

// start sends a request without waiting for it: done gets exactly once
// what call would have returned. It runs on the read loop when the plugin
// answers, on the goroutine that noticed when the conn ends, when the
// deadline passes (after $/cancelRequest has been queued; a zero deadline
// is none) or when the caller cancels, or on this one, before start
// returns, when the request cannot be sent. ctx bounds only the sending:
// the call is ended early with the Canceler start returns, which does
// nothing once done has run. Watching ctx instead (context.AfterFunc)
// cost each forwarded request five allocations and a lock on the parent
// context. done must not block: it holds up every answer behind it.
//
// The request is encoded into the conn's own buffer while start holds the
// right to send, so that it costs no allocation but its asyncCall: on a
// path that runs once per keystroke after the CPU's caches have gone cold,
// every object allocated is memory fetched. For the same reason params
// are not checked here: they must be one JSON value (or nil), which the
// caller has made sure of (Go's callers pass on what the editor's
// connection checked when it read the request).
func (c *conn) start(ctx context.Context, deadline time.Time, method string, params json.RawMessage, done Answer) Canceler {
	if err := ctx.Err(); err != nil {
		done.Answer(nil, &CallError{Method: method, Ctx: err})
		return noCancel{}
	}
	id := c.nextID.Add(1)
	a := &asyncCall{c: c, id: id, method: method, deadline: deadline, done: done}
	c.mu.Lock()
	if c.failed {
		c.mu.Unlock()
		done.Answer(nil, c.crashed(c.cause))
		return noCancel{}
	}
	c.async[id] = a
	if !deadline.IsZero() && (c.expiryAt.IsZero() || deadline.Before(c.expiryAt)) {
		c.armExpiry(deadline)
	}
	c.mu.Unlock()
	err := c.lockSend(ctx)
	if err == nil {
		msg := appendRequest(c.wbuf[:0], id, method, params)
		err = c.sendLocked(msg)
		if cap(msg) <= keptRequestBytes {
			c.wbuf = msg
		}
		<-c.sendSem
	}
	if err != nil {
		// A broken stream is left to fail, which answers the call with the
		// cause; a refusal or the caller giving up is answered here.
		if !errors.Is(err, protocol.ErrTooLarge) && (ctx.Err() == nil || c.err() != nil) {
			return noCancel{}
		}
		if a := c.takeAsync(id); a != nil {
			if ctx.Err() != nil {
				err = &CallError{Method: method, Ctx: ctx.Err()}
			}
			done.Answer(nil, err)
		}
		return noCancel{}
	}
	return a
}

// keptRequestBytes is the largest request buffer a conn keeps for the next.
const keptRequestBytes = 64 << 10

// cancelAsync ends a call taken from c.async for why: $/cancelRequest is
// queued and done gets the *CallError.
func (c *conn) cancelAsync(a *asyncCall, why error) {
	c.sendCancel(a.id)
	a.done.Answer(nil, &CallError{Method: a.method, ID: a.id, Ctx: why, Sent: true})
}

// sendCancel queues $/cancelRequest for request id. The plugin may be busy;
// nobody waits on this write.
func (c *conn) sendCancel(id int64) {
	go func() {
		if err := c.notify(c.ctx, "$/cancelRequest", cancelParams{ID: id}); err != nil && !errors.Is(err, errConnDone) {
			c.log.Debug("cannot send $/cancelRequest", "id", id, "error", err)
		}
	}()
}

// armExpiry sets the expiry timer to fire at at. Call it with c.mu held.
func (c *conn) armExpiry(at time.Time) {
	c.expiryAt = at
	if c.expiry == nil {
		c.expiry = time.AfterFunc(time.Until(at), c.expire)
		return
	}
	c.expiry.Reset(time.Until(at))
}

// expire ends the async calls whose deadline has passed and re-arms the
// timer for the earliest one left.
func (c *conn) expire() {
	now := time.Now()
	var expired []*asyncCall
	var next time.Time
	c.mu.Lock()
	for id, a := range c.async {
		switch {
		case a.deadline.IsZero():
		case !a.deadline.After(now):
			expired = append(expired, a)
			delete(c.async, id)
		case next.IsZero() || a.deadline.Before(next):
			next = a.deadline
		}
	}
	c.expiryAt = time.Time{}
	if !next.IsZero() && !c.failed {
		c.armExpiry(next)
	}
	c.mu.Unlock()
	for _, a := range expired {
		c.cancelAsync(a, context.DeadlineExceeded)
	}
}

// takeAsync removes and returns the async call id, nil if it is gone.
func (c *conn) takeAsync(id int64) *asyncCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.async[id]
	delete(c.async, id)
	return a
}

type cancelParams struct {
	ID int64 `json:"id"`
}

func (c *conn) forget(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// notify sends a notification; ctx bounds the wait for another sender.
func (c *conn) notify(ctx context.Context, method string, params any) error {
	msg, err := encodeRequest(0, method, params)
	if err != nil {
		return err
	}
	return c.send(ctx, msg)
}

// answer turns a response into Call's results: its result bytes (null when
// absent), or its error as a *protocol.Error.
func (e *envelope) answer() (json.RawMessage, error) {
	if e.Error != nil {
		return nil, pluginError(e.Error)
	}
	if len(e.Result) == 0 {
		return json.RawMessage("null"), nil
	}
	return e.Result, nil
}

// pluginError translates the plugin's error object into a *protocol.Error,
// keeping its code and message and naming a data code editors can branch on.
func pluginError(w *wireError) *protocol.Error {
	code := protocol.Internal
	switch w.Code {
	case protocol.CodeMethodNotFound:
		code = protocol.MethodNotFound
	case protocol.CodeInvalidParams:
		code = protocol.InvalidParams
	case protocol.CodeInvalidRequest:
		code = protocol.InvalidRequest
	case protocol.CodeParseError:
		code = protocol.ParseError
	case protocol.CodeRequestCancelled:
		code = protocol.Cancelled
	case protocol.CodeServerNotInitialized:
		code = protocol.NotInitialized
	}
	var d struct {
		Code protocol.Code `json:"code"`
	}
	if json.Unmarshal(w.Data, &d) == nil && d.Code != "" {
		code = d.Code
	}
	return &protocol.Error{RPCCode: w.Code, Message: w.Message, Data: protocol.ErrorData{Code: code}}
}

// CallError is what Call returns when its context ends before the plugin
// answers. It unwraps to both the context's error (context.DeadlineExceeded
// or context.Canceled) and the protocol error an editor should get
// (protocol.ErrPluginTimeout or protocol.ErrRequestCancelled).
type CallError struct {
	// Method is the request that was abandoned.
	Method string
	// ID is the request's JSON-RPC id, 0 if it was never sent.
	ID int64
	// Ctx is the context's error.
	Ctx error
	// Sent reports that $/cancelRequest was sent for ID.
	Sent bool
}

func (e *CallError) Error() string {
	what := "gave up"
	if errors.Is(e.Ctx, context.DeadlineExceeded) {
		what = "timed out"
	}
	s := fmt.Sprintf("plugin request %s %s: %v", e.Method, what, e.Ctx)
	if e.Sent {
		s += fmt.Sprintf("; $/cancelRequest sent for id %d", e.ID)
	}
	return s
}

// Unwrap returns the protocol error and the context's error.
func (e *CallError) Unwrap() []error {
	p := protocol.ErrRequestCancelled
	if errors.Is(e.Ctx, context.DeadlineExceeded) {
		p = protocol.ErrPluginTimeout
	}
	return []error{p, e.Ctx}
}
