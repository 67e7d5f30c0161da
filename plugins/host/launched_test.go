package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/internal/testenv"
	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sandbox"
	"github.com/gathering-dev/gathering/plugins/sdk"
	"github.com/gathering-dev/gathering/protocol"
)

// The test binary is its own sandbox launcher and the image of its test
// built-ins, as the gathering binary is in production.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case sandbox.LauncherCommand:
			os.Exit(sandbox.LauncherMainWith(os.Args[2:], runBuiltin))
		case builtin.RunCommand:
			os.Exit(runBuiltin(os.Args))
		}
	}
	os.Exit(m.Run())
}

// runBuiltin is `plugin-run NAME ARGS...` given its whole argv, for the
// test built-ins and the real ones; the launcher calls it in process.
func runBuiltin(argv []string) int { return builtin.Main(argv, testBuiltins()...) }

// processStart tells one process of the test plugin from another.
var processStart = time.Now().UnixNano()

// launchedAlpha is the test plugin served as a launched built-in: it
// publishes "diags:N" diagnostics, hovers with its pid, and exits with
// status 3 when asked to hover on a document saying "crash".
func launchedAlpha() *testPlugin {
	tp := &testPlugin{name: "alpha", langs: []string{"go"}, sync: syncFull, caps: map[string]any{"hoverProvider": true}}
	tp.requests = map[string]sdk.Handler{
		"textDocument/hover": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			var p struct{ TextDocument struct{ URI string } }
			json.Unmarshal(params, &p)
			if strings.TrimSpace(tp.text(p.TextDocument.URI)) == "crash" {
				os.Exit(3)
			}
			// The pid is 1 in a PID namespace: name the process by its start.
			return map[string]any{"contents": fmt.Sprintf("alpha process %d", processStart)}, nil
		},
	}
	return tp
}

func testBuiltins() []builtin.Builtin {
	return []builtin.Builtin{{
		Manifest: &manifest.Manifest{
			Schema: 1, Name: "alpha", Version: "1.0.0", Publisher: "test",
			Protocol:     manifest.Protocol{PluginAPI: []int{1}},
			Languages:    manifest.Languages{IDs: []string{"go"}, FileGlobs: []string{"**/*.go"}, Activation: "on-language"},
			Capabilities: manifest.Capabilities{LSP: []string{"hover", "diagnostics"}},
			Permissions:  manifest.Permissions{Network: "none", UntrustedWorkspace: "supported"},
			Limits:       manifest.DefaultLimits(),
		},
		Run: func([]string) int { sdk.Serve(launchedAlpha().server()); return 0 },
	}, {
		Manifest: &manifest.Manifest{
			Schema: 1, Name: "gamma", Version: "1.0.0", Publisher: "test",
			Protocol:     manifest.Protocol{PluginAPI: []int{1}},
			Languages:    manifest.Languages{IDs: []string{"gamma"}, Activation: "on-language"},
			Capabilities: manifest.Capabilities{LSP: []string{"hover", "completion", "references"}},
			Permissions:  manifest.Permissions{Network: "none", UntrustedWorkspace: "supported"},
			Limits:       manifest.DefaultLimits(),
		},
		Stdio: true,
		Run: func([]string) int {
			if err := sdk.ServeStdio(launchedGamma().server(), os.Stdin, os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			return 0
		},
	}}
}

// launchedGamma is a test plugin served over stdio (builtin.Builtin.Stdio)
// for forwarded requests: hover says the document's text (and waits for
// cancellation on "hang", exits on "crash"), completion offers two items
// with data, resolve says which item it got, references answer one
// location.
func launchedGamma() *testPlugin {
	tp := &testPlugin{name: "gamma", langs: []string{"gamma"}, sync: syncFull, caps: map[string]any{
		"hoverProvider": true, "referencesProvider": true,
		"completionProvider": map[string]any{"resolveProvider": true},
	}}
	tp.requests = map[string]sdk.Handler{
		"textDocument/hover": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
			var p struct{ TextDocument struct{ URI string } }
			json.Unmarshal(params, &p)
			text := strings.TrimSpace(tp.text(p.TextDocument.URI))
			switch text {
			case "crash":
				os.Exit(3)
			case "hang":
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return map[string]any{"contents": "gamma: " + text}, nil
		},
		"textDocument/completion": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
			return map[string]any{"isIncomplete": false, "items": []any{
				map[string]any{"label": "one", "data": 1},
				map[string]any{"label": "two", "data": map[string]any{"n": 2}},
			}}, nil
		},
		"completionItem/resolve": func(_ context.Context, _ *sdk.Conn, params json.RawMessage) (any, error) {
			var item map[string]any
			json.Unmarshal(params, &item)
			item["detail"] = fmt.Sprintf("resolved by gamma with data %v", item["data"])
			return item, nil
		},
		"textDocument/references": func(_ context.Context, _ *sdk.Conn, params json.RawMessage) (any, error) {
			var p struct{ TextDocument struct{ URI string } }
			json.Unmarshal(params, &p)
			return []any{map[string]any{"uri": p.TextDocument.URI, "range": map[string]any{
				"start": map[string]any{"line": 0, "character": 0}, "end": map[string]any{"line": 0, "character": 1}}}}, nil
		},
	}
	return tp
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// launchedSetup is a host loading cfg through the launch layer, with one
// session on a temporary workspace.
func launchedSetup(t *testing.T, cfg Config) (*setup, string) {
	t.Helper()
	ws := t.TempDir()
	cfg.Logger = testLogger(t)
	cfg.CacheDir = t.TempDir()
	cfg.launchTest = launch.TestConfig{Builtins: testBuiltins()}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := &setup{h: h, client: newFakeClient()}
	st.s = h.NewSession(SessionConfig{Client: st.client, Folders: []Folder{{URI: "file://" + ws, Path: ws}}, Encoding: "utf-16"})
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return st, ws
}

func hoverText(t *testing.T, st *setup, uri string) (string, error) {
	t.Helper()
	var h struct{ Contents string }
	err := st.request(t, "textDocument/hover", docParams(uri, 0, 0), &h)
	return h.Contents, err
}

// A launched plugin that crashes: the in-flight request fails naming it,
// its diagnostics are cleared, it restarts, gets its documents back, and
// its diagnostics return.
func TestLaunchedPluginCrashesAndComesBack(t *testing.T) {
	st, ws := launchedSetup(t, Config{Builtins: []string{"alpha"}})
	st.h.deadlines.interactive = 20 * time.Second // the first hover waits for the start
	ctx := context.Background()
	main := "file://" + ws + "/main.go"
	bomb := "file://" + ws + "/bomb.go"
	st.s.DidOpen(ctx, main, "go", 1, "package main // diags:3\n")
	got, err := hoverText(t, st, main)
	if err != nil || !strings.HasPrefix(got, "alpha process ") {
		t.Fatalf("hover = %q, %v", got, err)
	}
	firstPID := got
	eventually(t, "diagnostics", func() bool { return len(st.client.diags(main)) == 3 })
	status := st.h.Plugins()[0]
	if status.State != StateRunning || status.PID == 0 || status.Sandbox == "" || len(status.Instances) != 1 {
		t.Fatalf("status %+v", status)
	}

	st.s.DidOpen(ctx, bomb, "go", 1, "crash\n")
	_, err = hoverText(t, st, bomb)
	if !errors.Is(err, protocol.ErrPluginCrashed) && !errors.Is(err, protocol.ErrPluginUnavailable) {
		t.Fatalf("hover on crash = %v; want plugin_crashed", err)
	}
	if !strings.Contains(err.Error(), "alpha") {
		t.Fatalf("error %q does not name the plugin", err)
	}
	eventually(t, "diagnostics cleared", func() bool { return len(st.client.diags(main)) == 0 })
	eventually(t, "diagnostics back after the restart", func() bool { return len(st.client.diags(main)) == 3 })
	eventually(t, "the plugin running again", func() bool { return st.h.Plugins()[0].State == StateRunning })
	got, err = hoverText(t, st, main)
	if err != nil || !strings.HasPrefix(got, "alpha process ") || got == firstPID {
		t.Fatalf("hover after restart = %q, %v; want a new process", got, err)
	}
	if r := st.h.Plugins()[0].Restarts; r != 1 {
		t.Fatalf("restarts = %d", r)
	}
	// The document edited after the restart reaches the new process.
	st.s.DidChange(ctx, main, 2, []Change{{Text: "package main // diags:5\n"}}, func() string { return "package main // diags:5\n" })
	eventually(t, "diagnostics of the new text", func() bool { return len(st.client.diags(main)) == 5 })
}

// The host survives the fault plugin hanging, flooding, sending malformed
// frames, panicking and crashing, and answers each the way the editor needs.
func TestFaultPluginThroughTheHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sandbox is Linux's")
	}
	st, ws := launchedSetup(t, Config{DevOverrides: []string{testenv.FaultPluginRoot(t)}, Builtins: []string{}})
	if p := st.h.Plugins(); len(p) != 1 || p[0].Name != "fault" || p[0].State != StateStopped || len(p[0].Warnings) == 0 {
		t.Fatalf("plugins %+v; want the unsigned fault plugin, with a warning", p)
	}
	ctx := context.Background()
	uri := func(name string) string { return "file://" + ws + "/" + name }
	open := func(name, text string) string {
		st.s.DidOpen(ctx, uri(name), "fault", 1, text)
		return uri(name)
	}
	// The first request waits for the plugin to start (within its deadline:
	// raise it for a loaded test machine).
	st.h.deadlines.interactive = 20 * time.Second
	if got, err := hoverText(t, st, open("ok.txt", "fine")); err != nil || got != "fault: ok" {
		t.Fatalf("hover = %q, %v", got, err)
	}
	st.h.deadlines.interactive = 500 * time.Millisecond

	start := time.Now()
	_, err := hoverText(t, st, open("hang.txt", "hang"))
	if !errors.Is(err, protocol.ErrPluginTimeout) || time.Since(start) > 3*time.Second {
		t.Fatalf("hang: %v after %v; want plugin_timeout after the deadline", err, time.Since(start))
	}

	// The flood is 1,000 notifications of 10,000 diagnostics each (about a
	// GiB) before the answer: give it time, and check that each was cut to
	// the cap rather than kept.
	flood := open("flood.txt", "flood")
	if raceEnabled {
		// Under the race detector the gigabyte takes minutes (the host's own
		// share is BenchmarkFloodNotification); the rest still runs.
		t.Log("flood skipped under the race detector")
		goto malformed
	}
	st.h.deadlines.interactive = 2 * time.Minute
	start = time.Now()
	if got, err := hoverText(t, st, flood); err != nil || got != "fault: ok" {
		t.Fatalf("flood hover = %q, %v", got, err)
	}
	t.Logf("flood: 1,000 x 10,000 diagnostics and the answer in %v", time.Since(start))
	st.h.deadlines.interactive = 500 * time.Millisecond
	eventually(t, "the flood's diagnostics", func() bool { return len(st.client.diags(flood)) == MaxDiagnosticsPerURI })

malformed:
	if got, err := hoverText(t, st, open("malformed.txt", "malformed")); err != nil || got != "fault: ok" {
		t.Fatalf("malformed hover = %q, %v", got, err)
	}
	if _, err := hoverText(t, st, open("panic.txt", "panic")); err == nil || !strings.Contains(err.Error(), "plugin fault") {
		t.Fatalf("panic hover error %v; want one naming the plugin", err)
	}

	if _, err := hoverText(t, st, open("huge.txt", "huge")); err == nil || !strings.Contains(err.Error(), "plugin fault") {
		t.Fatalf("huge hover error %v; want one naming the plugin (the answer is over the 16 MiB cap)", err)
	}
	// gRPC ends the session stream over the cap, which the launch layer
	// treats as a crash: the plugin comes back.
	eventually(t, "hovers answered again after the huge answer", func() bool {
		got, err := hoverText(t, st, uri("ok.txt"))
		return err == nil && got == "fault: ok"
	})

	st.h.deadlines.interactive = 10 * time.Second
	_, err = hoverText(t, st, open("crash.txt", "crash"))
	if !errors.Is(err, protocol.ErrPluginCrashed) {
		t.Fatalf("crash: %v", err)
	}
	eventually(t, "the flood's diagnostics cleared by the crash", func() bool { return len(st.client.diags(flood)) == 0 })
	eventually(t, "the restart", func() bool { return st.h.Plugins()[0].State == StateRunning })
	if got, err := hoverText(t, st, uri("ok.txt")); err != nil || got != "fault: ok" {
		t.Fatalf("hover after restart = %q, %v", got, err)
	}
}
