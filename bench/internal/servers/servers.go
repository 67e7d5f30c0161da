// Package servers starts the two servers every benchmark compares, in
// process and over OS pipes: gathering's own session (server.ServeConn on a
// real SQLite store) and the peer of package peer.
package servers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

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
