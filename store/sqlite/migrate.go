package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/internal/migration"
)

// createMigrationsTable records applied migrations. It is created by the
// migration runner, not by a migration, because the runner reads it first.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT`

// Migrate applies the pending migrations, each in its own transaction. Each
// transaction begins with SQLite's write lock (BEGIN IMMEDIATE) and rereads
// the applied version under it, so processes migrating the same file at once
// apply every migration exactly once between them.
func (s *Store) Migrate(ctx context.Context) (store.MigrationStatus, error) {
	latest := migration.Latest(s.migrations)
	status, err := s.MigrationStatus(ctx)
	if err != nil {
		return store.MigrationStatus{}, fmt.Errorf("migrate sqlite store: %w", err)
	}
	if status.Current > latest {
		return status, fmt.Errorf("migrate sqlite store: database is at version %d, newer than this build's %d", status.Current, latest)
	}
	for _, m := range s.migrations[status.Current:] {
		if err := s.apply(ctx, m, latest); err != nil {
			return store.MigrationStatus{}, fmt.Errorf("migrate sqlite store: %w", err)
		}
	}
	return s.MigrationStatus(ctx)
}

// apply applies m in one write transaction unless the database already has
// it.
func (s *Store) apply(ctx context.Context, m migration.Migration, latest int) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return translate(ctx, "begin migration "+m.Name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return translate(ctx, "create schema_migrations", err)
	}
	current, err := currentVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current > latest {
		return fmt.Errorf("database is at version %d, newer than this build's %d", current, latest)
	}
	if current >= m.Version {
		return nil // another process applied it while we waited for the lock
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return translate(ctx, "apply migration "+m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version) VALUES (?)", m.Version); err != nil {
		return translate(ctx, "record migration "+m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return translate(ctx, "commit migration "+m.Name, err)
	}
	s.logger.InfoContext(ctx, "migration applied", slog.String("kind", string(store.KindSQLite)),
		slog.Int("version", m.Version), slog.String("name", m.Name))
	return nil
}

// MigrationStatus reports the highest applied migration and the highest
// this build knows.
func (s *Store) MigrationStatus(ctx context.Context) (store.MigrationStatus, error) {
	status := store.MigrationStatus{Latest: migration.Latest(s.migrations)}
	var tables int
	err := s.reader.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").Scan(&tables)
	if err != nil {
		return store.MigrationStatus{}, translate(ctx, "read migration status", err)
	}
	if tables == 0 {
		return status, nil
	}
	if status.Current, err = currentVersion(ctx, s.reader); err != nil {
		return store.MigrationStatus{}, err
	}
	return status, nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// currentVersion returns the highest applied migration.
func currentVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, translate(ctx, "read schema version", err)
	}
	return v, nil
}
