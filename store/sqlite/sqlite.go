// Package sqlite is the embedded [store.Store]: a single SQLite file, opened
// through the pure-Go modernc.org/sqlite, that needs no server and that
// several processes may share.
//
// The file runs in WAL mode, so readers never block the writer. Writes in
// one process queue on a single connection; writes from other processes
// queue on SQLite's lock for up to [Config.BusyTimeout], and every write
// transaction takes that lock when it begins (BEGIN IMMEDIATE), so a writer
// waits rather than failing half-way.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before it fails. Default: 10s.
	BusyTimeout time.Duration
	// MaxReaders bounds the connections used for reads. Default: GOMAXPROCS,
	// at least 4.
	MaxReaders int
}

// Store is the SQLite [store.Store]. Its methods are safe for concurrent use.
type Store struct {
	path       string
	writer     *sql.DB // one connection, so this process's writes queue here
	reader     *sql.DB // query-only connections
	migrations []migration.Migration
	logger     *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens the database file at path, creating it (mode 0600) and its
// parent directory (mode 0700) if they do not exist. It does not migrate:
// call [Store.Migrate]. If cfg is nil, defaults are used.
func Open(ctx context.Context, path string, cfg *Config) (*Store, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if path == "" {
		return nil, fmt.Errorf("open sqlite store: empty path: %w", store.ErrInvalid)
	}
	if cfg.BusyTimeout < 0 || cfg.MaxReaders < 0 {
		return nil, fmt.Errorf("open sqlite store: negative BusyTimeout or MaxReaders: %w", store.ErrInvalid)
	}
	busy := cfg.BusyTimeout
	if busy == 0 {
		busy = 10 * time.Second
	}
	readers := cfg.MaxReaders
	if readers == 0 {
		readers = max(4, runtime.GOMAXPROCS(0))
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	// SQLite would create the file with the process umask; create it first so
	// that only its owner can read it. The -wal and -shm files SQLite makes
	// later copy this mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}

	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	ms, err := migration.Load(sub)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}

	s := &Store{path: abs, migrations: ms, logger: logger}
	if s.writer, err = sql.Open("sqlite", dsn(abs, busy, false)); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	if s.reader, err = sql.Open("sqlite", dsn(abs, busy, true)); err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	s.reader.SetMaxOpenConns(readers)
	s.reader.SetMaxIdleConns(readers)

	// Connect the writer first: it switches the file to WAL mode, which the
	// readers then find.
	for _, db := range []*sql.DB{s.writer, s.reader} {
		if err := db.PingContext(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
		}
	}
	logger.InfoContext(ctx, "store opened", slog.String("kind", string(store.KindSQLite)), slog.String("path", abs))
	return s, nil
}

// dsn returns the modernc.org/sqlite data source name for the file at path.
// The path is escaped into a file: URI so that "?", "#" and "%" in it are
// not read as URI syntax.
//
// Both pools turn on foreign keys and set the busy timeout. The writer also
// selects WAL mode, which persists in the file, synchronous=NORMAL, which in
// WAL mode may lose the last commits on power loss but never corrupts the
// file, and BEGIN IMMEDIATE for transactions. The reader is query-only.
func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Kind returns [store.KindSQLite].
func (s *Store) Kind() store.Kind { return store.KindSQLite }

// Ping checks that the file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return translate(ctx, "ping sqlite store", err)
	}
	return nil
}

// Close closes the store's connections. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.reader.Close(), s.writer.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close sqlite store: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// translate turns an error from database/sql or SQLite into the store's
// terms, prefixed by op: constraint failures become [store.ErrConflict] or
// [store.ErrInvalid], a missing row or a reference to one [store.ErrNotFound],
// and a failure after
// ctx is done carries ctx's error.
func translate(ctx context.Context, op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w: %s", op, store.ErrConflict, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_DATATYPE:
			return fmt.Errorf("%s: %w: %s", op, store.ErrInvalid, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// A reference to a record that does not exist.
			return fmt.Errorf("%s: %w: %s", op, store.ErrNotFound, se.Error())
		}
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
