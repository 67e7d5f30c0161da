// Package servers starts the two servers every benchmark compares over OS
// pipes: gathering's own session (server.ServeConn on a real SQLite store)
// and the peer of package peer. Either runs in the benchmark's process, or
// as a child process serving its stdin and stdout, as an editor starts a
// language server.
package servers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gathering-dev/gathering/bench/internal/peer"
	"github.com/gathering-dev/gathering/bench/internal/wire"
	"github.com/gathering-dev/gathering/server"
	"github.com/gathering-dev/gathering/store/sqlite"
	"github.com/gathering-dev/gathering/workspace"
)

// Running is a server serving one client over OS pipes.
type Running struct {
	// Client is the benchmark's end of the connection, already past
	// initialize and initialized.
	Client *wire.Client
	stop   func() error
}

// Stop closes the connection and waits for the server to let go of it.
// Calling it again does nothing.
func (r *Running) Stop() error {
	if r.stop == nil {
		return nil
	}
	err := r.stop()
	r.stop = nil
	return err
}

// Gathering starts a gathering session, with the debug methods on, on a
// fresh SQLite store in dir. The store is created and migrated as the
// gathering command does at startup.
func Gathering(ctx context.Context, dir string) (*Running, error) {
	st, err := sqlite.Open(ctx, filepath.Join(dir, "g.db"), nil)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate store: %w", err)
	}
	srv := server.New(workspace.NewProjects(st, nil), &server.Config{DebugMethods: true})
	clientEnd, serverEnd, err := wire.Pipe()
	if err != nil {
		st.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeConn(ctx, serverEnd, "pipe", server.LocalOwner("bench"))
	}()
	stop := func() error {
		err := clientEnd.Close()
		<-done
		return errors.Join(err, st.Close())
	}
	return start(clientEnd, stop)
}

// Peer starts the peer server. With async false it replies on the
// connection's read goroutine; with async true it replies from a new
// goroutine per request, as gathering does.
func Peer(ctx context.Context, async bool) (*Running, error) {
	clientEnd, serverEnd, err := wire.Pipe()
	if err != nil {
		return nil, err
	}
	conn := peer.Serve(ctx, serverEnd, &peer.Handler{Async: async})
	stop := func() error {
		err := clientEnd.Close()
		<-conn.DisconnectNotify()
		return err
	}
	return start(clientEnd, stop)
}

func start(rwc io.ReadWriteCloser, stop func() error) (*Running, error) {
	r := &Running{Client: wire.NewClient(rwc), stop: stop}
	if err := r.Client.Initialize(); err != nil {
		r.Stop()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	return r, nil
}

// Process starts the binary at path with args as a child process that
// serves LSP on its stdin and stdout, in the environment [Environ] gives
// for dir, with its stderr in dir/stderr. Stop closes its stdin and waits
// for it to exit, killing it after ten seconds.
func Process(ctx context.Context, dir, path string, args ...string) (*Running, error) {
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = Environ(dir)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		stderr.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		stderr.Close()
		close(exited)
	}()
	rwc := Pipes{stdout, stdin}
	stop := func() error {
		err := rwc.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			err = errors.Join(err, fmt.Errorf("%s still ran 10s after its stdin closed", path))
		}
		return err
	}
	r, err := start(rwc, stop)
	if err != nil {
		log, _ := os.ReadFile(stderr.Name())
		return nil, fmt.Errorf("%w\n%s's stderr:\n%s", err, path, log)
	}
	return r, nil
}

// Pipes joins a child process's stdout and stdin into one stream.
type Pipes struct {
	io.ReadCloser  // the child's stdout
	io.WriteCloser // the child's stdin
}

// Close closes both pipes.
func (p Pipes) Close() error {
	return errors.Join(p.WriteCloser.Close(), p.ReadCloser.Close())
}

// Environ returns the environment for a child server run in dir: the
// caller's, without gathering's settings (GATHERING_*), and with the user's
// config and data directories moved into dir, so that no settings file or
// store of the user's is read.
func Environ(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GATHERING_") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") || strings.HasPrefix(kv, "XDG_DATA_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
}
