package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/gathering-dev/gathering/auth"
	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/server"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace"
)

const serveSynopsis = `Usage: gathering serve [--stdio] [settings]

Serves editors over LSP. Without --stdio it listens on TCP (127.0.0.1:7998 by
default) for any number of clients, each of which must authenticate with a
token (initializationOptions.token, from "gathering token create") or with
gathering/auth/login; with --stdio it serves the one editor that spawned it on
stdin/stdout, as the local owner. The store is an embedded SQLite file unless
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
		if ln, err = listen(&c); err != nil {
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

	accounts, err := auth.New(st, &auth.Config{Logger: log, TokenTTL: c.TokenTTL})
	if err != nil {
		return 0, err
	}
	hostCfg, err := pluginHostConfig(&c, log)
	if err != nil {
		return 0, err
	}
	plugins, err := host.New(hostCfg)
	if err != nil {
		return 0, fmt.Errorf("plugins: %w", err)
	}
	defer plugins.Close()
	for _, p := range plugins.Plugins() {
		switch {
		case p.State == host.StateRefused:
			log.Warn("plugin refused", slog.String("plugin", p.Name), slog.String("source", p.Source), slog.String("reason", p.Reason))
		default:
			log.Info("plugin loaded", slog.String("plugin", p.Name), slog.String("version", p.Version), slog.String("source", p.Source), slog.Any("languages", p.Languages))
		}
		for _, w := range p.Warnings {
			log.Warn("plugin warning", slog.String("plugin", p.Name), slog.String("warning", w))
		}
	}
	srv := server.New(workspace.NewProjects(st, nil), &server.Config{
		Plugins:          plugins,
		Auth:             accounts,
		RequestRate:      noLimitIfZero(c.RateLimit),
		RequestBurst:     max(1, int(2*c.RateLimit)),
		UserRequestRate:  noLimitIfZero(c.UserRateLimit),
		UserRequestBurst: max(1, int(2*c.UserRateLimit)),
		Logger:           log,
		Version:          versionString(),
		Store:            protocol.StoreStatus{Kind: string(st.Kind()), MigrationVersion: mig.Current},
		MaxFrameBytes:    c.MaxFrameBytes,
		MaxDocumentBytes: c.MaxDocumentBytes,
		MaxInFlight:      c.MaxInFlight,
		MaxSessions:      c.MaxSessions,
		DebugMethods:     c.DebugMethods,
		Workspace:        workspaceConfig(&c, log),
	})
	owner := server.LocalOwner(localUser())

	if c.Stdio {
		return serveStdio(ctx, srv, owner, &c, stdin, stdout, log), nil
	}

	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("store", string(st.Kind())), slog.String("database", describeStore(&c)))
	fmt.Fprintf(stderr, "gathering %s listening on %s (store: %s %s)\n"+
		"Connect an LSP client to this TCP address (Content-Length framing) with a token in initializationOptions.token;\n"+
		"make one with `gathering user add --email you@example.com --role admin` then `gathering token create --email you@example.com`\n"+
		"(same --database). Or let your editor spawn `gathering serve --stdio`, which needs no token.\n",
		versionString(), ln.Addr(), st.Kind(), describeStore(&c))

	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	served := make(chan error, 1)
	// TCP clients start unauthenticated: each proves itself with a token.
	go func() { served <- srv.Serve(serveCtx, ln, server.Principal{}) }()
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
		done <- srv.ServeConn(context.WithoutCancel(ctx), stdio{stdin, stdout}, server.TransportStdio, owner)
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

// listen opens the TCP listener, with TLS when --tls-cert and --tls-key are
// set. A non-loopback address without TLS is refused unless --insecure is
// given: clients send tokens and passwords over the connection.
func listen(c *config) (net.Listener, error) {
	addr := c.Listen
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	var tlsConfig *tls.Config
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if tlsConfig == nil && !isLoopback(host) && !c.Insecure {
		return nil, fmt.Errorf("listen address %q is not loopback and has no TLS: clients would send tokens and passwords in clear; "+
			"give --tls-cert and --tls-key, or --insecure if the network is trusted", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	return ln, nil
}

// noLimitIfZero maps a rate setting to the server's: 0 or less means no
// limit, which the server spells as a negative rate.
func noLimitIfZero(rate float64) float64 {
	if rate <= 0 {
		return -1
	}
	return rate
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

// workspaceConfig turns the workspace settings into the service's config.
func workspaceConfig(c *config, log *slog.Logger) *workspace.Config {
	trusted := map[string]bool{}
	for _, dir := range c.TrustedRoots {
		if abs, err := filepath.Abs(dir); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				abs = real // project roots are stored resolved
			}
			trusted[abs] = true
		}
	}
	return &workspace.Config{
		Exclude:       c.WorkspaceExclude,
		MaxWatches:    c.MaxWatches,
		CacheBytes:    c.TreeCacheBytes,
		MaxReadBytes:  c.MaxFileBytes,
		MaxWriteBytes: c.MaxFileBytes,
		Trusted:       func(p store.Project) bool { return trusted[p.Root] },
		Logger:        log,
	}
}
