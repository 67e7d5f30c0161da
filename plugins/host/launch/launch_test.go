package launch_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/protocol"
)

func TestBuiltinRoundTrip(t *testing.T) {
	set := load(t, config(t, "echo"))
	inits := 0
	i := start(t, set, "echo", launch.StartOptions{Init: func(ctx context.Context, i *launch.Instance) error {
		inits++
		_, err := i.Call(ctx, "initialize", map[string]any{})
		return err
	}})
	if inits != 1 {
		t.Fatalf("Init ran %d times", inits)
	}
	got, err := i.Call(context.Background(), "echo", map[string]any{"hello": "world"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"hello":"world"}` {
		t.Fatalf("echo answered %s", got)
	}
	st := i.Status()
	if st.State != launch.StateRunning || st.PID == 0 || st.Name != "echo" || st.Version != "1.0.0" {
		t.Fatalf("status %+v", st)
	}
	if !strings.Contains(st.Sandbox, "landlock-abi-") || !strings.Contains(st.Sandbox, "seccomp ") || !strings.Contains(st.Sandbox, "ns:user,pid,net") {
		t.Fatalf("sandbox level %q", st.Sandbox)
	}
	t.Logf("sandbox: %s", st.Sandbox)
	_, err = i.Call(context.Background(), "no/such/method", nil)
	if !errors.Is(err, protocol.ErrMethodNotFound) {
		t.Fatalf("unknown method: %v", err)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if st := i.Status(); st.State != launch.StateStopped || st.PID != 0 {
		t.Fatalf("after Close: %+v", st)
	}
	_, err = i.Call(context.Background(), "echo", 1)
	if !errors.Is(err, protocol.ErrPluginUnavailable) {
		t.Fatalf("Call after Close: %v", err)
	}
}

func TestIdentityMismatchRefused(t *testing.T) {
	set := load(t, config(t, "liar"))
	_, err := launch.Start(context.Background(), set.Lookup("liar"), launch.StartOptions{})
	var me *manifest.Error
	if !errors.As(err, &me) || me.Step != launch.StepIdentity {
		t.Fatalf("Start: %v, want a refusal at step %s", err, launch.StepIdentity)
	}
	if !strings.Contains(err.Error(), `"2.0.0"`) || !strings.Contains(err.Error(), `"1.0.0"`) {
		t.Fatalf("refusal does not say which versions differ: %v", err)
	}
}

func TestNotificationsInWireOrder(t *testing.T) {
	set := load(t, config(t, "echo"))
	rec := newRecorder()
	i := start(t, set, "echo", launch.StartOptions{Handler: rec})
	got, err := i.Call(context.Background(), "notify-me", 500)
	if err != nil || string(got) != "500" {
		t.Fatalf("notify-me: %s %v", got, err)
	}
	// The answer may overtake notifications still queued for the Handler.
	deadline := time.Now().Add(5 * time.Second)
	for rec.n("window/logMessage") < 500 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	notes := rec.snapshot()
	if len(notes) != 500 {
		t.Fatalf("got %d notifications, want 500", len(notes))
	}
	for k, n := range notes {
		var p struct{ Message string }
		json.Unmarshal([]byte(strings.TrimPrefix(n, "window/logMessage ")), &p)
		if p.Message != itoa(k) {
			t.Fatalf("notification %d carries %q: out of order", k, p.Message)
		}
	}
}

func TestPluginRequestReachesHandler(t *testing.T) {
	set := load(t, config(t, "echo"))
	rec := newRecorder()
	rec.answers["test/question"] = "forty-two"
	i := start(t, set, "echo", launch.StartOptions{Handler: rec})
	got, err := i.Call(context.Background(), "ask", map[string]any{"q": "?"})
	if err != nil || string(got) != `"forty-two"` {
		t.Fatalf("ask: %s %v", got, err)
	}
	// An error from the Handler reaches the plugin as a JSON-RPC error.
	delete(rec.answers, "test/question")
	_, err = i.Call(context.Background(), "ask", map[string]any{"q": "?"})
	if err == nil || !strings.Contains(err.Error(), "no answer for test/question") {
		t.Fatalf("ask without an answer: %v", err)
	}
}

// sentLog records what the host sends its plugins (Config.Test.Trace).
type sentLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *sentLog) trace(_ string, out bool, msg []byte) {
	if out {
		l.mu.Lock()
		l.msgs = append(l.msgs, string(msg))
		l.mu.Unlock()
	}
}

// waitCancel waits for the host to send $/cancelRequest for request id.
func (l *sentLog) waitCancel(t *testing.T, id int64) {
	t.Helper()
	want := `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":` + itoa(int(id)) + `}}`
	waitFor(t, time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return slices.Contains(l.msgs, want)
	}, "$/cancelRequest sent")
}

func TestDeadlineSendsCancel(t *testing.T) {
	cfg := config(t, "echo")
	var sent sentLog
	cfg.Test.Trace = sent.trace
	set := load(t, cfg)
	i := start(t, set, "echo", launch.StartOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := i.Call(ctx, "sleep", nil)
	took := time.Since(t0)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, protocol.ErrPluginTimeout) {
		t.Fatalf("Call past its deadline: %v", err)
	}
	var ce *launch.CallError
	if !errors.As(err, &ce) || !ce.Sent {
		t.Fatalf("not a CallError with $/cancelRequest sent: %#v", err)
	}
	if took > time.Second { // the plugin never answers; only ctx ends the wait
		t.Fatalf("the caller waited %v after a 200 ms deadline", took)
	}
	sent.waitCancel(t, ce.ID)
	// The instance is still usable, and a cancelled ctx gives Canceled.
	if _, err := i.Call(context.Background(), "echo", 1); err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); ccancel() }()
	_, err = i.Call(cctx, "sleep", nil)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, protocol.ErrRequestCancelled) {
		t.Fatalf("cancelled Call: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func waitFor(t testing.TB, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A request or notification over the message cap is refused before it is
// sent, and the session lives on. (An answer over the cap ends the session,
// as gRPC refuses it, and the instance restarts: TestFaultMisbehaviourSurvived,
// huge.)
func TestMessageCap(t *testing.T) {
	cfg := config(t, "echo")
	cfg.MaxMessageBytes = 64 << 10
	set := load(t, cfg)
	i := start(t, set, "echo", launch.StartOptions{})
	big := strings.Repeat("x", 70<<10)
	if _, err := i.Call(context.Background(), "echo", big); !errors.Is(err, protocol.ErrTooLarge) {
		t.Fatalf("a 70 KiB request under a 64 KiB cap: %v", err)
	}
	if err := i.Notify(context.Background(), "echo", big); !errors.Is(err, protocol.ErrTooLarge) {
		t.Fatalf("a 70 KiB notification under a 64 KiB cap: %v", err)
	}
	if got, err := i.Call(context.Background(), "echo", "small"); err != nil || string(got) != `"small"` {
		t.Fatalf("after refusing: %s %v", got, err)
	}
	if st := i.Status(); st.Restarts != 0 || st.State != launch.StateRunning {
		t.Fatalf("status %+v", st)
	}
}
