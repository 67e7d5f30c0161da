package postgres

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gathering-dev/gathering/internal/testenv"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/internal/migration"
)

// open opens a store on dsn and closes it when the test ends.
func open(t *testing.T, dsn string, cfg *Config) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, cfg)
	if err != nil {
		t.Fatalf("Open() error: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConcurrentMigrate(t *testing.T) {
	dsn := testenv.PostgresURL(t)
	const n = 6
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = open(t, dsn, nil)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	statuses := make([]store.MigrationStatus, n)
	for i, s := range stores {
		wg.Go(func() { statuses[i], errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	latest := migration.Latest(stores[0].migrations)
	for i := range stores {
		if errs[i] != nil || statuses[i].Current != latest || statuses[i].Latest != latest {
			t.Errorf("store %d: Migrate() = %+v, %v, want Current = Latest = %d", i, statuses[i], errs[i], latest)
		}
	}
	var rows int
	if err := stores[0].pool.QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&rows); err != nil {
		t.Fatalf("count schema_migrations: %v", err)
	}
	if rows != latest {
		t.Errorf("schema_migrations has %d rows, want %d: each version once", rows, latest)
	}
	// Every instance writes, and sees the others' writes.
	for i, s := range stores {
		wg.Go(func() {
			for j := range 20 {
				if _, err := s.CreateProject(t.Context(), store.Project{Name: "p", Root: "/" + string(rune('a'+i)) + "/" + string(rune('a'+j))}); err != nil {
					t.Errorf("store %d: CreateProject() error: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	var projects int
	if err := stores[n-1].pool.QueryRow(t.Context(), "SELECT count(*) FROM projects").Scan(&projects); err != nil {
		t.Fatalf("count projects: %v", err)
	}
	if projects != n*20 {
		t.Errorf("found %d projects, want %d", projects, n*20)
	}
}

func TestMigrateWaitsForLock(t *testing.T) {
	dsn := testenv.PostgresURL(t)
	s := open(t, dsn, nil)

	// Another instance holds the migration lock.
	holder, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer holder.Close(context.Background())
	if _, err := holder.Exec(t.Context(), "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		t.Fatalf("take the lock: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.Migrate(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Migrate() while the lock is held = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Migrate() took %v to give up, want about 200ms", d)
	}

	done := make(chan error, 1)
	go func() {
		_, err := s.Migrate(t.Context())
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Migrate() while the lock is held returned %v, want it to wait", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := holder.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
		t.Fatalf("release the lock: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Migrate() after the lock was released error: %v", err)
	}

	// Migrate released the lock: the other instance can take it at once.
	var got bool
	if err := holder.QueryRow(t.Context(), "SELECT pg_try_advisory_lock($1)", migrationLock).Scan(&got); err != nil || !got {
		t.Errorf("pg_try_advisory_lock() after Migrate = %v, %v, want true", got, err)
	}
	holder.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", migrationLock)
}

func TestSearchPathIsolates(t *testing.T) {
	a := open(t, testenv.PostgresURL(t), nil)
	b := open(t, testenv.PostgresURL(t), nil)
	for _, s := range []*Store{a, b} {
		if _, err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate() error: %v", err)
		}
	}
	p, err := a.CreateProject(t.Context(), store.Project{Name: "a", Root: "/a"})
	if err != nil {
		t.Fatalf("CreateProject() error: %v", err)
	}
	if _, err := b.GetProject(t.Context(), p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProject() in another schema error = %v, want ErrNotFound", err)
	}
	if _, err := b.CreateProject(t.Context(), store.Project{Name: "a", Root: "/a"}); err != nil {
		t.Errorf("CreateProject() of the same root in another schema error: %v", err)
	}
}

func TestUpdatedAtMovesPastClock(t *testing.T) {
	s := open(t, testenv.PostgresURL(t), nil)
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	p, err := s.CreateProject(t.Context(), store.Project{Name: "a", Root: "/a"})
	if err != nil {
		t.Fatalf("CreateProject() error: %v", err)
	}
	// The stored time is ahead of the database clock, as after a clock step.
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if _, err := s.pool.Exec(t.Context(), "UPDATE projects SET updated_at = $1 WHERE id = $2", future, p.ID); err != nil {
		t.Fatalf("set updated_at: %v", err)
	}
	got, err := s.UpdateProject(t.Context(), p.ID, store.ProjectUpdate{Name: new("b")})
	if err != nil {
		t.Fatalf("UpdateProject() error: %v", err)
	}
	if want := future.Add(time.Microsecond); !got.UpdatedAt.Equal(want) {
		t.Errorf("UpdateProject().UpdatedAt = %v, want %v", got.UpdatedAt, want)
	}
}

func TestMigrateRefusesNewerDatabase(t *testing.T) {
	s := open(t, testenv.PostgresURL(t), nil)
	status, err := s.Migrate(t.Context())
	if err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	if _, err := s.pool.Exec(t.Context(), "INSERT INTO schema_migrations (version) VALUES ($1)", status.Latest+1); err != nil {
		t.Fatalf("record a future migration: %v", err)
	}
	if got, err := s.MigrationStatus(t.Context()); err != nil || got.Current != status.Latest+1 {
		t.Errorf("MigrationStatus() = %+v, %v, want Current %d", got, err, status.Latest+1)
	}
	if _, err := s.Migrate(t.Context()); err == nil {
		t.Errorf("Migrate() on a newer database = nil error, want an error")
	}
}

func TestPasswordNeverShown(t *testing.T) {
	const secret = "s3cret-Pa55"
	// Trust authentication ignores the password, so the store opens.
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	u.User = url.UserPassword(u.User.Username(), secret)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := open(t, u.String(), &Config{Logger: logger})
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	if !strings.Contains(logs.String(), "store opened") {
		t.Errorf("log = %q, want a line saying the store opened", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("log holds the password: %q", logs.String())
	}

	for _, dsn := range []string{
		"postgres://u:" + secret + "@127.0.0.1:1/db?connect_timeout=5&sslmode=disable",
		"host=127.0.0.1 port=1 user=u password=" + secret + " connect_timeout=5 sslmode=disable",
		"postgres://u:" + secret + "@127.0.0.1:notaport/db",
		"postgres://u:" + secret + "@127.0.0.1/db?sslmode=bogus",
		"host=127.0.0.1 password='" + secret,
	} {
		s, err := Open(t.Context(), dsn, &Config{Logger: logger})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) = nil error, want one", store.RedactDSN(dsn))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open() error holds the password: %v", err)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("log holds the password: %q", logs.String())
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, dsn := range []string{"postgres://h:notaport/db", "host=h port=notaport", "host=h connect_timeout=soon"} {
		if s, err := Open(t.Context(), dsn, nil); !errors.Is(err, store.ErrInvalid) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Open(%q) error = %v, want ErrInvalid", dsn, err)
		}
	}
	if s, err := Open(t.Context(), "postgres://h/db", &Config{MaxConns: -1}); !errors.Is(err, store.ErrInvalid) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open(MaxConns -1) error = %v, want ErrInvalid", err)
	}
}

func TestConfig(t *testing.T) {
	s := open(t, testenv.PostgresURL(t), &Config{MaxConns: 3})
	if got := s.pool.Config().MaxConns; got != 3 {
		t.Errorf("pool MaxConns = %d, want 3", got)
	}
	var app string
	if err := s.pool.QueryRow(t.Context(), "SHOW application_name").Scan(&app); err != nil || app != "gathering" {
		t.Errorf("application_name = %q, %v, want gathering", app, err)
	}
}
