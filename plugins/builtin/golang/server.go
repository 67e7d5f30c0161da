package golang

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

// Version is the go plugin's version, reported in serverInfo and sdk.Info.
const Version = "0.1.0"

// Server returns the go plugin: an [sdk.Server] named "go" whose handlers
// answer LSP for Go files (see the package documentation for what each
// method does and its limits). Each session the server serves (each
// [sdk.Conn]) has its own documents and package cache; the state ends with
// the session's shutdown or exit, or when publishing to it fails because it
// ended. The returned Server is safe for concurrent sessions.
func Server() *sdk.Server {
	r := &registry{sessions: map[*sdk.Conn]*session{}}
	srv := &sdk.Server{
		Info:          sdk.Info{Name: "go", Version: Version},
		Requests:      map[string]sdk.Handler{},
		Notifications: map[string]func(context.Context, *sdk.Conn, json.RawMessage){},
	}
	for method := range (&session{}).requests() { // the method names only
		srv.Requests[method] = func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			s := r.get(c)
			res, err := s.requests()[method](ctx, params)
			if method == "shutdown" {
				r.end(c)
			}
			var re *requestError
			if errors.As(err, &re) {
				return nil, &sdk.Error{Code: int64(re.code), Message: re.msg}
			}
			return res, err
		}
	}
	for method := range (&session{}).notifications() {
		srv.Notifications[method] = func(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
			s := r.get(c)
			err := s.notifications()[method](ctx, &conn{c: c, s: s}, params)
			if method == "exit" {
				r.end(c)
			}
			if err != nil {
				_ = c.Notify(ctx, "window/logMessage", map[string]any{"type": 1, "message": "go plugin: " + method + ": " + err.Error()})
			}
		}
	}
	return srv
}

// registry keeps one session per connection.
type registry struct {
	mu       sync.Mutex
	sessions map[*sdk.Conn]*session
}

func (r *registry) get(c *sdk.Conn) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[c]
	if s == nil {
		s = newSession()
		r.sessions[c] = s
	}
	return s
}

// end forgets c's session and stops its diagnostics loop.
func (r *registry) end(c *sdk.Conn) {
	r.mu.Lock()
	s := r.sessions[c]
	delete(r.sessions, c)
	r.mu.Unlock()
	if s != nil {
		s.shutdown()
	}
}

// conn is the notifier a session publishes through; once the session has
// ended on the host's side it stops the session's diagnostics loop.
type conn struct {
	c *sdk.Conn
	s *session
}

func (n *conn) Notify(ctx context.Context, method string, params any) error {
	err := n.c.Notify(ctx, method, params)
	if errors.Is(err, sdk.ErrClosed) {
		n.s.stop()
	}
	return err
}
