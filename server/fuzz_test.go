package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/auth"
	"github.com/gathering-dev/gathering/protocol"
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

// FuzzMethodParams sends arbitrary params to every registered method, as
// the local owner (so every handler runs), through a real session on a
// real store: no handler may panic, every request must be answered within
// seconds, and the session must live on. Frames are capped at 64 KiB, which
// bounds what one message can make the server hold.
//
// gathering/debug/sleep is left out: holding a request open for up to a
// minute is what it is for.
func FuzzMethodParams(f *testing.F) {
	dir := f.TempDir()
	st := openStore(f, dir)
	a, err := auth.New(st, nil)
	if err != nil {
		f.Fatal(err)
	}
	logs := &lockedBuffer{}
	srv := New(workspace.NewProjects(st, nil), &Config{
		DebugMethods: true, Auth: a, MaxFrameBytes: 64 << 10,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	table := methodTable(true)
	names := slices.Sorted(maps.Keys(table))
	names = slices.DeleteFunc(names, func(n string) bool { return n == protocol.MethodDebugSleep })
	root := filepath.Join(dir, "root")
	os.Mkdir(root, 0o755)
	for i := range names {
		for _, p := range []string{`{}`, `null`, `[]`, `{"id":"x","project":"y","email":"a@b","uri":"file:///a"}`,
			`{"textDocument":{"uri":"file:///a","version":1,"text":"x","languageId":"go"}}`,
			`{"name":"p","root":"` + root + `"}`, `{"limit":-1}`, `"\u0000"`, `{"ttlSeconds":9223372036854775807}`} {
			f.Add(uint8(i), []byte(p))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, params []byte) {
		if !json.Valid(params) {
			params, _ = json.Marshal(string(params)) // still a message the client can frame
		}
		name := names[int(which)%len(names)]
		c := connect(t, srv, LocalOwner("fuzz"))
		c.initialize(nil)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		raw := json.RawMessage(params)
		if table[name].notification {
			if err := c.conn.Notify(ctx, name, &raw); err != nil {
				t.Fatalf("notify %s: %v", name, err)
			}
		} else if err := c.conn.Call(ctx, name, &raw, nil); ctx.Err() != nil {
			t.Fatalf("%s with %s: no answer in 10s (%v)", name, params, err)
		}
		// The session lives on and answers.
		if err := c.conn.Call(ctx, protocol.MethodStatus, nil, nil); err != nil {
			t.Fatalf("status after %s with %s: %v", name, params, err)
		}
		if l := logs.String(); strings.Contains(l, "panicked") {
			t.Fatalf("%s with %s: a handler panicked:\n%s", name, params, l)
		}
	})
}
