package launch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gathering-dev/gathering/protocol"
)

// Handler receives the traffic that comes FROM a plugin: the router
// implements it. Calls come in wire order, one at a time, on a goroutine of
// the instance's own, so a Handler never delays the answers to
// [Instance.Call]; but while it runs, later messages from the same plugin
// wait, and once 64 of them wait, reading stops (the plugin is slowed down
// rather than the host buffering a flood) and so do the answers behind
// them: a Handler must not wait on a Call to the same instance. Request's
// context ends when the plugin cancels the request ($/cancelRequest) or its
// session ends.
type Handler interface {
	Notification(ctx context.Context, method string, params json.RawMessage)
	Request(ctx context.Context, method string, params json.RawMessage) (any, error)
}

// Folder is a workspace folder the plugin may read.
type Folder struct {
	URI  string
	Path string // absolute
}

// StartOptions configure one [Instance].
type StartOptions struct {
	// Handler receives the plugin's notifications and requests; nil drops
	// notifications and answers requests with method-not-found.
	Handler Handler
	// Folders are granted read-only (read-write where the manifest asks for
	// ${workspace} write) and expand ${workspace}.
	Folders []Folder
	// Init runs after every start and restart, before the instance counts
	// as running: the router sends initialize and initialized and replays
	// didOpen. Calls made with Init's ctx reach the new process even though
	// other callers still see the instance as starting. An error kills the
	// process; at first start Start returns it, on a restart it counts as a
	// crash.
	Init func(ctx context.Context, i *Instance) error
}

// State is where an instance is in its life.
type State string

// The states of an instance.
const (
	StateStarting   State = "starting"
	StateRunning    State = "running"
	StateRestarting State = "restarting"
	StateDisabled   State = "disabled"
	StateStopped    State = "stopped"
)

// Status describes an instance.
type Status struct {
	Name    string
	Version string
	State   State
	// Reason says why the instance is restarting, disabled or stopped.
	Reason string
	// PID is the running process's id in the host's PID namespace, 0 when
	// none runs.
	PID int
	// Restarts counts the restarts after crashes.
	Restarts int
	// Sandbox is the sandbox level the current (or last) process got.
	Sandbox string
	// Started is when the current process became ready.
	Started time.Time
}

// Supervision limits (research/plugins.md §4.4).
const (
	// crashLimit crashes within crashWindow disable an instance (the rule
	// of vscode-languageclient).
	crashLimit  = 5
	crashWindow = 3 * time.Minute
	// The back-off before restart n is backoffFirst·2^(n-1), at most backoffMax.
	backoffFirst = 100 * time.Millisecond
	backoffMax   = 10 * time.Second
	// initTimeout bounds Init on a restart (initialize may index a project).
	initTimeout = 60 * time.Second
	// shutdownWait bounds the LSP shutdown request in Close.
	shutdownWait = 2 * time.Second
	// closeBudget is all Close may take, with a margin under the promised
	// 5 s; reapWait of it is kept for the SIGKILL and the reaping.
	closeBudget = 4800 * time.Millisecond
	reapWait    = 400 * time.Millisecond
	// identityWait bounds GetInfo after the handshake.
	identityWait = 5 * time.Second
	// stderrDrainWait is how long an error message waits for the process's
	// last stderr lines.
	stderrDrainWait = 200 * time.Millisecond
)

// Instance is one running plugin, supervised: it restarts after a crash
// and is disabled after too many. Its methods are safe for concurrent use.
type Instance struct {
	plugin *Plugin
	opts   StartOptions
	log    *slog.Logger
	stderr *ring

	// life ends when Close is called; restarts and Init derive from it.
	life          context.Context
	stop          context.CancelFunc
	superviseDone chan struct{}

	mu       sync.Mutex
	state    State
	reason   string
	cur      *process          // the process calls go to; nil unless running
	procs    map[*process]bool // every process not yet cleaned up
	restarts int
	crashes  []time.Time
	started  time.Time
	level    string
	closed   bool
}

// initKey marks the ctx given to Init with the process it initialises.
type initKey struct{}

// Plugin returns the plugin the instance runs.
func (i *Instance) Plugin() *Plugin { return i.plugin }

// Status reports the instance's state.
func (i *Instance) Status() Status {
	i.mu.Lock()
	defer i.mu.Unlock()
	s := Status{Name: i.plugin.name, State: i.state, Reason: i.reason, Restarts: i.restarts, Sandbox: i.level, Started: i.started}
	if i.plugin.Manifest != nil {
		s.Version = i.plugin.Manifest.Version
	}
	if i.cur != nil {
		s.PID = i.cur.runner.pidNow()
	}
	return s
}

// Stderr returns the last MiB the plugin's processes wrote to stderr (and,
// after the handshake, to stdout), oldest first.
func (i *Instance) Stderr() []byte { return i.stderr.Bytes() }

// target picks the process a call goes to: Init's own, or the running one.
// It fails fast with protocol.ErrPluginUnavailable otherwise.
func (i *Instance) target(ctx context.Context) (*process, error) {
	if p, ok := ctx.Value(initKey{}).(*process); ok && p.inst == i {
		return p, nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if p := i.serving(); p != nil {
		return p, nil
	}
	why := string(i.state)
	if i.reason != "" {
		why += ": " + i.reason
	}
	return nil, protocol.Errorf(protocol.ErrPluginUnavailable, "plugin %s is %s", i.plugin.name, why)
}

// Call sends a request to the plugin and returns its result (JSON null when
// it answered with none). params is encoded with encoding/json, except a
// json.RawMessage, which is sent as it is.
//
// Errors: the plugin's own error as a *protocol.Error; a [*CallError]
// wrapping ctx's error when ctx ends first, after $/cancelRequest was sent
// (errors.Is matches both context.DeadlineExceeded and
// protocol.ErrPluginTimeout, or context.Canceled and
// protocol.ErrRequestCancelled); protocol.ErrPluginCrashed when the process
// dies first; protocol.ErrPluginUnavailable at once when the instance is
// restarting, disabled or closed; protocol.ErrTooLarge when the request is
// over the message cap.
func (i *Instance) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	p, err := i.target(ctx)
	if err != nil {
		return nil, err
	}
	return p.conn.call(ctx, method, params)
}

// Go sends a request like Call, but does not wait for the answer: done
// gets exactly once what Call would have returned. It is called on the
// goroutine reading the plugin's output when the plugin answers, or when
// the process dies, the deadline passes (after $/cancelRequest was queued;
// a zero deadline is none) or the caller calls the cancel Go returns, or
// on this goroutine before Go returns when the request cannot be sent at
// all. ctx bounds only the sending: once Go returns, the request is ended
// early by cancel alone, which queues $/cancelRequest and gives done a
// *CallError for context.Canceled, and does nothing once done has run.
// done must not block: answers behind it wait. This is how a request is
// forwarded with no goroutine of its own waiting on it, and no timer of
// its own either: deadlines share one.
//
// params must be nil or exactly one JSON value: Go passes them on without
// checking, as a forwarded request's were checked when they were read.
//
// When the instance is not running (restarting, disabled or closed, where
// Call fails at once with protocol.ErrPluginUnavailable), Go does nothing
// and returns ok false, so that the caller can wait for it another way
// without first asking for the state under a lock of its own.
func (i *Instance) Go(ctx context.Context, deadline time.Time, method string, params json.RawMessage, done Answer) (cancel Canceler, ok bool) {
	i.mu.Lock()
	p := i.serving()
	i.mu.Unlock()
	if p == nil {
		return nil, false
	}
	return p.conn.start(ctx, deadline, method, params, done), true
}

// serving returns the process serving requests, nil while there is none.
// Call it with i.mu held.
func (i *Instance) serving() *process {
	if i.cur != nil && i.state == StateRunning {
		return i.cur
	}
	return nil
}

// Notify sends a notification to the plugin. It fails fast, like Call,
// when the instance is not running.
func (i *Instance) Notify(ctx context.Context, method string, params any) error {
	p, err := i.target(ctx)
	if err != nil {
		return err
	}
	if err := p.conn.notify(ctx, method, params); err != nil {
		if cause := p.conn.err(); cause != nil {
			return p.crashed(cause)
		}
		if ctx.Err() != nil {
			return &CallError{Method: method, Ctx: ctx.Err()}
		}
		return err
	}
	return nil
}

// Close stops the instance: it sends shutdown (waiting at most 2 s) and
// exit, lets go-plugin kill the client, then kills the process group (the
// PID namespace's init, when there is one) and waits for the process to be
// reaped. It never takes more than 5 s, leaves no process behind, and is
// safe to call more than once; later calls return at once.
func (i *Instance) Close() error {
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		return nil
	}
	i.closed = true
	i.state, i.reason = StateStopped, "closed"
	cur := i.cur
	i.cur = nil
	i.mu.Unlock()
	deadline := time.Now().Add(closeBudget)
	i.stop() // aborts a restart in progress: back-off, launch or Init

	var wg sync.WaitGroup
	if cur != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur.shutdown(deadline)
		}()
	}
	i.mu.Lock()
	others := make([]*process, 0, len(i.procs))
	for p := range i.procs {
		if p != cur {
			others = append(others, p)
		}
	}
	i.mu.Unlock()
	for _, p := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.terminate(deadline)
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		<-i.superviseDone
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Until(deadline) + 150*time.Millisecond):
		i.log.Warn("plugin did not stop in time; left to finish in the background", "plugin", i.plugin.name)
	}
	return nil
}

func (i *Instance) track(p *process) {
	i.mu.Lock()
	i.procs[p] = true
	i.mu.Unlock()
}

func (i *Instance) untrack(p *process) {
	i.mu.Lock()
	delete(i.procs, p)
	i.mu.Unlock()
}

// String names the instance for logs.
func (i *Instance) String() string { return fmt.Sprintf("plugin %s", i.plugin.name) }
