package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gathering-dev/gathering/auth"
	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace"
)

// Defaults for [Config] fields left zero.
const (
	DefaultMaxFrameBytes    = 64 << 20
	DefaultMaxDocumentBytes = 8 << 20
	DefaultMaxInFlight      = 256
	DefaultMaxSessions      = 256
)

// Projects is what the server needs of the project service
// (*workspace.Projects provides it).
type Projects interface {
	Create(ctx context.Context, name, root string) (store.Project, error)
	Get(ctx context.Context, id string) (store.Project, error)
	List(ctx context.Context, opt store.ListOptions) ([]store.Project, string, error)
	Update(ctx context.Context, id string, u store.ProjectUpdate) (store.Project, error)
	Delete(ctx context.Context, id string) error
	EnsureFolder(ctx context.Context, uri, name string) (store.Project, error)
}

// Config configures a [Server]. A nil *Config means all defaults.
type Config struct {
	// Logger receives structured logs. nil discards them.
	Logger *slog.Logger
	// Version is reported by initialize and gathering/status.
	Version string
	// InstanceID names this process among several sharing a store; random
	// when empty.
	InstanceID string
	// Store describes the store for gathering/status.
	Store protocol.StoreStatus
	// MaxFrameBytes caps one incoming message (default 64 MiB).
	MaxFrameBytes int64
	// MaxDocumentBytes is the size above which a document is tracked but
	// marked oversize and kept from plugins (default 8 MiB).
	MaxDocumentBytes int64
	// MaxInFlight caps concurrent requests per session (default 256); more
	// are answered with a too_many_requests error.
	MaxInFlight int
	// MaxSessions caps concurrent TCP sessions (default 256).
	MaxSessions int
	// DebugMethods enables gathering/debug/*.
	DebugMethods bool
	// Plugins runs the language plugins; nil serves no language features.
	Plugins *host.Host
	// Workspace configures the file, git and search methods (see
	// [workspace.Config]); nil means the defaults.
	Workspace *workspace.Config
	// Auth authenticates TCP sessions and serves the accounts, tokens,
	// audit and membership methods. nil means no accounts: sessions that
	// start unauthenticated can then do nothing.
	Auth *auth.Service
	// RequestRate and RequestBurst limit the requests of one connection that
	// is not the local owner's (default 200/s, bursts of 400);
	// UserRequestRate and UserRequestBurst those of one user over all its
	// connections to this instance (default 400/s, bursts of 800); and
	// LoginRate and LoginBurst the logins of one connection (default 1/s,
	// bursts of 5). Over-limit requests answer rate_limited with
	// data.retryAfterMs. A negative rate means no limit.
	RequestRate, UserRequestRate, LoginRate    float64
	RequestBurst, UserRequestBurst, LoginBurst int

	// Test holds knobs for tests only.
	Test TestConfig
}

// TestConfig holds settings that only tests change.
type TestConfig struct {
	// ParentPollInterval is how often a stdio session checks that the
	// process named by initialize's processId is alive (default 2 s).
	ParentPollInterval time.Duration
}

// TransportStdio names a session on the process's stdin and stdout, the
// one kind whose client is the process that started the server.
const TransportStdio = "stdio"

// Server holds what every session shares. Its methods are safe for
// concurrent use.
type Server struct {
	cfg       Config
	log       *slog.Logger
	projects  Projects
	startedAt time.Time
	methods   map[string]*method
	files     *workspace.Service
	// Request limits, keyed by session ID, user ID and session ID.
	connLimit, userLimit, loginLimit *auth.Limiter

	mu       sync.Mutex
	sessions map[*Session]struct{}

	// requests counts the requests running in every session, with
	// drainingBit set once Shutdown has begun (set under mu, so that add
	// sees it); an atomic rather than mu, as every request begins and ends
	// through it.
	requests atomic.Int64
	idle     chan struct{} // closed when no request runs during a drain; made before drainingBit is set
	idleOnce sync.Once
}

// drainingBit marks Server.requests once the server drains.
const drainingBit = 1 << 62

// New returns a server that serves projects through p.
func New(p Projects, cfg *Config) *Server {
	s := &Server{projects: p, startedAt: time.Now(), sessions: map[*Session]struct{}{}}
	if cfg != nil {
		s.cfg = *cfg
	}
	c := &s.cfg
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.InstanceID == "" {
		c.InstanceID = randomID()
	}
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.MaxDocumentBytes <= 0 {
		c.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	s.log = c.Logger
	s.methods = methodTable(c.DebugMethods)
	s.files = workspace.NewService(p, c.Workspace)
	s.connLimit = auth.NewLimiter(orDefault(c.RequestRate, 200), orDefault(c.RequestBurst, 400))
	s.userLimit = auth.NewLimiter(orDefault(c.UserRequestRate, 400), orDefault(c.UserRequestBurst, 800))
	s.loginLimit = auth.NewLimiter(orDefault(c.LoginRate, 1), orDefault(c.LoginBurst, 5))
	return s
}

// ServeConn runs one session on rwc until the client exits or the stream
// ends, and returns the session's exit code: 0 after shutdown then exit, 1
// otherwise. transport names the connection kind in logs and status.
func (s *Server) ServeConn(ctx context.Context, rwc io.ReadWriteCloser, transport string, p Principal) int {
	sess := newSession(s, transport, p)
	if ra, ok := rwc.(interface{ RemoteAddr() net.Addr }); ok && ra.RemoteAddr() != nil {
		sess.remote = ra.RemoteAddr().String()
	}
	if !s.add(sess) {
		rwc.Close()
		return 1
	}
	defer s.remove(sess)
	return sess.run(ctx, rwc)
}

// Serve accepts TCP clients on ln, each its own session acting for p, until
// ctx is done or ln is closed. It closes ln before returning. Pass the zero
// Principal to make every client authenticate (see [Config.Auth]).
func (s *Server) Serve(ctx context.Context, ln net.Listener, p Principal) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		if s.sessionCount() >= s.cfg.MaxSessions {
			s.log.Warn("refused connection: too many sessions", slog.String("remote", conn.RemoteAddr().String()), slog.Int("max", s.cfg.MaxSessions))
			conn.Close()
			continue
		}
		wg.Go(func() {
			s.ServeConn(ctx, conn, "tcp", p)
		})
	}
}

// Shutdown stops taking new requests, waits for the running ones to finish
// or for ctx to end, then cancels whatever still runs and closes every
// session. It returns ctx.Err() when the drain ran out of time.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	before := s.requests.Or(drainingBit)
	s.mu.Unlock()
	if before == 0 {
		s.closeIdle() // nothing runs, and no earlier Shutdown began
	}

	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
		// Out of time: cancel what still runs, so each request answers
		// -32800 instead of vanishing, and give the answers a moment.
		for _, sess := range s.snapshotSessions() {
			sess.cancelAll()
		}
		select {
		case <-idle:
		case <-time.After(cancelGrace):
		}
	}
	for _, sess := range s.snapshotSessions() {
		sess.close()
	}
	s.files.Close()
	return err
}

// cancelGrace is how long cancelled requests get to answer before a
// shutdown closes their sessions.
const cancelGrace = time.Second

func (s *Server) snapshotSessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		out = append(out, sess)
	}
	return out
}

func (s *Server) add(sess *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining() {
		return false
	}
	s.sessions[sess] = struct{}{}
	return true
}

func (s *Server) remove(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	s.connLimit.Forget(sess.id)
	s.connLimit.Forget(sess.id + "\x00notifications")
	s.loginLimit.Forget(sess.id)
	reportLimit.Forget(sess.id + "\x00dropped")
	reportLimit.Forget(sess.id + "\x00refused")
}

func (s *Server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// draining reports whether Shutdown has begun.
func (s *Server) draining() bool { return s.requests.Load()&drainingBit != 0 }

// begin counts a request as running, unless the server is draining.
func (s *Server) begin() bool {
	if s.requests.Add(1)&drainingBit != 0 {
		s.end()
		return false
	}
	return true
}

// end counts a request as finished.
func (s *Server) end() {
	if s.requests.Add(-1) == drainingBit {
		s.closeIdle()
	}
}

// closeIdle tells Shutdown that no request runs any more.
func (s *Server) closeIdle() { s.idleOnce.Do(func() { close(s.idle) }) }

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
