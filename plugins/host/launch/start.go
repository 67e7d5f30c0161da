package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sandbox"
	"github.com/gathering-dev/gathering/plugins/sdk"
	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
	"github.com/gathering-dev/gathering/protocol"
)

// Start launches p in the sandbox, checks its identity, opens its session
// and runs opts.Init, then supervises it until [Instance.Close]. ctx bounds
// the start only (handshake, GetInfo and Init), not the instance's life.
//
// It returns p.Refused for a refused plugin, a *manifest.Error with
// StepDigest or StepBinary when the binary no longer matches what was
// verified, a *manifest.Error with [StepIdentity] when GetInfo names
// another plugin, version or API than the manifest, and otherwise an error
// that quotes the last line the process wrote to stderr (where the
// launcher explains a sandbox step that failed).
func Start(ctx context.Context, p *Plugin, opts StartOptions) (*Instance, error) {
	if p.Refused != nil {
		return nil, p.Refused
	}
	life, stop := context.WithCancel(context.Background())
	i := &Instance{
		plugin:        p,
		opts:          opts,
		log:           p.set.log.With("plugin", p.name),
		stderr:        newRing(stderrRingBytes),
		life:          life,
		stop:          stop,
		superviseDone: make(chan struct{}),
		state:         StateStarting,
		procs:         make(map[*process]bool),
	}
	proc, err := i.launch(ctx)
	if err != nil {
		stop()
		close(i.superviseDone)
		i.mu.Lock()
		i.state, i.reason, i.closed = StateStopped, err.Error(), true
		i.mu.Unlock()
		var me *manifest.Error
		if errors.As(err, &me) {
			return nil, err
		}
		return nil, fmt.Errorf("start plugin %s: %w", p.name, err)
	}
	if err := i.running(proc); err != nil {
		proc.terminate(time.Now().Add(closeBudget))
		stop()
		close(i.superviseDone)
		return nil, fmt.Errorf("start plugin %s: %w: %v", p.name, err, proc.cause)
	}
	go i.supervise(proc)
	return i, nil
}

// process is one launch of an instance's plugin: from the handshake to the
// moment it is reaped and cleaned up.
type process struct {
	inst   *Instance
	client *plugin.Client
	conn   *conn
	level  sandbox.Level

	mu        sync.Mutex
	runner    *procRunner
	killed    bool
	socketDir string       // go-plugin's per-client socket directory
	input     *stallWriter // a stdio plugin's input

	streamCancel context.CancelFunc
	streamEnded  chan error    // the read loop's Recv error
	dead         chan struct{} // closed once the process exited or its session ended
	cause        error         // why; set before dead closes
	died         bool          // guarded by inst.mu: its death was recorded
	next         time.Duration // the back-off before a restart; set before dead closes
	disabled     bool          // no restart: too many crashes, or closed

	// stopping is set by shutdown: the session is ending on purpose, and
	// go-plugin is to stop the process gracefully before anything kills it.
	stopping atomic.Bool

	termOnce sync.Once
	termDone chan struct{}
}

// launch starts one process of the instance's plugin and initialises it.
// The process is killed if ctx ends first.
func (i *Instance) launch(ctx context.Context) (*process, error) {
	image, err := i.plugin.image()
	if err != nil {
		return nil, err
	}
	spec, err := i.spec(image)
	if err != nil {
		return nil, err
	}
	m := i.plugin.Manifest
	cfg := i.plugin.set.cfg
	p := &process{inst: i, streamEnded: make(chan error, 1), dead: make(chan struct{}), termDone: make(chan struct{})}
	out := newStderrLog(i.log, i.stderr, "stderr")
	if i.plugin.stdio() {
		return p.launchStdio(ctx, spec, out)
	}
	p.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.APIVersion: {pluginv1.PluginKey: &pluginv1.GRPCPlugin{}}},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, socketDir string) (runner.Runner, error) {
			s := spec
			s.SocketDir = socketDir
			s.Env = append(slices.Clone(cmd.Env), spec.Env...)
			c, lvl, err := sandbox.Command(s)
			if err != nil {
				return nil, err
			}
			r, err := newProcRunner(m.Name, c, out)
			if err != nil {
				return nil, err
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.killed {
				r.closePipes()
				return nil, errors.New("start abandoned")
			}
			p.runner, p.level, p.socketDir = r, lvl, socketDir
			return r, nil
		},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SkipHostEnv:      true,
		Logger:           newHclog(i.log),
		StartTimeout:     time.Duration(m.Limits.StartTimeoutMS) * time.Millisecond,
		GRPCDialOptions:  pluginv1.DialOptions(cfg.MaxMessageBytes),
		// No broker multiplexing: the host never uses the gRPC broker,
		// and with it on go-plugin runs the one Session stream through a
		// yamux session over the socket, a second framing layer with its
		// own goroutines on every message (measured: the host→plugin p50
		// overhead 129 µs without, 168 µs with, over three A/B runs).
		GRPCBrokerMultiplex: false,
		SyncStdout:          newStderrLog(i.log, i.stderr, "stdout"),
		SyncStderr:          out,
	})
	i.track(p)
	abort := context.AfterFunc(ctx, p.kill)
	defer abort()
	if err := p.connect(ctx); err != nil {
		p.abandon()
		return nil, err
	}
	return p.initialize(ctx)
}

// launchStdio starts a [builtin.Builtin.Stdio] plugin: the sandboxed
// process with pipes for its stdin and stdout, over which the session runs
// in LSP's framing, with no handshake.
func (p *process) launchStdio(ctx context.Context, spec sandbox.Spec, out *stderrLog) (*process, error) {
	i := p.inst
	// The sandbox wants a private read-write directory for the go-plugin
	// socket; a stdio plugin has none, but gets the same fresh directory.
	dir, err := os.MkdirTemp("", "gathering-plugin-")
	if err != nil {
		return nil, fmt.Errorf("plugin socket directory: %w", err)
	}
	spec.SocketDir = dir
	spec.StdinPipe = true
	spec.Env = append(slices.Clone(spec.Env), builtin.StdioEnv+"=1")
	p.socketDir = dir
	i.track(p)
	fail := func(err error) (*process, error) {
		p.abandon()
		return nil, err
	}
	c, lvl, err := sandbox.Command(spec)
	if err != nil {
		return fail(err)
	}
	r, err := newProcRunner(i.plugin.Manifest.Name, c, out)
	if err != nil {
		return fail(err)
	}
	if err := r.withStdin(); err != nil {
		r.closePipes()
		return fail(err)
	}
	p.mu.Lock()
	p.runner, p.level = r, lvl
	p.mu.Unlock()
	abort := context.AfterFunc(ctx, p.kill)
	defer abort()
	if err := r.Start(ctx); err != nil {
		return fail(err)
	}
	stall := inputStall
	if d := i.plugin.set.cfg.Test.InputStall; d > 0 {
		stall = d
	}
	p.input = newStallWriter(r.stdinW, stall, func() {
		i.log.Warn("the plugin has stopped reading its input; killing it", "after", stall)
		p.kill()
	})
	// The transport reads; stdioFrames writes to the input itself.
	t := sdk.NewStdioTransport(r.stdoutR, p.input, i.plugin.set.cfg.MaxMessageBytes)
	p.open(&stdioFrames{t: t, input: p.input, log: i.log})
	return p.initialize(ctx)
}

// initialize runs the instance's Init on a freshly connected process.
func (p *process) initialize(ctx context.Context) (*process, error) {
	i := p.inst
	if i.opts.Init != nil {
		if err := i.opts.Init(context.WithValue(ctx, initKey{}, p), i); err != nil {
			p.abandon()
			if cause := p.conn.err(); cause != nil {
				err = fmt.Errorf("%w (%v)", err, cause)
			}
			return nil, fmt.Errorf("init: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		p.terminate(time.Now().Add(closeBudget))
		return nil, err
	}
	return p, nil
}

// connect does the handshake, checks GetInfo against the manifest and opens
// the session.
func (p *process) connect(ctx context.Context) error {
	m := p.inst.plugin.Manifest
	rpc, err := p.client.Client()
	if err != nil {
		return p.startError(err)
	}
	raw, err := rpc.Dispense(pluginv1.PluginKey)
	if err != nil {
		return p.startError(err)
	}
	lp, ok := raw.(pluginv1.LanguagePluginClient)
	if !ok {
		return fmt.Errorf("go-plugin dispensed %T, not a LanguagePluginClient", raw)
	}
	ictx, cancel := context.WithTimeout(ctx, identityWait)
	info, err := lp.GetInfo(ictx, &pluginv1.GetInfoRequest{})
	cancel()
	if err != nil {
		return p.startError(fmt.Errorf("GetInfo: %w", err))
	}
	if info.GetName() != m.Name || info.GetVersion() != m.Version || info.GetApi() != pluginv1.APIVersion || !slices.Contains(m.Protocol.PluginAPI, int(info.GetApi())) {
		return &manifest.Error{Step: StepIdentity, Path: p.inst.plugin.Source, Err: fmt.Errorf(
			"the plugin says it is %q version %q speaking API %d; its manifest says %q version %q, API %v, and this host speaks API %d",
			info.GetName(), info.GetVersion(), info.GetApi(), m.Name, m.Version, m.Protocol.PluginAPI, pluginv1.APIVersion)}
	}
	sctx, scancel := context.WithCancel(context.Background())
	stream, err := lp.Session(sctx)
	if err != nil {
		scancel()
		return p.startError(fmt.Errorf("open session: %w", err))
	}
	p.streamCancel = scancel
	p.open(grpcFrames{stream})
	return nil
}

// open starts the session's conn on stream and the watch over the process.
func (p *process) open(stream messageStream) {
	cfg := p.inst.plugin.set.cfg
	var trace func(bool, []byte)
	if t := cfg.Test.Trace; t != nil {
		name := p.inst.plugin.name
		trace = func(out bool, msg []byte) { t(name, out, msg) }
	}
	p.conn = newConn(stream, p.inst.opts.Handler, cfg.MaxMessageBytes, p.inst.log, trace, p.crashed)
	p.conn.onEnd = func(err error) { p.streamEnded <- err }
	go p.conn.run()
	go p.watch()
}

// startError adds how the process ended, if it did, to a start failure.
func (p *process) startError(err error) error {
	r := p.getRunner()
	if r == nil {
		return err
	}
	select {
	case <-r.exited:
		r.waitStderr()
		return fmt.Errorf("%w: plugin process %v", err, r.exitError())
	case <-time.After(50 * time.Millisecond):
		return err
	}
}

func (p *process) getRunner() *procRunner {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runner
}

// watch declares the process dead when it exits or its session ends,
// whichever comes first, fails the calls in flight and kills what is left.
func (p *process) watch() {
	r := p.getRunner()
	var cause error
	select {
	case <-r.exited:
		r.waitStderr()
		cause = r.exitError()
	case err := <-p.streamEnded:
		// The process usually follows its stream within a moment; its exit
		// status says more than the stream's error.
		select {
		case <-r.exited:
			r.waitStderr()
			cause = r.exitError()
		case <-time.After(100 * time.Millisecond):
			cause = err
		}
	}
	p.cause = cause
	// The instance leaves running before the calls in flight learn of the
	// crash, so that no caller reaches the dead process after them.
	p.next, p.disabled = p.inst.crash(p, cause)
	p.conn.fail(cause)
	if !p.stopping.Load() {
		p.kill()
	}
	close(p.dead)
}

// crashed is the error for a call the process did not answer because it
// died: protocol.ErrPluginCrashed, or protocol.ErrPluginUnavailable when
// the instance was being closed.
func (p *process) crashed(cause error) error {
	i := p.inst
	i.mu.Lock()
	closed := i.closed
	i.mu.Unlock()
	if closed {
		return protocol.Errorf(protocol.ErrPluginUnavailable, "plugin %s was stopped", i.plugin.name)
	}
	return protocol.Errorf(protocol.ErrPluginCrashed, "plugin %s: %v", i.plugin.name, cause)
}

// abandon ends a start that failed: the process group is killed and the
// process reaped.
func (p *process) abandon() {
	p.kill()
	p.terminate(time.Now().Add(closeBudget))
}

// kill kills the process group now; a start still in progress is abandoned.
func (p *process) kill() {
	p.mu.Lock()
	p.killed = true
	r := p.runner
	p.mu.Unlock()
	if r != nil {
		r.kill()
	}
}

// shutdown is the graceful stop: LSP shutdown (at most shutdownWait) and
// exit end the session; terminate then has go-plugin shut the server down,
// which ends the process.
func (p *process) shutdown(deadline time.Time) {
	p.stopping.Store(true)
	answered := false
	if p.conn.err() == nil {
		// In a goroutine of its own: a plugin that stopped reading holds up
		// the write, and terminate, which ends it, must come regardless.
		done := make(chan bool, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), min(shutdownWait, time.Until(deadline)))
			defer cancel()
			_, err := p.conn.call(ctx, "shutdown", nil)
			if err != nil {
				p.inst.log.Debug("plugin did not answer shutdown", "error", err)
			}
			if p.conn.err() == nil {
				ectx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				_ = p.conn.notify(ectx, "exit", nil)
			}
			done <- err == nil
		}()
		select {
		case answered = <-done:
		case <-time.After(min(shutdownWait, time.Until(deadline)) + 50*time.Millisecond):
		}
	}
	if !answered {
		// Nothing graceful will work on a plugin that ignored shutdown:
		// go-plugin's Kill would only wait its 2 s for it.
		p.kill()
	}
	p.terminate(deadline)
}

// terminate lets go-plugin close its client (bounded: its Kill can block on
// pipes a grandchild holds), kills the process group, waits for the process
// to be reaped and releases the pipes and the socket directory. Concurrent
// callers wait for the first one, up to deadline.
func (p *process) terminate(deadline time.Time) {
	p.termOnce.Do(func() {
		go func() {
			defer close(p.termDone)
			defer p.inst.untrack(p)
			r := p.getRunner()
			if r != nil {
				select {
				case <-r.exited:
				default:
					if !p.stopping.Load() {
						r.kill() // a crash or an abandoned start: nothing graceful to do
					}
				}
			}
			killed := make(chan struct{})
			go func() {
				if p.client != nil {
					p.client.Kill()
				} else if r != nil {
					// A stdio plugin ends when its input does.
					r.closeStdin()
					<-r.exited
				}
				close(killed)
			}()
			select {
			case <-killed:
			case <-time.After(time.Until(deadline) - reapWait):
				p.inst.log.Warn("the plugin is taking too long to stop; killing the process group", "plugin", p.inst.plugin.name)
			}
			p.kill()
			if p.streamCancel != nil {
				p.streamCancel()
			}
			if r != nil {
				select {
				case <-r.exited:
				case <-time.After(max(time.Until(deadline), 50*time.Millisecond)):
					p.inst.log.Error("plugin process not reaped after SIGKILL", "pid", r.pidNow())
				}
				r.closePipes()
			}
			if p.input != nil {
				p.input.close()
			}
			// go-plugin removes it in Kill, unless Kill was cut short.
			p.mu.Lock()
			dir := p.socketDir
			p.mu.Unlock()
			if dir != "" {
				os.RemoveAll(dir)
			}
		}()
	})
	select {
	case <-p.termDone:
	case <-time.After(max(time.Until(deadline), 0)):
	}
}
