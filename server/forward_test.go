package server

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/internal/testenv"
	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/protocol"
)

// Language requests to a running plugin are forwarded with no goroutine
// waiting on them (host.Session.Forward); the editor still cancels them
// with $/cancelRequest, and the session counts them as in flight until
// they are answered.
func TestForwardedLanguageRequest(t *testing.T) {
	h, err := host.New(host.Config{DevOverrides: []string{testenv.FaultPluginRoot(t)}, Builtins: []string{}, CacheDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	var logs lockedBuffer
	srv, c, _ := setup(t, &Config{Plugins: h, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c.initialize(nil)
	open := func(name, text string) string {
		uri := "file:///ws/" + name
		c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "fault", "version": 1, "text": text}})
		return uri
	}
	hover := func(uri string) map[string]any {
		return map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 0, "character": 0}}
	}
	ok := open("ok.txt", "fine")
	hang := open("hang.txt", "hang")
	// The first hover waits for the plugin to start (Request); later ones
	// find it running and are forwarded.
	var res struct{ Contents string }
	c.mustCall("textDocument/hover", hover(ok), &res)
	waitFor(t, func() bool { return h.Plugins()[0].State == host.StateRunning })
	c.mustCall("textDocument/hover", hover(ok), &res)
	if res.Contents != "fault: ok" {
		t.Fatalf("hover = %+v", res)
	}
	if !regexp.MustCompile(`method=textDocument/hover id=3 took=\S+ forwarded=true`).MatchString(logs.String()) {
		t.Fatalf("the second hover was not forwarded; log:\n%s", logs.String())
	}

	// rpc.Conn numbers calls from 1: initialize, two hovers, then this.
	errc := make(chan error, 1)
	start := time.Now()
	go func() { errc <- c.call("textDocument/hover", hover(hang), nil) }()
	waitFor(t, func() bool { return inflight(srv) == 1 })
	c.notify("$/cancelRequest", map[string]any{"id": 4})
	wantCode(t, <-errc, protocol.CodeRequestCancelled, protocol.Cancelled)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("the cancelled hover took %v (the plugin's deadline is 2 s)", d)
	}
	waitFor(t, func() bool { return inflight(srv) == 0 })

	// The hung plugin ignores $/cancelRequest; the session goes on.
	var again json.RawMessage
	c.mustCall("textDocument/hover", hover(ok), &again)
	if !strings.Contains(string(again), "fault: ok") {
		t.Fatalf("hover after the cancel = %s", again)
	}

	// A shutdown that runs out of time cancels forwarded requests too.
	go func() { errc <- c.call("textDocument/hover", hover(hang), nil) }()
	waitFor(t, func() bool { return inflight(srv) == 1 })
	wantShutdownCancels(t, srv, errc, 1500*time.Millisecond) // before the plugin's 2 s deadline
}
