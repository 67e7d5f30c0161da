package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/internal/migration"
)

// migrationLock is the key of the advisory lock Migrate holds: the bytes of
// "gathstor". It is the same for every schema of a database, so migrations
// of different schemas in one database take turns.
const migrationLock int64 = 0x6761746873746f72

// createMigrationsTable records applied migrations. It is created by the
// migration runner, not by a migration, because the runner reads it first.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies the pending migrations, each in its own transaction, while
// holding a session-level advisory lock on one connection, so that
// instances migrating at once wait for each other and apply every migration
// exactly once between them. Waiting for the lock ends when ctx is done.
func (s *Store) Migrate(ctx context.Context) (store.MigrationStatus, error) {
	latest := migration.Latest(s.migrations)
	status, err := s.MigrationStatus(ctx)
	if err != nil {
		return store.MigrationStatus{}, fmt.Errorf("migrate postgres store: %w", err)
	}
	if status.Current > latest {
		return status, fmt.Errorf("migrate postgres store: database is at version %d, newer than this build's %d", status.Current, latest)
	}
	if status.Current == latest {
		return status, nil
	}

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.MigrationStatus{}, translate(ctx, "migrate postgres store: acquire connection", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return store.MigrationStatus{}, translate(ctx, "migrate postgres store: take migration lock", err)
	}
	defer s.unlock(ctx, conn)

	if _, err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return store.MigrationStatus{}, translate(ctx, "migrate postgres store: create schema_migrations", err)
	}
	// Reread under the lock: another instance may have migrated meanwhile.
	current, err := currentVersion(ctx, conn)
	if err != nil {
		return store.MigrationStatus{}, fmt.Errorf("migrate postgres store: %w", err)
	}
	if current > latest {
		return store.MigrationStatus{}, fmt.Errorf("migrate postgres store: database is at version %d, newer than this build's %d", current, latest)
	}
	for _, m := range s.migrations[current:] {
		if err := s.apply(ctx, conn, m); err != nil {
			return store.MigrationStatus{}, fmt.Errorf("migrate postgres store: %w", err)
		}
	}
	return store.MigrationStatus{Current: latest, Latest: latest}, nil
}

// apply applies m and records it in one transaction.
func (s *Store) apply(ctx context.Context, conn *pgxpool.Conn, m migration.Migration) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return translate(ctx, "begin migration "+m.Name, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return translate(ctx, "apply migration "+m.Name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.Version); err != nil {
		return translate(ctx, "record migration "+m.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return translate(ctx, "commit migration "+m.Name, err)
	}
	s.logger.InfoContext(ctx, "migration applied", slog.String("kind", string(store.KindPostgres)),
		slog.Int("version", m.Version), slog.String("name", m.Name))
	return nil
}

// unlock releases the migration lock. If it cannot, it closes the
// connection, which ends the session and the lock with it, rather than
// return a connection that holds the lock to the pool.
func (s *Store) unlock(ctx context.Context, conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
		s.logger.WarnContext(ctx, "release migration lock; closing its connection", slog.Any("error", err))
		conn.Conn().Close(ctx)
	}
}

// MigrationStatus reports the highest applied migration and the highest
// this build knows.
func (s *Store) MigrationStatus(ctx context.Context) (store.MigrationStatus, error) {
	status := store.MigrationStatus{Latest: migration.Latest(s.migrations)}
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return store.MigrationStatus{}, translate(ctx, "read migration status", err)
	}
	if !exists {
		return status, nil
	}
	var err error
	if status.Current, err = currentVersion(ctx, s.pool); err != nil {
		return store.MigrationStatus{}, err
	}
	return status, nil
}

// currentVersion returns the highest applied migration.
func currentVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, translate(ctx, "read schema version", err)
	}
	return v, nil
}
