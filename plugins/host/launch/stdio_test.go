package launch_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/protocol"
)

// goCall runs Instance.Go and waits for its answer, failing when done is
// called more than once.
func goCall(t *testing.T, i *launch.Instance, ctx context.Context, method string, params string) (json.RawMessage, error) {
	t.Helper()
	type answer struct {
		res json.RawMessage
		err error
	}
	ch := make(chan answer, 2)
	deadline, _ := ctx.Deadline() // Go watches the deadline it is given, not ctx's
	cancel, ok := i.Go(ctx, deadline, method, json.RawMessage(params), launch.AnswerFunc(func(res json.RawMessage, err error) { ch <- answer{res, err} }))
	if !ok {
		t.Fatalf("%s: Go found no running process", method)
	}
	select {
	case <-ctx.Done(): // Go watches no ctx once it has sent: its caller cancels
		if ctx.Err() == context.Canceled {
			cancel.Cancel()
		}
	case a := <-ch:
		ch <- a
	}
	select {
	case a := <-ch:
		select {
		case <-ch:
			t.Fatalf("%s: done called twice", method)
		case <-time.After(20 * time.Millisecond):
		}
		return a.res, a.err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", method)
		return nil, nil
	}
}

// A Stdio built-in runs in the sandbox with a pipe for stdin and speaks
// LSP framing on it: calls, forwarded calls, their deadlines and
// cancellation, a kill -9 and a restart, and nothing left behind.
func TestStdioBuiltin(t *testing.T) {
	cfg := config(t, "stdioecho")
	var sent sentLog
	cfg.Test.Trace = sent.trace
	set := load(t, cfg)
	i := start(t, set, "stdioecho", launch.StartOptions{})
	st := i.Status()
	if st.State != launch.StateRunning || st.PID == 0 || !strings.Contains(st.Sandbox, "landlock") && !strings.Contains(st.Sandbox, "degraded") {
		t.Fatalf("status: %+v", st)
	}
	ctx := context.Background()
	if got, err := i.Call(ctx, "echo", map[string]any{"a": 1}); err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Call echo: %s %v", got, err)
	}
	if got, err := goCall(t, i, ctx, "echo", `{"b":[2]}`); err != nil || string(got) != `{"b":[2]}` {
		t.Fatalf("Go echo: %s %v", got, err)
	}

	// A deadline: $/cancelRequest goes out and the answer is a timeout.
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := goCall(t, i, dctx, "sleep", `null`)
	var ce *launch.CallError
	if !errors.Is(err, protocol.ErrPluginTimeout) || !errors.As(err, &ce) || !ce.Sent {
		t.Fatalf("Go past its deadline: %#v", err)
	}
	sent.waitCancel(t, ce.ID)

	// A caller that gives up, and one whose context ended before Go.
	cctx, ccancel := context.WithCancel(ctx)
	go func() { time.Sleep(30 * time.Millisecond); ccancel() }()
	if _, err := goCall(t, i, cctx, "sleep", `null`); !errors.Is(err, protocol.ErrRequestCancelled) {
		t.Fatalf("cancelled Go: %v", err)
	}
	if _, err := goCall(t, i, cctx, "echo", `1`); !errors.Is(err, protocol.ErrRequestCancelled) {
		t.Fatalf("Go with an ended context: %v", err)
	}

	// kill -9 with a forwarded call in flight: it learns of the crash, and
	// the plugin comes back.
	pid := i.Status().PID
	go func() { time.Sleep(50 * time.Millisecond); syscall.Kill(pid, syscall.SIGKILL) }()
	if _, err := goCall(t, i, ctx, "sleep", `null`); !errors.Is(err, protocol.ErrPluginCrashed) {
		t.Fatalf("Go when the plugin is killed: %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { st := i.Status(); return st.State == launch.StateRunning && st.PID != pid }, "restart")
	if got, err := goCall(t, i, ctx, "echo", `3`); err != nil || string(got) != `3` {
		t.Fatalf("Go after the restart: %s %v", got, err)
	}
	// While it is not running, Go does nothing and says so; Call fails at once.
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := i.Go(ctx, time.Time{}, "echo", json.RawMessage(`4`), launch.AnswerFunc(func(json.RawMessage, error) { t.Error("Go after Close called done") })); ok {
		t.Fatal("Go after Close: ok")
	}
	if _, err := i.Call(ctx, "echo", 4); !errors.Is(err, protocol.ErrPluginUnavailable) {
		t.Fatalf("Call after Close: %v", err)
	}
	assertNoChildren(t)
}

// A stdio plugin that sends a message over the cap loses that message,
// not its session.
func TestStdioOversizeDropped(t *testing.T) {
	cfg := config(t, "stdioecho")
	cfg.MaxMessageBytes = 4096
	set := load(t, cfg)
	i := start(t, set, "stdioecho", launch.StartOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if got, err := i.Call(context.Background(), "big", 3000); err != nil || len(got) != 3002 {
		t.Fatalf("an answer under the cap: %d bytes, %v", len(got), err)
	}
	// An answer over the cap never arrives: the call runs into its deadline.
	if _, err := i.Call(ctx, "big", 5000); !errors.Is(err, protocol.ErrPluginTimeout) {
		t.Fatalf("an answer over the cap: %v", err)
	}
	if got, err := i.Call(context.Background(), "echo", 5); err != nil || string(got) != "5" {
		t.Fatalf("after an oversize message: %s %v (state %+v)", got, err, i.Status())
	}
}

// A stdio plugin that stops reading its input is killed once a write to it
// has waited InputStall, so the sender is not held for ever, and it comes
// back.
func TestStdioPluginThatStopsReadingIsRestarted(t *testing.T) {
	cfg := config(t, "stdiomute")
	cfg.Test.InputStall = 300 * time.Millisecond
	set := load(t, cfg)
	i := start(t, set, "stdiomute", launch.StartOptions{})
	ctx := context.Background()
	if got, err := i.Call(ctx, "anything", nil); err != nil || string(got) != `"listening no more"` {
		t.Fatalf("first call: %s %v", got, err)
	}
	pid := i.Status().PID
	// A pipe holds 64 KiB: the notifications fill it, then a write waits.
	big := json.RawMessage(`"` + strings.Repeat("x", 32<<10) + `"`)
	done := make(chan error, 1)
	go func() {
		for {
			if err := i.Notify(ctx, "test/fill", big); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if !strings.Contains(err.Error(), "has not read its input") && !errors.Is(err, protocol.ErrPluginCrashed) {
			t.Fatalf("the blocked write ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write to a plugin that does not read is still waiting")
	}
	waitFor(t, 10*time.Second, func() bool {
		st := i.Status()
		return st.State == launch.StateRunning && st.PID != pid && st.Restarts == 1
	}, "restart")
	if got, err := i.Call(ctx, "anything", nil); err != nil || string(got) != `"listening no more"` {
		t.Fatalf("after the restart: %s %v", got, err)
	}
	i.Close()
	assertNoChildren(t)
}
