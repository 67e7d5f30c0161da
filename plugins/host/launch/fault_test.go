package launch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/protocol"
)

const faultPkg = "plugins/internal/faultplugin"

// fault is a running fault plugin and the documents the test opened in it,
// which Init replays after every restart, as the router does.
type fault struct {
	*launch.Instance
	ws    string
	cache string // the plugin's cache dir: its HOME in the sandbox
	rec   *recorder
	inits atomic.Int32

	mu   sync.Mutex
	docs map[string]string // uri → text

	traceMu sync.Mutex
	sent    []string
}

// startFault starts the fault plugin from a signed plugin directory. The
// manifest lets it run sleep (for grandchild) and write its workspace
// (for the write: probe's control case, see TestSandboxHolds).
func startFault(t *testing.T, mutate func(*launch.Config)) *fault {
	t.Helper()
	bin := buildPlugin(t, faultPkg)
	s := newSigner(t, "acme")
	root := t.TempDir()
	pluginDir(t, s, root, "fault", "1.0.0", bin, "\n[permissions]\nexec = [\"/usr/bin\", \"/bin\"]\n")
	f := &fault{ws: t.TempDir(), rec: newRecorder(), docs: map[string]string{}}
	cfg := config(t)
	f.cache = filepath.Join(cfg.CacheDir, "fault")
	cfg.Dirs, cfg.Trust = []string{root}, s.trust
	cfg.Test.Trace = func(_ string, out bool, msg []byte) {
		if out && len(msg) < 4096 {
			f.traceMu.Lock()
			f.sent = append(f.sent, string(msg))
			f.traceMu.Unlock()
		}
	}
	if mutate != nil {
		mutate(&cfg)
	}
	set := load(t, cfg)
	f.Instance = start(t, set, "fault", launch.StartOptions{
		Handler: f.rec,
		Folders: []launch.Folder{{URI: "file://" + f.ws, Path: f.ws}},
		Init: func(ctx context.Context, i *launch.Instance) error {
			f.inits.Add(1)
			if _, err := i.Call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}}); err != nil {
				return err
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			for uri, text := range f.docs {
				if err := i.Notify(ctx, "textDocument/didOpen", openParams(uri, text)); err != nil {
					return err
				}
			}
			return nil
		},
	})
	return f
}

func openParams(uri, text string) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "fault", "version": 1, "text": text}}
}

// hover opens a document whose text is mode (once per mode) and hovers on it.
func (f *fault) hover(ctx context.Context, mode string) (string, error) {
	uri := "file://" + f.ws + "/" + strings.NewReplacer("/", "_", ":", "_").Replace(mode) + ".txt"
	f.mu.Lock()
	_, open := f.docs[uri]
	f.docs[uri] = mode
	f.mu.Unlock()
	if !open {
		if err := f.Notify(ctx, "textDocument/didOpen", openParams(uri, mode)); err != nil {
			return "", err
		}
	}
	raw, err := f.Call(ctx, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 0, "character": 0}})
	if err != nil {
		return "", err
	}
	var h struct{ Contents string }
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("hover answer %.100s: %w", raw, err)
	}
	return h.Contents, nil
}

// ok asserts that the plugin answers a plain hover.
func (f *fault) ok(t *testing.T) {
	t.Helper()
	waitFor(t, 10*time.Second, func() bool { return f.Status().State == launch.StateRunning }, "the plugin running")
	got, err := f.hover(context.Background(), "ok")
	if err != nil || got != "fault: ok" {
		t.Fatalf("plain hover: %q %v (status %+v)", got, err, f.Status())
	}
}

func TestFaultCrashRestarts(t *testing.T) {
	f := startFault(t, nil)
	f.ok(t)
	ctx := context.Background()
	// crash: exit 3 while a hang is in flight.
	hung := make(chan error, 1)
	go func() { _, err := f.hover(ctx, "hang"); hung <- err }()
	time.Sleep(50 * time.Millisecond)
	_, err := f.hover(ctx, "crash")
	if !errors.Is(err, protocol.ErrPluginCrashed) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("crash: %v", err)
	}
	if err := <-hung; !errors.Is(err, protocol.ErrPluginCrashed) {
		t.Fatalf("the call in flight: %v", err)
	}
	if e := protocol.AsError(err); e.Data.Code != protocol.PluginCrashed {
		t.Fatalf("wire error %+v", e)
	}
	delete(f.docs, "file://"+f.ws+"/crash.txt")
	f.ok(t)
	if n := f.inits.Load(); n != 2 {
		t.Fatalf("Init ran %d times, want 2", n)
	}
	// kill -9 from outside (the plugin is its PID namespace's init, which
	// cannot SIGKILL itself from inside).
	pid := f.Status().PID
	go func() { time.Sleep(50 * time.Millisecond); syscall.Kill(pid, syscall.SIGKILL) }()
	_, err = f.hover(ctx, "hang")
	if !errors.Is(err, protocol.ErrPluginCrashed) || !strings.Contains(err.Error(), "signal killed") {
		t.Fatalf("kill -9: %v", err)
	}
	delete(f.docs, "file://"+f.ws+"/hang.txt")
	f.ok(t)
	if st := f.Status(); st.Restarts != 2 || st.PID == pid {
		t.Fatalf("status after two crashes: %+v", st)
	}
}

func TestFaultKillWithoutNamespaces(t *testing.T) {
	f := startFault(t, func(c *launch.Config) { c.DisableNamespaces = true })
	_, err := f.hover(context.Background(), "kill")
	if !errors.Is(err, protocol.ErrPluginCrashed) || !strings.Contains(err.Error(), "signal killed") {
		t.Fatalf("kill: %v", err)
	}
	delete(f.docs, "file://"+f.ws+"/kill.txt")
	f.ok(t)
}

func TestFaultFiveCrashesDisable(t *testing.T) {
	f := startFault(t, nil)
	for n := 1; n <= 5; n++ {
		waitFor(t, 10*time.Second, func() bool { return f.Status().State == launch.StateRunning }, "restart")
		if _, err := f.hover(context.Background(), "crash"); !errors.Is(err, protocol.ErrPluginCrashed) {
			t.Fatalf("crash %d: %v", n, err)
		}
	}
	st := f.Status()
	if st.State != launch.StateDisabled || !strings.Contains(st.Reason, "crashed 5 times") {
		t.Fatalf("after 5 crashes: %+v", st)
	}
	if _, err := f.hover(context.Background(), "ok"); !errors.Is(err, protocol.ErrPluginUnavailable) {
		t.Fatalf("hover on a disabled plugin: %v", err)
	}
}

func TestFaultHangDeadline(t *testing.T) {
	f := startFault(t, nil)
	f.ok(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := f.hover(ctx, "hang")
	took := time.Since(t0)
	var ce *launch.CallError
	if !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, protocol.ErrPluginTimeout) {
		t.Fatalf("hang: %v", err)
	}
	if took > time.Second { // hang never answers; only ctx ends the wait
		t.Fatalf("the caller got its error after %v", took)
	}
	want := fmt.Sprintf(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":%d}}`, ce.ID)
	waitFor(t, time.Second, func() bool {
		f.traceMu.Lock()
		defer f.traceMu.Unlock()
		for _, m := range f.sent {
			if m == want {
				return true
			}
		}
		return false
	}, "$/cancelRequest for the hung request")
	f.ok(t)
	if st := f.Status(); st.Restarts != 0 {
		t.Fatalf("a hung request restarted the plugin: %+v", st)
	}
}

func TestFaultMisbehaviourSurvived(t *testing.T) {
	f := startFault(t, nil)
	ctx := context.Background()
	// malformed: a frame that is not JSON and an answer to an unknown id,
	// both dropped; the real answer arrives.
	if got, err := f.hover(ctx, "malformed"); err != nil || got != "fault: ok" {
		t.Fatalf("malformed: %q %v", got, err)
	}
	// panic: the SDK answers -32603, the plugin lives on.
	if _, err := f.hover(ctx, "panic"); !errors.Is(err, protocol.ErrInternal) {
		t.Fatalf("panic: %v", err)
	}
	f.ok(t)
	if st := f.Status(); st.Restarts != 0 {
		t.Fatalf("malformed or panic restarted the plugin: %+v", st)
	}
	// flood: 1,000 notifications of 10,000 diagnostics each, then the answer.
	t0 := time.Now()
	if got, err := f.hover(ctx, "flood"); err != nil || got != "fault: ok" {
		t.Fatalf("flood: %q %v", got, err)
	}
	waitFor(t, 60*time.Second, func() bool { return f.rec.n("textDocument/publishDiagnostics") == 1000 }, "1,000 diagnostics notifications")
	t.Logf("flood delivered in %v", time.Since(t0))
	f.ok(t)
	// huge: a 32 MiB answer is over the host's 16 MiB cap; the caller gets
	// an error, and the plugin restarts (gRPC ended its session).
	_, err := f.hover(ctx, "huge")
	if err == nil {
		t.Fatal("huge: a 32 MiB answer came through a 16 MiB cap")
	}
	t.Logf("huge: %v", err)
	delete(f.docs, "file://"+f.ws+"/huge.txt")
	f.ok(t)
}

func TestFaultGrandchildLeavesNoOrphan(t *testing.T) {
	for _, ns := range []bool{true, false} {
		t.Run(fmt.Sprintf("namespaces=%v", ns), func(t *testing.T) {
			f := startFault(t, func(c *launch.Config) { c.DisableNamespaces = !ns })
			_, err := f.hover(context.Background(), "grandchild")
			if !errors.Is(err, protocol.ErrPluginCrashed) {
				t.Fatalf("grandchild: %v", err)
			}
			// The plugin says on stderr when it cannot start sleep; then
			// this test would prove nothing.
			if out := string(f.Stderr()); strings.Contains(out, "grandchild") {
				t.Fatalf("the grandchild did not start: %s", out)
			}
			delete(f.docs, "file://"+f.ws+"/grandchild.txt")
			f.ok(t)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			// Other tests on this machine may run sleep 600 too: ours carry
			// this plugin's cache directory as HOME.
			mine := func() []string { return processesWithEnv("sleep", "HOME="+f.cache) }
			deadline := time.Now().Add(2 * time.Second)
			for len(mine()) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("orphans: %v", mine())
				}
				time.Sleep(10 * time.Millisecond)
			}
			assertNoChildren(t)
		})
	}
}

func TestCloseWithPluginHung(t *testing.T) {
	f := startFault(t, nil)
	f.ok(t)
	hung := make(chan error, 1)
	go func() { _, err := f.hover(context.Background(), "hang"); hung <- err }()
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 5*time.Second {
		t.Fatalf("Close took %v", took)
	} else {
		t.Logf("Close with a hung request took %v", took)
	}
	select {
	case err := <-hung:
		if !errors.Is(err, protocol.ErrPluginUnavailable) {
			t.Fatalf("the hung call got %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("the hung call still waits after Close")
	}
	assertNoChildren(t)
}

func TestSandboxHolds(t *testing.T) {
	f := startFault(t, nil)
	ctx := context.Background()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("do not read"), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	os.WriteFile(filepath.Join(f.ws, "notes.txt"), []byte("workspace text"), 0o644)
	for _, c := range []struct{ mode, want string }{
		{"read:" + filepath.Join(f.ws, "notes.txt"), "workspace text"}, // granted: the workspace, read-only
		{"read:" + secret, ""},     // under /tmp, which the sandbox masks
		{"read:/etc/hostname", ""}, // outside every grant: Landlock
		{"write:" + filepath.Join(f.ws, "new.txt"), ""},
		{"connect:" + ln.Addr().String(), ""},
	} {
		got, err := f.hover(ctx, c.mode)
		if err != nil {
			t.Fatalf("%s: %v", c.mode, err)
		}
		t.Logf("%s → %s", c.mode, got)
		switch {
		case c.want != "" && got != c.want:
			t.Errorf("%s: %q, want %q", c.mode, got, c.want)
		case c.want == "" && (got == "ok" || got == "do not read" || !strings.Contains(got, ": ")):
			t.Errorf("%s: %q, want an error", c.mode, got)
		}
	}
	if _, err := os.Stat(filepath.Join(f.ws, "new.txt")); err == nil {
		t.Error("the plugin wrote into the workspace")
	}
}
