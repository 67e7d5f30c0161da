package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/auth"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace"
)

// lockedBuffer collects the server's logs, so the fuzz test can find
// recovered panics, which the session otherwise turns into answers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fuzzFrameBytes is the frame cap of the fuzzed servers: what one message
// can make the server hold.
const fuzzFrameBytes = 64 << 10

// fuzzAllocBound is how many bytes one fuzz input may make the process
// allocate in all, through a session's requests and answers: a fixed
// allowance for a session's round trips, store writes and logs (the seeds
// take at most 200 KiB, a search), a multiple of the input for decoding it
// (the seeds' 40 to 64 KiB inputs take at most 25 times their size in all),
// and the memory of a password hash for the methods that check or set a
// password. An input whose cost grows faster than that — a decoder
// that expands nesting, a copy per level — fails.
func fuzzAllocBound(input int, method string) uint64 {
	n := 1<<20 + 32*uint64(input)
	switch method {
	case protocol.MethodAuthLogin, protocol.MethodUserCreate, protocol.MethodUserUpdate:
		n += auth.PasswordHashBytes
	}
	return n
}

// allocated runs fn and returns how many bytes the process allocated
// meanwhile: fn's own allocations and the server's, which answers on other
// goroutines of the same process.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// answered fails t unless err is an answer of the server: nil or a protocol
// error, not a timeout or a closed connection.
func answered(t *testing.T, ctx context.Context, what string, err error) {
	t.Helper()
	if ctx.Err() != nil {
		t.Fatalf("%s: no answer in time (%v)", what, err)
	}
	if _, ok := errors.AsType[*protocol.Error](err); err != nil && !ok {
		t.Fatalf("%s: %v, want an answer", what, err)
	}
}

// fuzzServer starts a server with accounts on a real store, capped at
// fuzzFrameBytes, with no rate limits (a fuzzer calls faster than any
// limit), logging errors into logs. It has one project, which it returns,
// and a viewer who is a member of it.
func fuzzServer(f *testing.F, acfg *auth.Config) (srv *Server, logs *lockedBuffer, a *auth.Service, project store.Project) {
	dir := f.TempDir()
	st := openStore(f, dir)
	a, err := auth.New(st, acfg)
	if err != nil {
		f.Fatal(err)
	}
	logs = &lockedBuffer{}
	srv = New(workspace.NewProjects(st, nil), &Config{
		DebugMethods: true, Auth: a, MaxFrameBytes: fuzzFrameBytes,
		RequestRate: -1, UserRequestRate: -1, LoginRate: -1,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		f.Fatal(err)
	}
	p, err := st.CreateProject(f.Context(), store.Project{Name: "p", Root: root})
	if err != nil {
		f.Fatal(err)
	}
	by := auth.Actor{Name: "fuzz"}
	if _, err := a.CreateUser(f.Context(), "viewer@example.com", "", store.RoleViewer, "password-1", by); err != nil {
		f.Fatal(err)
	}
	if _, err := a.AddMember(f.Context(), p.ID, "viewer@example.com", by); err != nil {
		f.Fatal(err)
	}
	return srv, logs, a, p
}

// FuzzMethodParams sends arbitrary params to every registered method
// through real sessions on a real store, as the local owner (so every
// handler runs), as a viewer who is a member of the one project (so
// membership checks and the viewer's refusals run) and as an anonymous TCP
// client (so the path before authentication runs): no handler may panic,
// every request must be answered within seconds, the sessions must live on,
// and one input may allocate only within fuzzAllocBound per caller.
//
// gathering/debug/sleep is left out: holding a request open for up to a
// minute is what it is for.
func FuzzMethodParams(f *testing.F) {
	srv, logs, a, project := fuzzServer(f, nil)
	u, err := a.Store().GetUserByEmail(f.Context(), "viewer@example.com")
	if err != nil {
		f.Fatal(err)
	}
	callers := []Principal{LocalOwner("fuzz"), principalOf(auth.Identity{UserID: u.ID, Email: u.Email, Role: u.Role}), {}}
	table := methodTable(true)
	names := slices.Sorted(maps.Keys(table))
	names = slices.DeleteFunc(names, func(n string) bool { return n == protocol.MethodDebugSleep })
	for i := range names {
		for _, p := range []string{`{}`, `null`, `[]`, `{"id":"x","project":"y","email":"a@b","uri":"file:///a"}`,
			`{"projectId":"` + project.ID + `","path":"a"}`, `{"project":"` + project.ID + `","email":"viewer@example.com"}`,
			`{"textDocument":{"uri":"file:///a","version":1,"text":"x","languageId":"go"}}`,
			`{"name":"p","root":"` + project.Root + `"}`, `{"limit":-1}`, `"\u0000"`, `{"ttlSeconds":9223372036854775807}`} {
			f.Add(uint8(i), []byte(p))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, params []byte) {
		if !json.Valid(params) {
			params, _ = json.Marshal(string(params)) // still a message the client can frame
		}
		name := names[int(which)%len(names)]
		raw := json.RawMessage(params)
		for _, who := range callers {
			c := connect(t, srv, who)
			c.initialize(nil)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			grew := allocated(func() {
				if table[name].notification {
					if err := c.conn.Notify(ctx, name, &raw); err != nil {
						t.Fatalf("notify %s as %s: %v", name, who.describe(), err)
					}
				} else {
					err := c.conn.Call(ctx, name, &raw, nil)
					answered(t, ctx, name+" as "+who.describe()+" with "+string(params), err)
				}
				// The session lives on and answers (the anonymous caller
				// with unauthorized).
				err := c.conn.Call(ctx, protocol.MethodStatus, nil, nil)
				answered(t, ctx, "status after "+name+" as "+who.describe(), err)
				if err != nil && who.authenticated() {
					t.Fatalf("status after %s with %s as %s: %v", name, params, who.describe(), err)
				}
			})
			cancel()
			if l := logs.String(); strings.Contains(l, "panicked") {
				t.Fatalf("%s with %s as %s: a handler panicked:\n%s", name, params, who.describe(), l)
			}
			if grew > fuzzAllocBound(len(params), name) {
				t.Errorf("%s with %d bytes of params as %s allocated %d bytes", name, len(params), who.describe(), grew)
			}
		}
	})
}

// FuzzInitialize sends arbitrary initialize params to a fresh anonymous TCP
// session of a server that requires authentication: the one request such a
// client can make with a token in it before proving anything. Input that
// is not JSON becomes initializationOptions.token. The answer must come
// within seconds, nothing may panic, the session must go on answering
// (gathering/status, then shutdown with the same params), and one input
// may allocate only within fuzzAllocBound.
func FuzzInitialize(f *testing.F) {
	// Failed logins are counted and audited as in production, but never
	// refused: a refusal would stop the fuzzer at the token check.
	srv, logs, a, _ := fuzzServer(f, &auth.Config{LoginRate: -1, MaxAddrFailures: math.MaxInt32, MaxEmailFailures: math.MaxInt32})
	valid, _, err := a.CreateToken(f.Context(), "viewer@example.com", "fuzz", time.Hour, auth.Actor{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	withToken := func(tok string) string {
		b, _ := json.Marshal(map[string]any{"processId": 1, "rootUri": nil, "capabilities": map[string]any{},
			"initializationOptions": map[string]any{"token": tok}})
		return string(b)
	}
	for _, seed := range []string{
		withToken(valid), withToken(valid + "x"), withToken("gat_"), withToken(""), withToken("\x00\xff"),
		withToken(strings.Repeat("gat_A", (fuzzFrameBytes-200)/5)), // a huge token under the frame cap
		`{"initializationOptions":{"token":7}}`, `{"initializationOptions":{"token":null}}`, `{"initializationOptions":"gat_x"}`,
		`{"initializationOptions":[{"token":"gat_x"}]}`, `{"initializationOptions":{"token":"gat_x","token":"` + valid + `"}}`,
		`{"initializationOptions":` + strings.Repeat(`{"token":`, 5000) + `"x"` + strings.Repeat(`}`, 5000) + `}`,
		`{"capabilities":` + strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000) + `}`,
		`{"rootUri":"file:///","workspaceFolders":[{"uri":"file:///etc","name":"etc"}],"initializationOptions":{"token":"` + valid + `"}}`,
		`{"capabilities":{"general":{"positionEncodings":["utf-8","utf-32"]}},"processId":-1}`,
		`{}`, `null`, `[]`, `"x"`, `1e999`, `{"capabilities":{"textDocument":` + `"` + strings.Repeat("é", 20000) + `"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		if !json.Valid(params) {
			params = []byte(withToken(string(params)))
		}
		raw := json.RawMessage(params)
		c := connectOver(t, srv, "tcp", Principal{})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		grew := allocated(func() {
			answered(t, ctx, "initialize", c.conn.Call(ctx, "initialize", &raw, nil))
			answered(t, ctx, "status after initialize", c.conn.Call(ctx, protocol.MethodStatus, nil, nil))
			answered(t, ctx, "shutdown", c.conn.Call(ctx, "shutdown", &raw, nil))
		})
		if l := logs.String(); strings.Contains(l, "panicked") {
			t.Fatalf("initialize with %.200s: a handler panicked:\n%s", params, l)
		}
		if grew > fuzzAllocBound(len(params), "initialize") {
			t.Errorf("initialize with %d bytes of params allocated %d bytes", len(params), grew)
		}
	})
}
