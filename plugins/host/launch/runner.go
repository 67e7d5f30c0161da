package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin/runner"
	"golang.org/x/sys/unix"
)

// procRunner is the go-plugin runner for one sandboxed plugin process. It
// starts the command sandbox.Command built (so stdin is /dev/null, not the
// host's stdin go-plugin would pass), reaps it itself, and kills its whole
// process group, so that the supervisor learns of an exit at once and
// nothing the plugin started outlives it, whatever holds its stdio pipes.
type procRunner struct {
	name string
	cmd  *exec.Cmd

	stdoutR, stderrR *os.File
	stdoutW, stderrW *os.File
	stdinR, stdinW   *os.File // a stdio plugin's input (withStdin); nil otherwise
	stderr           *stderrLog
	stderrDone       chan struct{}

	started chan struct{}
	exited  chan struct{} // closed once the process is reaped
	waitErr error         // set before exited closes

	mu     sync.Mutex
	pid    int
	reaped bool
	killed bool // kill was called: a process not started yet never runs
}

var _ runner.Runner = (*procRunner)(nil)

func newProcRunner(name string, cmd *exec.Cmd, stderr *stderrLog) (*procRunner, error) {
	r := &procRunner{name: name, cmd: cmd, stderr: stderr, started: make(chan struct{}), exited: make(chan struct{}), stderrDone: make(chan struct{})}
	var err error
	if r.stdoutR, r.stdoutW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if r.stderrR, r.stderrW, err = os.Pipe(); err != nil {
		r.closePipes()
		return nil, err
	}
	// *os.File outputs make exec.Cmd hand the fds over as they are, with no
	// copying goroutine for Wait to wait on.
	cmd.Stdout, cmd.Stderr = r.stdoutW, r.stderrW
	return r, nil
}

// Start starts the process from a goroutine locked to its OS thread for the
// process's whole life: Pdeathsig fires when the thread that forked the
// child exits (golang/go#27505), and a locked thread only exits with its
// goroutine, which ends after the child is reaped.
func (r *procRunner) Start(context.Context) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		r.mu.Lock()
		if r.killed {
			r.mu.Unlock()
			errc <- errors.New("killed before it started")
			runtime.UnlockOSThread()
			return
		}
		// Under mu, so that kill either sees the pid or is seen here.
		err := r.cmd.Start()
		if err != nil {
			r.mu.Unlock()
			errc <- err
			runtime.UnlockOSThread()
			return
		}
		r.pid = r.cmd.Process.Pid
		r.mu.Unlock()
		close(r.started)
		errc <- nil
		r.reap()
	}()
	err := <-errc
	// The child has its copies; the host keeps only the read ends, so the
	// pipes end when the child (and whatever inherited them) is gone.
	r.stdoutW.Close()
	r.stderrW.Close()
	if r.stdinR != nil {
		r.stdinR.Close()
	}
	if err != nil {
		r.closePipes()
		close(r.exited)
		return fmt.Errorf("start plugin launcher: %w", err)
	}
	go func() {
		defer close(r.stderrDone)
		copyStderr(r.stderr, r.stderrR)
	}()
	return nil
}

// reap waits for the process to exit, kills its process group while the
// dead leader still holds the group id (so no other group can have taken it),
// and then collects the exit status.
func (r *procRunner) reap() {
	pid := r.cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	r.mu.Lock()
	_ = unix.Kill(-pid, unix.SIGKILL)
	r.reaped = true
	r.mu.Unlock()
	r.waitErr = r.cmd.Wait()
	close(r.exited)
}

// kill sends SIGKILL to the process group and the process. With a PID
// namespace the process is its init, and its death kills every process in
// it; without one, the group catches what it started (unless that left the
// group). It is safe to call at any time, any number of times.
func (r *procRunner) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killed = true
	if r.pid == 0 || r.reaped {
		return
	}
	_ = unix.Kill(-r.pid, unix.SIGKILL)
	_ = unix.Kill(r.pid, unix.SIGKILL)
}

// withStdin gives the process a pipe for its stdin, in place of /dev/null,
// for a plugin that speaks LSP on stdio. Call it before Start.
func (r *procRunner) withStdin() error {
	var err error
	if r.stdinR, r.stdinW, err = os.Pipe(); err != nil {
		return err
	}
	r.cmd.Stdin = r.stdinR
	return nil
}

// closeStdin closes the host's end of a stdio plugin's input, which is how
// it learns that the session is over.
func (r *procRunner) closeStdin() {
	if r.stdinW != nil {
		r.stdinW.Close()
	}
}

// closePipes closes the host's ends of the stdio pipes, which ends any
// reader still blocked on them (go-plugin's, ours).
func (r *procRunner) closePipes() {
	for _, f := range []*os.File{r.stdoutR, r.stdoutW, r.stderrR, r.stderrW, r.stdinR, r.stdinW} {
		if f != nil {
			f.Close()
		}
	}
}

// exitError describes how the process ended, with the last line it wrote
// to stderr.
func (r *procRunner) exitError() error {
	err := r.waitErr
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			err = fmt.Errorf("killed by signal %s", ws.Signal())
		} else {
			err = fmt.Errorf("exit status %d", ee.ExitCode())
		}
	} else if err == nil {
		err = errors.New("exited with status 0")
	}
	if line := r.stderr.ring.lastLine(300); line != "" {
		err = fmt.Errorf("%w; last stderr line: %s", err, strings.TrimSpace(line))
	}
	return err
}

// waitStderr waits a little for the stderr reader to drain, so an error
// message can quote the launcher's or plugin's last words.
func (r *procRunner) waitStderr() {
	select {
	case <-r.stderrDone:
	case <-time.After(stderrDrainWait):
	}
}

// Wait blocks until the process has been reaped.
func (r *procRunner) Wait(context.Context) error {
	<-r.exited
	return r.waitErr
}

// Kill is go-plugin's last resort (after its own 2 s grace): kill the group.
func (r *procRunner) Kill(context.Context) error {
	r.kill()
	return nil
}

// Stdout carries the go-plugin handshake line.
func (r *procRunner) Stdout() io.ReadCloser { return r.stdoutR }

// Stderr is empty for go-plugin: the runner reads the real stderr itself,
// into a ring buffer and a rate-limited log, so go-plugin neither logs
// every line nor waits for a grandchild to close it.
func (r *procRunner) Stderr() io.ReadCloser { return io.NopCloser(strings.NewReader("")) }

func (r *procRunner) Name() string { return r.name }

// pidNow is the process id while it runs, 0 otherwise.
func (r *procRunner) pidNow() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reaped {
		return 0
	}
	return r.pid
}

// ID is the process id, "" before Start (go-plugin's Kill does nothing then).
func (r *procRunner) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pid == 0 {
		return ""
	}
	return strconv.Itoa(r.pid)
}

// Diagnose quotes the last thing the process wrote to stderr, which is
// where the launcher explains a sandbox step that failed.
func (r *procRunner) Diagnose(context.Context) string {
	r.waitStderr()
	if line := r.stderr.ring.lastLine(1000); line != "" {
		return "plugin stderr: " + line
	}
	return ""
}

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
