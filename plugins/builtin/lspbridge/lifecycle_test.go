package lspbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shellServer returns a Launch that runs script with sh, for servers whose
// misbehaviour the test chooses.
func shellServer(t testing.TB, script string) *Launch {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	return &Launch{Argv: []string{sh, "-c", script}}
}

// requireGone fails unless pid and every process of its group are gone,
// zombies included: the test process is a child subreaper, so the group's
// orphans are Run's to reap.
func requireGone(t testing.TB, pid int) {
	t.Helper()
	if members := processGroupMembers(t, pid); len(members) > 0 || processExists(pid) {
		t.Fatalf("after Run returned, server pid %d exists=%v and its group still has %v (pid: state)", pid, processExists(pid), members)
	}
}

// TestTransportCloseStopsGopls: when the host goes away, a real gopls that
// has loaded a module (and run `go list`) is sent shutdown and exit, exits
// by itself (it is not killed), and nothing is left.
func TestTransportCloseStopsGopls(t *testing.T) {
	l := requireServer(t, "gopls")
	dir := goModule(t)
	logs := &logRecorder{}
	b := runBridged(t, l, dir, Options{ShutdownGrace: 30 * time.Second, Logger: slog.New(logs)})
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	defer cancel()
	if err := b.initialize(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	uri := b.open(t, filepath.Join(dir, "main.go"), "go")
	if err := b.call(ctx, "textDocument/hover", textDocumentPosition(uri, positionOf(t, mainGo, "Greeting(", 2, 2)), nil); err != nil {
		t.Fatal(err)
	}
	// gopls answers shutdown only once its diagnosis pass is done, which
	// with a cold cache on a busy machine can take longer than any grace
	// worth testing; its diagnostics for main.go (fmt.Pr) mark the end.
	if _, err := b.waitDiagnostics(ctx, uri, func(d []diagnostic) bool { return len(d) > 0 }); err != nil {
		t.Fatal(err)
	}
	b.tr.close()
	if err := b.wait(t, 40*time.Second); err != nil {
		t.Fatalf("Run after the transport ended = %v, want nil", err)
	}
	for _, m := range logs.messages() {
		if strings.Contains(m, "killing") {
			t.Errorf("gopls was killed instead of exiting on shutdown/exit: %s", m)
		}
	}
	requireGone(t, b.pid)
}

// TestTransportCloseKillsStubbornServer: a server that never reads its
// stdin, and has a child, is killed with its whole group after the grace.
func TestTransportCloseKillsStubbornServer(t *testing.T) {
	l := shellServer(t, "sleep 600 & sleep 600")
	b := runBridged(t, l, "", Options{ShutdownGrace: 200 * time.Millisecond})
	waitFor(t, func() bool { return len(processGroupMembers(t, b.pid)) >= 2 }, "the server's child to start")
	start := time.Now()
	b.tr.close()
	if err := b.wait(t, 10*time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 5*time.Second {
		t.Errorf("Run returned %v after the transport closed; want the 200ms grace, then a kill", took)
	}
	requireGone(t, b.pid)
}

// TestContextCancelStopsServer: cancelling Run's context stops the server
// like the transport ending, and Run returns the context's error.
func TestContextCancelStopsServer(t *testing.T) {
	l := shellServer(t, "sleep 600 & sleep 600")
	tr := newMemTransport()
	defer tr.close()
	ctx, cancel := context.WithCancel(context.Background())
	pidc := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, tr, l.Argv, Options{ShutdownGrace: 100 * time.Millisecond, Started: func(pid int) { pidc <- pid }})
	}()
	pid := <-pidc
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	requireGone(t, pid)
}

// TestServerExitReportsStatusAndStderr: a server that dies on its own makes
// Run return its exit status and its last stderr lines, and its child dies
// with it.
func TestServerExitReportsStatusAndStderr(t *testing.T) {
	l := shellServer(t, `sleep 600 & for i in $(seq 1 100); do echo "line $i" >&2; done; echo "panic: boom" >&2; exit 3`)
	b := runBridged(t, l, "", Options{})
	err := b.wait(t, 10*time.Second)
	var exit *ServerExitError
	if !errors.As(err, &exit) {
		t.Fatalf("Run = %v, want a *ServerExitError", err)
	}
	var want []string
	for i := 82; i <= 100; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	want = append(want, "panic: boom")
	if exit.ExitCode != 3 || exit.Status != "exit status 3" || exit.Stderr != strings.Join(want, "\n") {
		t.Errorf("exit = code %d, status %q, stderr %q; want 3, exit status 3, the last 20 lines", exit.ExitCode, exit.Status, exit.Stderr)
	}
	if !strings.Contains(err.Error(), "exited (exit status 3)") || !strings.HasSuffix(err.Error(), "line 100\npanic: boom") {
		t.Errorf("error text %q does not name the status and end with the stderr tail", err)
	}
	requireGone(t, b.pid)
}

// TestKilledGoplsReportsSignalAndStderr: kill -9 on a real gopls, logging
// its RPC trace to stderr, ends Run with "signal: killed" and that trace.
func TestKilledGoplsReportsSignalAndStderr(t *testing.T) {
	l := requireServer(t, "gopls")
	l.Argv = append(l.Argv, "-rpc.trace", "-logfile=/dev/stderr")
	dir := goModule(t)
	b := runBridged(t, l, dir, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	defer cancel()
	if err := b.initialize(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(b.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := b.wait(t, 10*time.Second)
	var exit *ServerExitError
	if !errors.As(err, &exit) {
		t.Fatalf("Run = %v, want a *ServerExitError", err)
	}
	if exit.Status != "signal: killed" || exit.ExitCode != -1 {
		t.Errorf("status %q code %d, want signal: killed, -1", exit.Status, exit.ExitCode)
	}
	if !strings.Contains(exit.Stderr, "initialize") {
		t.Errorf("stderr tail does not show gopls's trace of initialize:\n%s", exit.Stderr)
	}
	requireGone(t, b.pid)
	// The host's pending request fails when the caller ends the transport.
	b.tr.close()
}

// TestHostExitIsNotAnError: a host that shuts the server down itself gets
// nil from Run once the server exits with status 0.
func TestHostExitIsNotAnError(t *testing.T) {
	l := requireServer(t, "gopls")
	dir := goModule(t)
	b := runBridged(t, l, dir, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	defer cancel()
	if err := b.initialize(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.call(ctx, "shutdown", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.notify("exit", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.wait(t, 10*time.Second); err != nil {
		t.Fatalf("Run after the host's own shutdown and exit = %v, want nil", err)
	}
	requireGone(t, b.pid)
}

// TestMalformedFramingEndsRun: output that is not Content-Length framing
// ends Run with an error naming it, and the server's group is killed.
func TestMalformedFramingEndsRun(t *testing.T) {
	l := shellServer(t, `printf 'Bogus header\r\n\r\n'; sleep 600`)
	b := runBridged(t, l, "", Options{})
	err := b.wait(t, 10*time.Second)
	if err == nil || !errors.Is(err, errFraming) || !strings.Contains(err.Error(), `header line "Bogus header" has no colon`) {
		t.Fatalf("Run = %v, want the framing error naming the bad header", err)
	}
	requireGone(t, b.pid)
}

// TestMessagesPassUnchanged: through `cat` as the server, every message
// comes back byte for byte, small (one write) and large (header and body
// written apart), in order, with odd spacing and non-ASCII text intact.
func TestMessagesPassUnchanged(t *testing.T) {
	l := shellServer(t, "exec cat")
	b := startBridged(t, l, "", Options{})
	msgs := [][]byte{
		[]byte(`{"jsonrpc":"2.0", "method" : "x/echo","params":{"text":"héllo \u00e9 \n"}}`),
		[]byte(`{"jsonrpc":"2.0","id":7,"result":null}`),
		append(append([]byte(`{"jsonrpc":"2.0","method":"big","params":"`), bytes.Repeat([]byte("ab"), 600<<10)...), `"}`...),
		[]byte(`{}`),
	}
	go func() {
		for _, m := range msgs {
			if err := b.tr.send(m); err != nil {
				return
			}
		}
	}()
	for i, want := range msgs {
		got, err := b.tr.recv()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d came back changed: %d bytes %.80q, want %d bytes %.80q", i, len(got), got, len(want), want)
		}
	}
}

// TestOversizeMessagesAreAnswered: with a small cap, gopls's initialize
// result (id after the result) is dropped and the host gets an error for
// its id; the host's own oversize request is answered the same way; small
// messages still flow afterwards.
func TestOversizeMessagesAreAnswered(t *testing.T) {
	l := requireServer(t, "gopls")
	dir := goModule(t)
	const limit = 2048
	b := runBridged(t, l, dir, Options{MaxMessageBytes: limit})
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	defer cancel()

	err := b.initialize(ctx, dir, nil)
	var rerr *rpcError
	if !errors.As(err, &rerr) || rerr.Code != codeRequestFailed ||
		!strings.Contains(rerr.Message, fmt.Sprintf("exceeds the %d-byte limit", limit)) ||
		!strings.Contains(rerr.Message, "language server's") {
		t.Fatalf("initialize with a %d-byte cap = %v, want a RequestFailed error about the server's oversize message", limit, err)
	}

	huge := map[string]any{"textDocument": map[string]string{"uri": fileURI(filepath.Join(dir, "main.go"))},
		"position": position{}, "padding": strings.Repeat("x", 2*limit)}
	err = b.call(ctx, "textDocument/hover", huge, nil)
	if !errors.As(err, &rerr) || rerr.Code != codeRequestFailed || !strings.Contains(rerr.Message, "host's") {
		t.Fatalf("oversize hover = %v, want a RequestFailed error about the host's oversize message", err)
	}

	// gopls was never sent that hover; it still answers small requests
	// (shutdown's answer is tiny), so the stream is intact both ways.
	var res json.RawMessage
	if err := b.call(ctx, "shutdown", nil, &res); err != nil || string(res) != "null" {
		t.Fatalf("shutdown after the dropped messages = %s, %v; want null", res, err)
	}
}

func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTransportCapsAreHonoured: when the Transport's own cap is below the
// bridge's, a response it refuses becomes an error response for its id, a
// message it skips on Read does not end the session, and small messages
// still flow.
func TestTransportCapsAreHonoured(t *testing.T) {
	l := requireServer(t, "gopls")
	dir := goModule(t)
	tr := newMemTransport()
	tr.maxBytes = 2048
	b := startBridgedOn(t, tr, l, dir, Options{})
	b.client = newClient(tr)
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	defer cancel()

	err := b.initialize(ctx, dir, nil)
	var rerr *rpcError
	if !errors.As(err, &rerr) || rerr.Code != codeRequestFailed || !strings.Contains(rerr.Message, "over the 2048-byte cap") {
		t.Fatalf("initialize over a 2048-byte transport = %v, want a RequestFailed error naming the transport's cap", err)
	}
	// Read skips this one (the sdk's transports answer it themselves).
	if err := b.notify("x/padding", strings.Repeat("x", 4096)); err != nil {
		t.Fatal(err)
	}
	var res json.RawMessage
	if err := b.call(ctx, "shutdown", nil, &res); err != nil || string(res) != "null" {
		t.Fatalf("shutdown after the refused messages = %s, %v; want null", res, err)
	}
	if err := b.notify("exit", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.wait(t, 10*time.Second); err != nil {
		t.Fatalf("Run = %v, want nil after the host's exit", err)
	}
}

// TestEscapedChildDoesNotHoldRun: a child that left the server's process
// group (setsid) and keeps its stdout and stderr open cannot make Run hang:
// Run stops waiting for end of file after a bound and returns the exit.
func TestEscapedChildDoesNotHoldRun(t *testing.T) {
	setsid, err := exec.LookPath("setsid")
	if err != nil {
		t.Skip("setsid not installed")
	}
	// The server waits until its child has its own session, then exits.
	l := shellServer(t, setsid+` sleep 30 & echo "escaped $!" >&2
		while [ "$(cut -d' ' -f6 /proc/$!/stat)" != "$!" ]; do sleep 0.01; done
		exit 5`)
	b := runBridged(t, l, "", Options{})
	start := time.Now()
	err = b.wait(t, 10*time.Second)
	var exit *ServerExitError
	if !errors.As(err, &exit) || exit.ExitCode != 5 {
		t.Fatalf("Run = %v, want the server's exit status 5", err)
	}
	var escaped int
	if _, err := fmt.Sscanf(exit.Stderr, "escaped %d", &escaped); err != nil {
		t.Fatalf("stderr %q does not give the escaped pid: %v", exit.Stderr, err)
	}
	defer syscall.Kill(escaped, syscall.SIGKILL)
	if !processExists(escaped) {
		t.Fatalf("the escaped child %d is not running; the test proves nothing", escaped)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %v to return with an escaped child holding its pipes", took)
	}
}
