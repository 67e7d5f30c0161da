package lspbridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

// DefaultMaxMessageBytes caps one JSON-RPC message in either direction when
// Options.MaxMessageBytes is zero; it matches the plugin wire's cap.
const DefaultMaxMessageBytes = 16 << 20

// Defaults for the zero Options.
const (
	defaultStderrBytes   = 64 << 10
	defaultStderrLines   = 20
	defaultShutdownGrace = 2 * time.Second
	// drainWait bounds how long Run waits, after the server is gone, for its
	// stdout and stderr to reach end of file; only a process that left the
	// group while holding them can make it matter.
	drainWait = time.Second
	// oneWrite is the largest message copied behind its header so that it
	// goes to the server in a single write; larger ones take two.
	oneWrite = 64 << 10
)

// codeRequestFailed is LSP's RequestFailed, sent in place of a message the
// bridge had to drop.
const codeRequestFailed = -32803

// shutdownID is the id of the shutdown request the bridge sends itself when
// the host goes away. Hosts number their requests, so it cannot collide.
const shutdownID = `"gathering-lspbridge-shutdown"`

// Options tunes Run. The zero value is ready to use.
type Options struct {
	// Dir is the server's working directory; "" keeps the caller's.
	Dir string
	// Env is the server's whole environment; nil passes the caller's.
	Env []string
	// MaxMessageBytes caps one message body in either direction; 0 means
	// DefaultMaxMessageBytes. An oversize message is dropped and logged; if
	// it was a request or a response, its peer gets an error response for
	// that id instead of silence.
	MaxMessageBytes int
	// StderrBytes is how much of the server's stderr is kept for the exit
	// report; 0 means 64 KiB.
	StderrBytes int
	// StderrLines is how many of the last stderr lines a ServerExitError
	// carries; 0 means 20.
	StderrLines int
	// ShutdownGrace is how long a server has, once the Transport has ended,
	// to answer shutdown and exit before its process group is killed;
	// 0 means 2 s.
	ShutdownGrace time.Duration
	// Logger receives dropped messages at Warn and the server's stderr
	// lines at Debug; nil discards.
	Logger *slog.Logger
	// Started, if set, is called with the server's pid (also its process
	// group id) once it runs, before any message moves.
	Started func(pid int)
}

func (o Options) withDefaults() Options {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.StderrBytes <= 0 {
		o.StderrBytes = defaultStderrBytes
	}
	if o.StderrLines <= 0 {
		o.StderrLines = defaultStderrLines
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = defaultShutdownGrace
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ServerExitError reports a language server that exited while the host was
// still connected.
type ServerExitError struct {
	// Server is the command that was run (cmd[0]).
	Server string
	// Status says how it ended: "exit status 3", "signal: killed".
	Status string
	// ExitCode is the exit code, or -1 when a signal ended it.
	ExitCode int
	// Stderr holds the last lines the server wrote to stderr.
	Stderr string
}

// Error names the server, how it ended and its last stderr lines.
func (e *ServerExitError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("language server %s exited (%s) with no stderr output", e.Server, e.Status)
	}
	return fmt.Sprintf("language server %s exited (%s); last stderr lines:\n%s", e.Server, e.Status, e.Stderr)
}

// Run starts the language server cmd (cmd[0] already resolved by the caller)
// and pipes messages between t and the server's stdio until one side ends.
//
// If the server exits first, Run returns a *ServerExitError (or nil when the
// host had sent "exit" and the server exited with status 0). If the Transport
// ends first (Read fails) or ctx is done, the server is sent shutdown and
// exit, its process group is killed after Options.ShutdownGrace, and Run
// returns nil for io.EOF, the Transport's error otherwise, or ctx.Err().
// Output that is not Content-Length framing ends Run with an error naming
// it. In every case the server's process group is killed and the server
// reaped before Run returns. Run does not wait for a Read on t that is still
// pending when the server has gone; the caller ends the Transport.
func Run(ctx context.Context, t sdk.Transport, cmd []string, opts Options) error {
	if len(cmd) == 0 || cmd[0] == "" {
		return errors.New("lspbridge: no server command")
	}
	b := &bridge{
		t:           t,
		opts:        opts.withDefaults(),
		name:        cmd[0],
		shutdownAck: make(chan struct{}),
		exited:      make(chan struct{}),
		outDone:     make(chan struct{}),
		errDone:     make(chan struct{}),
		hostDone:    make(chan struct{}),
	}
	b.log = b.opts.Logger.With("server", cmd[0])
	b.stderr = newRing(b.opts.StderrBytes)
	if err := b.start(cmd); err != nil {
		return err
	}
	return b.run(ctx)
}

// bridge is one running server and the goroutines that serve it.
type bridge struct {
	t      sdk.Transport
	opts   Options
	name   string
	log    *slog.Logger
	cmd    *exec.Cmd
	stderr *ring

	stdin  *os.File // the server's stdin, write end
	stdout *os.File // the server's stdout, read end
	errR   *os.File // the server's stderr, read end

	// initialized is set once the host's initialize has gone through
	// rewriteInitialize; only hostToServer touches it.
	initialized bool

	stdinMu   sync.Mutex
	stdinOnce sync.Once
	wbuf      []byte // header+body staging for one write, under stdinMu

	hostMu   sync.Mutex // serialises t.Write
	hostGone atomic.Bool

	hostExit     atomic.Bool // the host sent "exit"
	stopping     atomic.Bool // the bridge is shutting the server down
	shutdownSent atomic.Bool
	ackOnce      sync.Once
	shutdownAck  chan struct{}
	finished     atomic.Bool // Run has returned

	exited   chan struct{} // closed once the server is reaped
	waitErr  error
	outDone  chan struct{} // closed when the stdout reader stops
	outErr   error
	errDone  chan struct{} // closed when the stderr reader stops
	hostDone chan struct{} // closed when the Transport's Read fails
	hostErr  error
}

// start launches the server with fresh pipes for its stdio.
func (b *bridge) start(argv []string) error {
	inR, inW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("lspbridge: stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return fmt.Errorf("lspbridge: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return fmt.Errorf("lspbridge: stderr pipe: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = b.opts.Dir, b.opts.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	isolate(cmd)
	err = cmd.Start()
	closeAll(inR, outW, errW) // the child has its copies
	if err != nil {
		closeAll(inW, outR, errR)
		return fmt.Errorf("lspbridge: start language server %s: %w", argv[0], err)
	}
	b.cmd, b.stdin, b.stdout, b.errR = cmd, inW, outR, errR
	return nil
}

func (b *bridge) run(ctx context.Context) error {
	if b.opts.Started != nil {
		b.opts.Started(b.cmd.Process.Pid)
	}
	go func() {
		b.waitErr = reap(b.cmd)
		close(b.exited)
	}()
	go b.copyStderr()
	go func() {
		b.outErr = b.serverToHost()
		close(b.outDone)
	}()
	go func() {
		b.hostErr = b.hostToServer()
		close(b.hostDone)
	}()

	var result func() error
	select {
	case <-b.exited:
		result = b.exitResult
	case <-b.outDone:
		if b.outErr != nil && !errors.Is(b.outErr, io.EOF) {
			err := fmt.Errorf("lspbridge: language server %s: %w", b.name, b.outErr)
			b.log.Warn("killing language server", "err", err)
			killGroup(b.cmd)
			result = func() error { return err }
			break
		}
		// It closed its stdout: nothing more can come from it.
		b.waitOrKill(b.opts.ShutdownGrace)
		result = b.exitResult
	case <-b.hostDone:
		b.stop()
		result = func() error {
			if errors.Is(b.hostErr, io.EOF) {
				return nil
			}
			return fmt.Errorf("lspbridge: transport: %w", b.hostErr)
		}
	case <-ctx.Done():
		b.stop()
		result = ctx.Err
	}
	<-b.exited
	b.finished.Store(true)
	b.closeStdin()
	b.drain()
	return result()
}

// stop asks the server to shut down and exit, and kills its process group
// if it has not exited within the grace period.
func (b *bridge) stop() {
	b.stopping.Store(true)
	b.hostGone.Store(true)
	deadline := time.NewTimer(b.opts.ShutdownGrace)
	defer deadline.Stop()
	b.shutdownSent.Store(true)
	go b.sendToServer([]byte(`{"jsonrpc":"2.0","id":` + shutdownID + `,"method":"shutdown"}`))
	select {
	case <-b.shutdownAck:
	case <-b.exited:
		return
	case <-deadline.C:
		b.log.Warn("language server did not answer shutdown; killing it", "grace", b.opts.ShutdownGrace)
		killGroup(b.cmd)
		return
	}
	go func() {
		b.sendToServer([]byte(`{"jsonrpc":"2.0","method":"exit"}`))
		b.closeStdin()
	}()
	select {
	case <-b.exited:
	case <-deadline.C:
		b.log.Warn("language server did not exit; killing it", "grace", b.opts.ShutdownGrace)
		killGroup(b.cmd)
	}
}

// waitOrKill gives the server d to exit, then kills its process group.
func (b *bridge) waitOrKill(d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-b.exited:
	case <-timer.C:
		killGroup(b.cmd)
	}
}

// drain waits briefly for the stdout and stderr readers to see end of file,
// then closes the pipes under them. The group is dead by now, so only a
// process that escaped it could still hold the write ends.
func (b *bridge) drain() {
	timer := time.NewTimer(drainWait)
	defer timer.Stop()
wait:
	for _, done := range []chan struct{}{b.outDone, b.errDone} {
		select {
		case <-done:
		case <-timer.C:
			break wait
		}
	}
	closeAll(b.stdout, b.errR)
	<-b.outDone
	<-b.errDone
}

// exitResult turns the server's exit into Run's result.
func (b *bridge) exitResult() error {
	ps := b.cmd.ProcessState
	if ps == nil {
		return fmt.Errorf("lspbridge: wait for language server %s: %w", b.name, b.waitErr)
	}
	if b.stopping.Load() || (b.hostExit.Load() && ps.Success()) {
		return nil
	}
	return &ServerExitError{
		Server:   b.name,
		Status:   ps.String(),
		ExitCode: ps.ExitCode(),
		Stderr:   b.stderr.tail(b.opts.StderrLines),
	}
}

// hostToServer forwards the host's messages to the server's stdin until the
// Transport's Read fails, and returns that error.
func (b *bridge) hostToServer() error {
	for {
		msg, err := b.t.Read()
		var tooLarge *sdk.TooLargeError
		if errors.As(err, &tooLarge) {
			// The Transport skipped a message over its own cap; it has no
			// id to answer for, and the session goes on.
			b.log.Warn("the transport dropped an oversize message from the host", "err", err)
			continue
		}
		if err != nil {
			return err
		}
		if b.finished.Load() {
			return nil
		}
		if len(msg) > b.opts.MaxMessageBytes {
			b.oversizeFromHost(msg)
			continue
		}
		if len(msg) < 128 && bytes.Contains(msg, []byte(`"exit"`)) {
			if env := scanEnvelope(msg); !env.hasResult && string(env.method) == "exit" {
				b.hostExit.Store(true)
			}
		}
		if !b.initialized && bytes.Contains(msg, []byte(`"initialize"`)) {
			msg = b.rewriteInitialize(msg)
		}
		if err := b.sendToServer(msg); err != nil {
			// The server's stdin is closed: it is exiting, and Run reports why.
			b.log.Debug("message to language server dropped", "err", err)
		}
	}
}

// rewriteInitialize makes the bridge the process the server watches: the
// host's processId names a process of another PID namespace, which the
// server cannot see and would take for dead (pyright and
// typescript-language-server poll it and exit 1). The bridge is the
// server's parent and lives exactly as long as the host wants the server.
// Only the one initialize request is decoded and re-encoded; every other
// message passes through untouched.
func (b *bridge) rewriteInitialize(msg []byte) []byte {
	env := scanEnvelope(msg)
	if env.hasResult || string(env.method) != "initialize" {
		return msg
	}
	b.initialized = true
	var m map[string]json.RawMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return msg
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(m["params"], &params); err != nil || params == nil {
		return msg
	}
	params["processId"] = json.RawMessage(strconv.Itoa(os.Getpid()))
	p, err := json.Marshal(params)
	if err != nil {
		return msg
	}
	m["params"] = p
	out, err := json.Marshal(m)
	if err != nil {
		return msg
	}
	return out
}

// serverToHost reads framed messages from the server's stdout and writes
// each body to the Transport as it is. It returns io.EOF when the server
// closes stdout between messages, or the framing error that stopped it.
func (b *bridge) serverToHost() error {
	r := bufio.NewReaderSize(b.stdout, 64<<10)
	for {
		n, err := readHeader(r)
		if err != nil {
			return err
		}
		if n > int64(b.opts.MaxMessageBytes) {
			if err := b.oversizeFromServer(r, n); err != nil {
				return err
			}
			continue
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("%w: output ended inside a %d-byte message", errFraming, n)
		}
		if b.hostGone.Load() {
			b.hostAbsent(body)
			continue
		}
		b.toHost(body)
	}
}

// hostAbsent handles a message from the server once the host has gone: the
// answer to the bridge's own shutdown is noted, and a request is answered
// with an error, since a server that waits on its request before it shuts
// down would otherwise wait until it is killed.
func (b *bridge) hostAbsent(body []byte) {
	if b.shutdownSent.Load() && bytes.Contains(body, []byte(shutdownID)) {
		b.ackOnce.Do(func() { close(b.shutdownAck) })
		return
	}
	if env := scanEnvelope(body); env.isRequest() {
		// Not on this goroutine: the server may not read its stdin until
		// its stdout is drained.
		go b.sendToServer(errorResponse(env.id, "lspbridge: the host has gone"))
	}
}

// oversizeFromServer discards an n-byte message while scanning it for its
// id, and answers for it: a response becomes an error response to the host,
// a request from the server gets an error response back.
func (b *bridge) oversizeFromServer(r *bufio.Reader, n int64) error {
	var scan envelopeScanner
	chunk := make([]byte, 32<<10)
	for left := n; left > 0; {
		want := min(left, int64(len(chunk)))
		got, err := io.ReadFull(r, chunk[:want])
		scan.write(chunk[:got])
		left -= int64(got)
		if err != nil {
			return fmt.Errorf("%w: output ended inside a %d-byte message", errFraming, n)
		}
	}
	env := scan.result()
	b.log.Warn("dropped an oversize message from the language server",
		"bytes", n, "limit", b.opts.MaxMessageBytes, "method", string(env.method), "id", string(env.id))
	why := fmt.Sprintf("lspbridge: the language server's %d-byte message exceeds the %d-byte limit and was dropped", n, b.opts.MaxMessageBytes)
	switch {
	case env.isResponse():
		b.toHost(errorResponse(env.id, why))
	case env.isRequest():
		_ = b.sendToServer(errorResponse(env.id, why))
	}
	return nil
}

// oversizeFromHost drops a message from the host that is over the cap and
// answers for it like oversizeFromServer, the other way round.
func (b *bridge) oversizeFromHost(msg []byte) {
	env := scanEnvelope(msg)
	b.log.Warn("dropped an oversize message from the host",
		"bytes", len(msg), "limit", b.opts.MaxMessageBytes, "method", string(env.method), "id", string(env.id))
	why := fmt.Sprintf("lspbridge: the host's %d-byte message exceeds the %d-byte limit and was dropped", len(msg), b.opts.MaxMessageBytes)
	switch {
	case env.isRequest():
		b.toHost(errorResponse(env.id, why))
	case env.isResponse():
		_ = b.sendToServer(errorResponse(env.id, why))
	}
}

// errorResponse builds a RequestFailed response for id.
func errorResponse(id []byte, message string) []byte {
	quoted, _ := json.Marshal(message)
	out := make([]byte, 0, len(id)+len(quoted)+64)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	out = append(out, `,"error":{"code":`...)
	out = fmt.Appendf(out, "%d", codeRequestFailed)
	out = append(out, `,"message":`...)
	out = append(out, quoted...)
	return append(out, "}}"...)
}

// toHost writes one message to the Transport. After the first failure, or
// once the bridge is stopping, messages are dropped: the host is gone.
func (b *bridge) toHost(msg []byte) {
	b.hostMu.Lock()
	defer b.hostMu.Unlock()
	if b.hostGone.Load() {
		return
	}
	err := b.t.Write(msg)
	var tooLarge *sdk.TooLargeError
	switch {
	case err == nil:
	case errors.As(err, &tooLarge):
		// The Transport's cap is below ours: answer for the message as for
		// one over ours (the error response is small).
		env := scanEnvelope(msg)
		b.log.Warn("the transport refused an oversize message from the language server",
			"bytes", len(msg), "method", string(env.method), "id", string(env.id), "err", err)
		why := fmt.Sprintf("lspbridge: the language server's %d-byte message was dropped: %v", len(msg), err)
		switch {
		case env.isResponse():
			if err := b.t.Write(errorResponse(env.id, why)); err != nil {
				b.hostGone.Store(true)
			}
		case env.isRequest():
			go b.sendToServer(errorResponse(env.id, why))
		}
	default:
		b.hostGone.Store(true)
		b.log.Debug("transport write failed; dropping the server's messages from now on", "err", err)
	}
}

// sendToServer writes one message to the server's stdin with its
// Content-Length header, in one write when it is small.
func (b *bridge) sendToServer(body []byte) error {
	b.stdinMu.Lock()
	defer b.stdinMu.Unlock()
	if len(body) <= oneWrite {
		b.wbuf = append(appendHeader(b.wbuf[:0], len(body)), body...)
		_, err := b.stdin.Write(b.wbuf)
		return err
	}
	if _, err := b.stdin.Write(appendHeader(nil, len(body))); err != nil {
		return err
	}
	_, err := b.stdin.Write(body)
	return err
}

// closeStdin closes the server's stdin; a send blocked on it, or any later
// one, fails. It does not take stdinMu, so it cannot wait behind a server
// that stopped reading.
func (b *bridge) closeStdin() {
	b.stdinOnce.Do(func() { b.stdin.Close() })
}

// copyStderr keeps the server's stderr in the ring and logs it line by line.
func (b *bridge) copyStderr() {
	defer close(b.errDone)
	r := bufio.NewReaderSize(b.errR, 4096)
	debug := b.log.Enabled(context.Background(), slog.LevelDebug)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			b.stderr.Write(line)
			if debug {
				b.log.Debug("language server stderr", "line", string(bytes.TrimRight(line, "\r\n")))
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
