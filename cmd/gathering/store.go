package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/postgres"
	"github.com/gathering-dev/gathering/store/sqlite"
)

// isPostgres reports whether a database setting names a Postgres server.
func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// openStore opens the configured store without migrating it.
func openStore(ctx context.Context, c *config, log *slog.Logger) (store.Store, error) {
	url := c.databaseURL()
	if isPostgres(url) {
		st, err := postgres.Open(ctx, url, &postgres.Config{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open postgres %s: %w", store.RedactDSN(url), err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, url, &sqlite.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", url, err)
	}
	return st, nil
}

// newLogger builds the process logger. Logs never go to stdout, which
// carries the protocol in stdio mode. The returned closer closes a log file.
func newLogger(c *config, stderr io.Writer) (*slog.Logger, func() error, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, nil, fmt.Errorf("log-level: %w", err)
	}
	w, closer := stderr, func() error { return nil }
	if c.LogFile != "" {
		f, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		w, closer = f, f.Close
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), closer, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), closer, nil
	default:
		closer()
		return nil, nil, fmt.Errorf("log-format %q: want text or json", c.LogFormat)
	}
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlagSet("migrate", &c, scopeAll, stderr, "Usage: gathering migrate [settings]\n\nApplies the store's pending migrations under a lock and prints its schema version.")
	if err := parseSettings(fs, &c, args, os.Getenv); err != nil {
		return err
	}
	log, closeLog, err := newLogger(&c, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	st, err := openStore(ctx, &c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	before, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	after, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s store %s: schema version %d (was %d, latest %d)\n",
		st.Kind(), describeStore(&c), after.Current, before.Current, after.Latest)
	return nil
}

// describeStore names the store for people, without secrets.
func describeStore(c *config) string {
	return store.RedactDSN(c.databaseURL())
}
