// Package postgres is the [store.Store] that several gathering instances
// share: a Postgres database reached through a pgx connection pool.
//
// Tables are created in the first schema of the connection's search_path, so
// a search_path given in the connection string selects where the store
// lives. Migrations run under a session-level advisory lock, so instances
// that start at once apply each migration exactly once between them.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/internal/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Config tunes a [Store]. The zero value, or a nil *Config, selects the
// defaults documented on each field.
type Config struct {
	// Logger receives the store's log lines. Default: discarded.
	Logger *slog.Logger
	// MaxConns bounds the pool's connections. Default: pool_max_conns from
	// the connection string, else pgxpool's default (the number of CPUs, at
	// least 4).
	MaxConns int32
}

// Store is the Postgres [store.Store]. Its methods are safe for concurrent
// use.
type Store struct {
	pool       *pgxpool.Pool
	migrations []migration.Migration
	logger     *slog.Logger

	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database dsn names, in URL or key=value form, and
// checks that it answers. It does not migrate: call [Store.Migrate]. If cfg
// is nil, defaults are used. Errors and log lines never hold the password.
func Open(ctx context.Context, dsn string, cfg *Config) (*Store, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("open postgres store: negative MaxConns: %w", store.ErrInvalid)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the connection string, and the password
		// with it; name the string only in redacted form.
		return nil, fmt.Errorf("open postgres store: cannot parse connection string %s: %w", store.RedactDSN(dsn), store.ErrInvalid)
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	if _, ok := pcfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		pcfg.ConnConfig.RuntimeParams["application_name"] = "gathering"
	}

	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	ms, err := migration.Load(sub)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}

	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s := &Store{pool: pool, migrations: ms, logger: logger}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	logger.InfoContext(ctx, "store opened", slog.String("kind", string(store.KindPostgres)), slog.String("dsn", store.RedactDSN(dsn)))
	return s, nil
}

// Kind returns [store.KindPostgres].
func (s *Store) Kind() store.Kind { return store.KindPostgres }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return translate(ctx, "ping postgres store", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned. It
// is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// SQLSTATE codes the store translates.
const (
	uniqueViolation      = "23505"
	foreignKeyViolation  = "23503"
	checkViolation       = "23514"
	notNullViolation     = "23502"
	characterNotInRepert = "22021" // invalid UTF-8 or a NUL byte in text
	untranslatableChar   = "22P05"
)

// translate turns an error from pgx or Postgres into the store's terms,
// prefixed by op: a missing row becomes [store.ErrNotFound], a unique
// violation [store.ErrConflict], a reference to a missing record
// [store.ErrNotFound], other constraint and encoding failures
// [store.ErrInvalid], and a failure after ctx is done carries ctx's error.
func translate(ctx context.Context, op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case uniqueViolation:
			return fmt.Errorf("%s: %w: %s", op, store.ErrConflict, pe.Message)
		case checkViolation, notNullViolation, characterNotInRepert, untranslatableChar:
			return fmt.Errorf("%s: %w: %s", op, store.ErrInvalid, pe.Message)
		case foreignKeyViolation: // a reference to a record that does not exist
			return fmt.Errorf("%s: %w: %s", op, store.ErrNotFound, pe.Message)
		}
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
