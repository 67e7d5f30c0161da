package launch_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/protocol"
)

func TestCrashRestartsAndDisables(t *testing.T) {
	set := load(t, config(t, "echo"))
	var inits atomic.Int32
	i := start(t, set, "echo", launch.StartOptions{Init: func(ctx context.Context, i *launch.Instance) error {
		inits.Add(1)
		_, err := i.Call(ctx, "initialize", map[string]any{})
		return err
	}})
	for n := 1; n <= 5; n++ {
		// A call in flight when the plugin dies fails with plugin_crashed.
		slow := make(chan error, 1)
		go func() {
			_, err := i.Call(context.Background(), "sleep", nil)
			slow <- err
		}()
		time.Sleep(20 * time.Millisecond)
		_, err := i.Call(context.Background(), "exit", nil)
		if !errors.Is(err, protocol.ErrPluginCrashed) || !strings.Contains(err.Error(), "exit status 3") {
			t.Fatalf("crash %d: the crashing call got %v", n, err)
		}
		if err := <-slow; !errors.Is(err, protocol.ErrPluginCrashed) {
			t.Fatalf("crash %d: the call in flight got %v", n, err)
		}
		if n == 5 {
			break
		}
		// Restarting: calls fail fast.
		if st := i.Status(); st.State != launch.StateRestarting {
			t.Fatalf("after crash %d: %+v", n, st)
		}
		if _, err := i.Call(context.Background(), "echo", 1); !errors.Is(err, protocol.ErrPluginUnavailable) {
			t.Fatalf("call while restarting: %v", err)
		}
		waitFor(t, 10*time.Second, func() bool { return i.Status().State == launch.StateRunning }, "restart")
		if got := inits.Load(); got != int32(n+1) {
			t.Fatalf("after restart %d Init ran %d times", n, got)
		}
		if _, err := i.Call(context.Background(), "echo", 1); err != nil {
			t.Fatalf("after restart %d: %v", n, err)
		}
		if st := i.Status(); st.Restarts != n {
			t.Fatalf("after restart %d: %+v", n, st)
		}
	}
	st := i.Status()
	if st.State != launch.StateDisabled || !strings.Contains(st.Reason, "crashed 5 times") {
		t.Fatalf("after 5 crashes: %+v", st)
	}
	t0 := time.Now()
	_, err := i.Call(context.Background(), "echo", 1)
	if !errors.Is(err, protocol.ErrPluginUnavailable) || !strings.Contains(err.Error(), "disabled") || time.Since(t0) > 100*time.Millisecond {
		t.Fatalf("call on a disabled instance: %v after %v", err, time.Since(t0))
	}
	time.Sleep(300 * time.Millisecond)
	if got := inits.Load(); got != 5 {
		t.Fatalf("a disabled instance was started again: Init ran %d times", got)
	}
}

// Closing an instance while it restarts (in its back-off, or while the new
// process starts and runs Init) stops the restart and leaves nothing behind.
func TestCloseDuringRestart(t *testing.T) {
	for _, wait := range []time.Duration{0, 100 * time.Millisecond, 130 * time.Millisecond} {
		set := load(t, config(t, "echo"))
		var inits atomic.Int32
		i := start(t, set, "echo", launch.StartOptions{Init: func(ctx context.Context, i *launch.Instance) error {
			if inits.Add(1) > 1 {
				time.Sleep(100 * time.Millisecond) // a slow Init on restart
			}
			_, err := i.Call(ctx, "initialize", map[string]any{})
			return err
		}})
		if _, err := i.Call(context.Background(), "exit", nil); !errors.Is(err, protocol.ErrPluginCrashed) {
			t.Fatal(err)
		}
		time.Sleep(wait)
		t0 := time.Now()
		i.Close()
		if took := time.Since(t0); took > 2*time.Second {
			t.Fatalf("Close %v into the restart took %v", wait, took)
		}
		if st := i.Status(); st.State != launch.StateStopped {
			t.Fatalf("after Close: %+v", st)
		}
		assertNoChildren(t)
	}
}

// A plugin that stops reading (SIGSTOP) fills its stream until gRPC's flow
// control holds the host's writes: a caller queued behind such a write
// still gets its deadline, and Close still ends everything within 5 s.
func TestStoppedPlugin(t *testing.T) {
	set := load(t, config(t, "echo"))
	i := start(t, set, "echo", launch.StartOptions{})
	pid := i.Status().PID
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1<<20)
	var sent atomic.Int32
	go func() {
		for range 64 { // 64 MiB: far more than any flow-control window
			if i.Notify(context.Background(), "echo", big) != nil {
				return
			}
			sent.Add(1)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	if n := sent.Load(); n == 0 || n == 64 {
		t.Fatalf("%d of 64 MiB-notifications went out to a stopped plugin: the test needs some, then a held write", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := i.Call(ctx, "echo", 1)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > time.Second {
		t.Fatalf("a call behind a held write: %v after %v", err, time.Since(t0))
	}
	t0 = time.Now()
	i.Close()
	if took := time.Since(t0); took > 5*time.Second {
		t.Fatalf("Close of a stopped plugin took %v", took)
	} else {
		t.Logf("Close of a stopped plugin took %v", took)
	}
	assertNoChildren(t)
}
