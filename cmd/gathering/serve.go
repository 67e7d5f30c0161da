package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"time"

	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/server"
	"github.com/gathering-dev/gathering/workspace"
)

const serveSynopsis = `Usage: gathering serve [--stdio] [settings]

Serves editors over LSP. Without --stdio it listens on TCP (127.0.0.1:7998 by
default) for any number of clients; with --stdio it serves the one editor that
spawned it on stdin/stdout. The store is an embedded SQLite file unless
--database names a postgres:// URL; migrations are applied at start.`

// serve runs the server until the client exits (stdio), or until SIGTERM or
// SIGINT, when running requests get --drain-timeout to finish.
func serve(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	var c config
	fs := newFlagSet("serve", &c, scopeServe, stderr, serveSynopsis)
	if err := parseSettings(fs, &c, args, os.Getenv); err != nil {
		return 0, err
	}
	log, closeLog, err := newLogger(&c, stderr)
	if err != nil {
		return 0, err
	}
	defer closeLog()
	slog.SetDefault(log)

	var ln net.Listener
	if !c.Stdio {
		// Listen before the store opens so a taken port fails fast.
		if ln, err = listen(c.Listen); err != nil {
			return 0, err
		}
		defer ln.Close()
	}

	st, err := openStore(ctx, &c, log)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	mig, err := st.Migrate(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate store: %w", err)
	}

	srv := server.New(workspace.NewProjects(st, nil), &server.Config{
		Logger:           log,
		Version:          versionString(),
		Store:            protocol.StoreStatus{Kind: string(st.Kind()), MigrationVersion: mig.Current},
		MaxFrameBytes:    c.MaxFrameBytes,
		MaxDocumentBytes: c.MaxDocumentBytes,
		MaxInFlight:      c.MaxInFlight,
		MaxSessions:      c.MaxSessions,
		DebugMethods:     c.DebugMethods,
	})
	owner := server.LocalOwner(localUser())

	if c.Stdio {
		return serveStdio(ctx, srv, owner, &c, stdin, stdout, log), nil
	}

	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("store", string(st.Kind())), slog.String("database", describeStore(&c)))
	fmt.Fprintf(stderr, "gathering %s listening on %s (store: %s %s)\n"+
		"Connect an LSP client to this TCP address (Content-Length framing), or let your editor spawn `gathering serve --stdio`.\n",
		versionString(), ln.Addr(), st.Kind(), describeStore(&c))

	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln, owner) }()
	select {
	case err := <-served:
		return 1, err
	case <-ctx.Done():
	}
	log.Info("signal received; draining", slog.Duration("timeout", c.DrainTimeout))
	ln.Close() // stop taking clients
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), c.DrainTimeout)
	defer cancelDrain()
	drainErr := srv.Shutdown(drainCtx)
	cancel()
	<-served
	if drainErr != nil {
		log.Warn("drain timed out; running requests were cancelled", slog.Any("error", drainErr))
		return 1, nil
	}
	log.Info("stopped")
	return 0, nil
}

// serveStdio serves the editor on stdin/stdout and returns the exit code:
// the session's (0 after shutdown and exit, 1 otherwise), or, on a signal,
// 0 when the drain finished in time and 1 when it did not.
func serveStdio(ctx context.Context, srv *server.Server, owner server.Principal, c *config, stdin io.Reader, stdout io.Writer, log *slog.Logger) int {
	stdin, stdout, restore := pollable(stdin, stdout)
	defer restore()
	done := make(chan int, 1)
	go func() {
		done <- srv.ServeConn(context.WithoutCancel(ctx), stdio{stdin, stdout}, "stdio", owner)
	}()
	select {
	case code := <-done:
		return code
	case <-ctx.Done():
	}
	log.Info("signal received; draining", slog.Duration("timeout", c.DrainTimeout))
	drainCtx, cancel := context.WithTimeout(context.Background(), c.DrainTimeout)
	defer cancel()
	err := srv.Shutdown(drainCtx)
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	if err != nil {
		return 1
	}
	return 0
}

// stdio joins the process's stdin and stdout into one stream.
type stdio struct {
	io.Reader
	io.Writer
}

// Close closes stdin and stdout when they are files, which ends a read
// blocked on stdin.
func (s stdio) Close() error {
	var errs []error
	for _, v := range []any{s.Reader, s.Writer} {
		if c, ok := v.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// listen opens the TCP listener. Until accounts and TLS exist, only loopback
// addresses are allowed: every TCP client acts as the local owner.
func listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if !isLoopback(host) {
		return nil, fmt.Errorf("listen address %q is not loopback; gathering has no authentication for TCP clients yet, so it serves only 127.0.0.1, ::1 or localhost", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func localUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}
