package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gathering-dev/gathering/auth"
	"github.com/gathering-dev/gathering/internal/rpc"
	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/protocol/lsp"
	"github.com/gathering-dev/gathering/workspace/document"
)

// state is where a session is in the LSP lifecycle.
type state int

const (
	stateNew         state = iota // waiting for initialize
	stateInitialized              // initialize answered
	stateShutdown                 // shutdown received; only exit is left
)

// Session is one client connection. The read goroutine owns the lifecycle
// and the documents; request goroutines read snapshots only.
type Session struct {
	srv       *Server
	id        string
	transport string
	log       *slog.Logger
	docs      *document.Store
	conn      *rpc.Conn
	// remote is the client's network address, "" for stdio and pipes.
	remote string

	mu sync.Mutex
	// principal and token change when the session logs in or out; read
	// them through who.
	principal Principal
	token     *auth.TokenHash // the token the session authenticated with, if any
	state     state
	encoding  document.Encoding
	inflight  map[rpc.ID]*running // by request id
	plugins   *host.Session       // the session's language plugins; nil without any
	exitCode  int
	exited    chan struct{}
}

func newSession(s *Server, transport string, p Principal) *Session {
	id := randomID()
	return &Session{
		srv:       s,
		id:        id,
		transport: transport,
		principal: p,
		log:       s.log.With(slog.String("session", id), slog.String("transport", transport)),
		docs:      document.NewStore(&document.Config{MaxBytes: s.cfg.MaxDocumentBytes, Logger: s.log}),
		encoding:  document.UTF16,
		inflight:  map[rpc.ID]*running{},
		exitCode:  1,
		exited:    make(chan struct{}),
	}
}

// run serves the connection until exit, the end of the stream, or ctx.
func (s *Session) run(ctx context.Context, rwc io.ReadWriteCloser) int {
	s.log.Info("session started")
	conn := rpc.NewConn(ctx, rwc, s, &rpc.Options{MaxFrameBytes: s.srv.cfg.MaxFrameBytes, Logger: s.log, Take: s.take})
	s.mu.Lock()
	s.conn = conn // before Start, so handlers see it; under mu, so close does
	s.mu.Unlock()
	conn.Start()
	select {
	case <-s.conn.Done():
	case <-s.exited:
	}
	s.conn.Close()
	s.cancelAll()
	s.stopPlugins()
	s.mu.Lock()
	code := s.exitCode
	s.mu.Unlock()
	s.log.Info("session ended", slog.Int("exit_code", code))
	return code
}

// close ends the session from outside, as a server shutdown does.
func (s *Session) close() {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// Handle implements rpc.Handler. It runs on the read goroutine, in wire order.
func (s *Session) Handle(ctx context.Context, c *rpc.Conn, r *rpc.Request) {
	if r.Notif {
		s.handleNotification(ctx, r)
		return
	}
	s.handleRequest(ctx, r)
}

func (s *Session) handleNotification(ctx context.Context, r *rpc.Request) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("notification handler panicked", slog.String("method", r.Method), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		}
	}()
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	if r.Method == lsp.MethodExit {
		s.exit(st == stateShutdown)
		return
	}
	if st != stateInitialized {
		s.log.Debug("dropped notification outside the initialized state", slog.String("method", r.Method))
		return
	}
	m := s.srv.methods[r.Method]
	if m == nil || !m.notification {
		s.log.Debug("ignored unknown notification", slog.String("method", r.Method))
		return
	}
	if err := s.authorize(ctx, m, false); err != nil {
		// Over a limit or before logging in, authorize has reported it
		// (once a minute); a flood must not become one log line each.
		level := slog.LevelWarn
		if c := protocol.AsError(err).Data.Code; c == protocol.RateLimited || c == protocol.Unauthorized {
			level = slog.LevelDebug
		}
		s.log.Log(ctx, level, "denied notification", slog.String("method", r.Method), slog.Any("error", err))
		return
	}
	if _, err := m.handle(ctx, s, nil, r.Params); err != nil {
		// A bad notification is logged and dropped; it never ends the session.
		s.log.Warn("notification failed", slog.String("method", r.Method), slog.Any("error", err))
	}
}

func (s *Session) handleRequest(ctx context.Context, r *rpc.Request) {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	switch {
	case r.Method == lsp.MethodInitialize:
		if st != stateNew {
			s.replyError(ctx, r.ID, protocol.Errorf(protocol.ErrInvalidRequest, "initialize was already received"))
			return
		}
		// Inline: nothing may be read before the answer, and the client
		// sends nothing else until it has it.
		if err := s.authenticateInitialize(ctx, r.Params); err != nil {
			s.replyError(ctx, r.ID, err)
			return
		}
		res, err := s.initialize(ctx, r.Params)
		if err != nil {
			s.replyError(ctx, r.ID, err)
			return
		}
		s.mu.Lock()
		s.state = stateInitialized
		s.mu.Unlock()
		s.reply(ctx, r.ID, res)
		return
	case st == stateNew:
		s.replyError(ctx, r.ID, protocol.Errorf(protocol.ErrServerNotInitialized, "%s before initialize", r.Method))
		return
	case st == stateShutdown:
		s.replyError(ctx, r.ID, protocol.Errorf(protocol.ErrInvalidRequest, "%s after shutdown", r.Method))
		return
	case r.Method == lsp.MethodShutdown:
		s.mu.Lock()
		s.state = stateShutdown
		s.mu.Unlock()
		s.reply(ctx, r.ID, json.RawMessage("null"))
		return
	}

	m := s.srv.methods[r.Method]
	if m == nil || m.notification {
		s.replyError(ctx, r.ID, protocol.Errorf(protocol.ErrMethodNotFound, "%s", r.Method))
		return
	}
	if err := s.authorize(ctx, m, true); err != nil {
		s.replyError(ctx, r.ID, fmt.Errorf("%s: %w", r.Method, err))
		return
	}
	s.dispatch(ctx, m, r, false)
}

// take is rpc.Options.Take: a request for a method that can be forwarded
// to a plugin (a language request) is served as soon as its frame is read,
// since forwarding needs only its method, id and params. Anything else goes
// the usual way, through Handle. r is the codec's, valid only until take
// returns: dispatch copies it when the request goes on past that.
func (s *Session) take(ctx context.Context, _ *rpc.Conn, r *rpc.Request) bool {
	m := s.srv.methods[r.Method]
	if m == nil || m.forward == nil {
		return false
	}
	s.mu.Lock()
	st, p, tok := s.state, s.principal, s.token
	s.mu.Unlock()
	if st != stateInitialized {
		return false // the lifecycle's answers are handleRequest's
	}
	if err := s.authorizeAs(ctx, m, p, tok, true); err != nil {
		s.replyError(ctx, r.ID, fmt.Errorf("%s: %w", r.Method, err))
		return true
	}
	s.dispatch(ctx, m, r, true)
	return true
}

// dispatch runs an authorized request: inline, forwarded, or on a
// goroutine of its own. borrowed says r is valid only until dispatch
// returns (see take).
func (s *Session) dispatch(ctx context.Context, m *method, r *rpc.Request, borrowed bool) {
	// Count the request before taking s.mu: the server's lock is never
	// taken while a session's is held.
	if !s.srv.begin() {
		s.replyError(ctx, r.ID, protocol.ErrShuttingDown)
		return
	}
	if m.inline {
		defer s.srv.end()
		snap := s.docs.Snapshot()
		s.answer(ctx, ctx, m, &snap, r)
		return
	}
	run := &running{s: s, ctx: ctx, id: r.ID, method: m.name}
	s.mu.Lock()
	ps := s.plugins
	var refuse error
	if len(s.inflight) >= s.srv.cfg.MaxInFlight {
		refuse = protocol.Errorf(protocol.ErrTooManyInFlight, "%d requests are already running", s.srv.cfg.MaxInFlight)
	} else if _, dup := s.inflight[r.ID]; dup {
		refuse = protocol.Errorf(protocol.ErrInvalidRequest, "request id %s is already in use", r.ID)
	} else {
		s.inflight[r.ID] = run
	}
	s.mu.Unlock()
	if refuse != nil {
		s.srv.end()
		s.replyError(ctx, r.ID, refuse)
		return
	}

	if m.forward != nil && ps != nil && s.forward(ctx, m, ps, r, run) {
		return
	}
	if borrowed {
		r = &rpc.Request{Method: r.Method, ID: r.ID, Params: bytes.Clone(r.Params)}
	}
	rctx, cancel := context.WithCancel(ctx)
	s.setCancel(run, cancelFunc(cancel))
	snap := s.docs.Snapshot() // the documents as of this point on the wire
	go func() {
		defer s.srv.end()
		defer func() {
			s.mu.Lock()
			delete(s.inflight, run.id)
			s.mu.Unlock()
			cancel()
		}()
		s.answer(rctx, context.WithoutCancel(rctx), m, &snap, r)
	}()
}

// running is a request in flight: how to cancel it, once that is known,
// and whether that was asked before, guarded by the session's mu; and, for
// a forwarded request, what its answer needs, for it is its own host.Reply
// (one allocation where a closure would be another).
type running struct {
	cancel    canceler
	cancelled bool

	s      *Session
	ctx    context.Context
	id     rpc.ID
	method string
	start  time.Time // set when debug logging is on
}

// canceler cancels a running request: a forwarded request's
// host.Canceler, or the context of one running on its own goroutine.
type canceler interface{ Cancel() }

// cancelFunc is a context's cancel as a canceler.
type cancelFunc context.CancelFunc

func (f cancelFunc) Cancel() { f() }

// setCancel makes cancel the way to cancel run, calling it at once if
// cancelling was asked before it was known.
func (s *Session) setCancel(run *running, cancel canceler) {
	s.mu.Lock()
	run.cancel = cancel
	now := run.cancelled
	s.mu.Unlock()
	if now {
		cancel.Cancel()
	}
}

// forward offers the request to m.forward, with the session's plugins ps,
// which answers it with no goroutine waiting, and no context of its own
// either: cancelling it goes through the cancel it returns. The reply ends
// it as the request goroutine would.
func (s *Session) forward(ctx context.Context, m *method, ps *host.Session, r *rpc.Request, run *running) bool {
	if s.log.Enabled(ctx, slog.LevelDebug) {
		run.start = time.Now()
	}
	cancel, ok := m.forward(ctx, ps, r.Params, run)
	if ok {
		s.setCancel(run, cancel)
	}
	return ok
}

// Reply answers a forwarded request (host.Reply) and ends it.
func (run *running) Reply(res json.RawMessage, err error) {
	s := run.s
	defer s.srv.end()
	s.mu.Lock()
	delete(s.inflight, run.id)
	s.mu.Unlock()
	if !run.start.IsZero() {
		s.log.Debug("request", slog.String("method", run.method), slog.String("id", run.id.String()), slog.Duration("took", time.Since(run.start)), slog.Bool("forwarded", true), slog.Any("error", err))
	}
	// The session's context may have ended (that is how its requests are
	// cancelled at its end); the answer still goes out, since writing it
	// does not depend on ctx.
	if err != nil {
		s.replyError(context.WithoutCancel(run.ctx), run.id, err)
		return
	}
	s.unsent(run.id, s.conn.ReplyJSON(run.ctx, run.id, res)) // empty is null
}

// answer runs a request and replies: -32800 when ctx was cancelled and the
// handler gave up. Replies go out on replyCtx, which outlives cancellation.
func (s *Session) answer(ctx, replyCtx context.Context, m *method, snap *document.Snapshot, r *rpc.Request) {
	start := time.Now()
	res, err := s.call(ctx, m, snap, r.Params)
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("request", slog.String("method", r.Method), slog.String("id", r.ID.String()), slog.Duration("took", time.Since(start)), slog.Any("error", err))
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, protocol.ErrInvalidParams) {
			err = fmt.Errorf("%s: %w", r.Method, protocol.ErrRequestCancelled)
		}
		s.replyError(replyCtx, r.ID, err)
		return
	}
	s.reply(replyCtx, r.ID, res)
}

// call runs a request handler, turning a panic into an internal error.
func (s *Session) call(ctx context.Context, m *method, snap *document.Snapshot, params json.RawMessage) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("request handler panicked", slog.String("method", m.name), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			res, err = nil, protocol.Errorf(protocol.ErrInternal, "%s failed: internal error", m.name)
		}
	}()
	return m.handle(ctx, s, snap, params)
}

// cancel cancels the running request with the given id, if any.
func (s *Session) cancel(id rpc.ID) {
	s.mu.Lock()
	var cancel canceler
	if run := s.inflight[id]; run != nil {
		run.cancelled = true
		cancel = run.cancel
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel.Cancel()
	}
}

// cancelAll cancels every running request. The cancels run outside mu: a
// forwarded request's answers at once, and its reply takes mu.
func (s *Session) cancelAll() {
	s.mu.Lock()
	cancels := make([]canceler, 0, len(s.inflight))
	for _, run := range s.inflight {
		run.cancelled = true
		if run.cancel != nil {
			cancels = append(cancels, run.cancel)
		}
	}
	s.mu.Unlock()
	for _, cancel := range cancels {
		cancel.Cancel()
	}
}

func (s *Session) exit(clean bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.exited:
		return
	default:
	}
	if clean {
		s.exitCode = 0
	}
	close(s.exited)
}

func (s *Session) reply(ctx context.Context, id rpc.ID, res any) {
	s.unsent(id, s.conn.Reply(ctx, id, res))
}

// unsent logs a reply to id that could not be written (err non-nil).
func (s *Session) unsent(id rpc.ID, err error) {
	if err != nil {
		s.log.Debug("reply not sent", slog.String("id", id.String()), slog.Any("error", err))
	}
}

func (s *Session) replyError(ctx context.Context, id rpc.ID, err error) {
	e := protocol.AsError(err)
	if e.RPCCode == protocol.CodeInternalError {
		s.log.Error("request failed", slog.String("id", id.String()), slog.Any("error", err))
	}
	if err := s.conn.ReplyError(ctx, id, e); err != nil {
		s.log.Debug("error reply not sent", slog.String("id", id.String()), slog.Any("error", err))
	}
}

// notify sends a notification to the client, logging a failure.
func (s *Session) notify(ctx context.Context, method string, params any) {
	if err := s.conn.Notify(ctx, method, params); err != nil {
		s.log.Debug("notification not sent", slog.String("method", method), slog.Any("error", err))
	}
}
