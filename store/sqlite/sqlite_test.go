package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/store"
)

// The test binary re-executes itself as a second process that shares a
// database file with the test; these variables tell it what to do.
const (
	childPathEnv  = "GATHERING_SQLITE_TEST_CHILD_PATH"
	childCountEnv = "GATHERING_SQLITE_TEST_CHILD_COUNT"
	childNameEnv  = "GATHERING_SQLITE_TEST_CHILD_NAME"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(childPathEnv); path != "" {
		if err := child(path, os.Getenv(childNameEnv), os.Getenv(childCountEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child migrates the store at path and creates n projects named name.
func child(path, name, count string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, path, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	return migrateAndFill(ctx, s, name, n)
}

// migrateAndFill migrates s and creates n projects with roots /name/i.
func migrateAndFill(ctx context.Context, s *Store, name string, n int) error {
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	for i := range n {
		if _, err := s.CreateProject(ctx, store.Project{Name: name, Root: fmt.Sprintf("/%s/%d", name, i)}); err != nil {
			return err
		}
	}
	return nil
}

// setup opens a store on a new file in a temporary directory.
func setup(t *testing.T) *Store {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "store.db"))
}

// open opens the store at path and closes it when the test ends.
func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("Open(%q) error: %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() error: %v", err)
		}
	})
	return s
}

// checkFile checks the migrations table and the projects in the file at path
// through a fresh store.
func checkFile(t *testing.T, path string, wantProjects int) {
	t.Helper()
	s := open(t, path)
	var versions, latest int
	if err := s.reader.QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&versions); err != nil {
		t.Fatalf("count schema_migrations: %v", err)
	}
	status, err := s.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus() error: %v", err)
	}
	latest = status.Latest
	if versions != latest || status.Current != latest {
		t.Errorf("schema_migrations has %d rows and status %+v, want %d rows, each version once", versions, status, latest)
	}
	var projects int
	if err := s.reader.QueryRowContext(t.Context(), "SELECT count(*) FROM projects").Scan(&projects); err != nil {
		t.Fatalf("count projects: %v", err)
	}
	if projects != wantProjects {
		t.Errorf("the file holds %d projects, want %d", projects, wantProjects)
	}
}

func TestTwoProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary: %v", err)
	}
	path := filepath.Join(t.TempDir(), "shared", "store.db")
	const n = 60

	// Two child processes and this one migrate the fresh file and write to it
	// at the same time.
	var cmds []*exec.Cmd
	for _, name := range []string{"child1", "child2"} {
		cmd := exec.CommandContext(t.Context(), exe)
		cmd.Env = append(os.Environ(), childPathEnv+"="+path, childNameEnv+"="+name, childCountEnv+"="+strconv.Itoa(n))
		cmd.Stderr = &testWriter{t: t, prefix: name}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		cmds = append(cmds, cmd)
	}
	s := open(t, path)
	if err := migrateAndFill(t.Context(), s, "parent", n); err != nil {
		t.Errorf("parent: %v", err)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child%d: %v", i+1, err)
		}
	}
	checkFile(t, path, 3*n)
}

// testWriter copies a child's stderr into the test log.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s: %s", w.prefix, b)
	return len(b), nil
}

func TestTwoStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	a, b := open(t, path), open(t, path)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i, s := range []*Store{a, b, a, b} {
		wg.Go(func() { errs <- migrateAndFill(t.Context(), s, fmt.Sprintf("w%d", i), n) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("migrate and fill: %v", err)
		}
	}
	checkFile(t, path, 4*n)

	// Each store sees the other's writes.
	p, err := a.CreateProject(t.Context(), store.Project{Name: "seen", Root: "/seen"})
	if err != nil {
		t.Fatalf("CreateProject() error: %v", err)
	}
	if got, err := b.GetProject(t.Context(), p.ID); err != nil || got != p {
		t.Errorf("other store GetProject() = %+v, %v, want %+v", got, err, p)
	}
}

func TestWriterWaitsForLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	holder, waiter := open(t, path), open(t, path)
	if _, err := holder.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}

	// holder takes the write lock, as another process would.
	tx, err := holder.writer.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("BeginTx() error: %v", err)
	}
	defer tx.Rollback()

	// A write whose context ends while it waits gives up with the context's
	// error, long before the busy timeout.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := waiter.CreateProject(ctx, store.Project{Name: "a", Root: "/a"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateProject() while locked = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("CreateProject() while locked took %v to give up, want about 100ms", d)
	}

	// A write without a deadline waits for the lock instead of failing.
	done := make(chan error, 1)
	go func() {
		_, err := waiter.CreateProject(t.Context(), store.Project{Name: "b", Root: "/b"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("CreateProject() while locked returned %v, want it to wait", err)
	case <-time.After(300 * time.Millisecond):
	}
	// Reads are not blocked by the writer in WAL mode.
	if _, _, err := waiter.ListProjects(t.Context(), store.ListOptions{}); err != nil {
		t.Errorf("ListProjects() while locked error: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit() error: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("CreateProject() after the lock was released error: %v", err)
	}
}

func TestBusyTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	holder := open(t, path)
	s, err := Open(t.Context(), path, &Config{BusyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open() error: %v", err)
	}
	defer s.Close()
	if _, err := holder.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	tx, err := holder.writer.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("BeginTx() error: %v", err)
	}
	defer tx.Rollback()
	start := time.Now()
	if _, err := s.CreateProject(t.Context(), store.Project{Name: "a", Root: "/a"}); err == nil {
		t.Errorf("CreateProject() while locked past the busy timeout = nil error, want an error")
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("CreateProject() gave up after %v, want it to wait for the 200ms busy timeout", d)
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "store.db")
	s := open(t, path)
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	for _, test := range []struct {
		path string
		mode os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{path, 0o600},
		{path + "-wal", 0o600},
	} {
		fi, err := os.Stat(test.path)
		if err != nil {
			t.Errorf("stat: %v", err)
			continue
		}
		if got := fi.Mode(); got != test.mode {
			t.Errorf("mode of %s = %v, want %v", test.path, got, test.mode)
		}
	}
	if got := s.Path(); got != path {
		t.Errorf("Path() = %q, want %q", got, path)
	}
}

func TestPragmas(t *testing.T) {
	s := setup(t)
	ctx := t.Context()
	for _, test := range []struct {
		db     string
		pragma string
		want   string
	}{
		{"writer", "journal_mode", "wal"},
		{"writer", "foreign_keys", "1"},
		{"writer", "busy_timeout", "10000"},
		{"writer", "synchronous", "1"},
		{"reader", "journal_mode", "wal"},
		{"reader", "foreign_keys", "1"},
		{"reader", "query_only", "1"},
	} {
		db := s.writer
		if test.db == "reader" {
			db = s.reader
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+test.pragma).Scan(&got); err != nil {
			t.Errorf("%s PRAGMA %s: %v", test.db, test.pragma, err)
			continue
		}
		if got != test.want {
			t.Errorf("%s PRAGMA %s = %q, want %q", test.db, test.pragma, got, test.want)
		}
	}
	if _, err := s.reader.ExecContext(ctx, "CREATE TABLE t (x)"); err == nil {
		t.Errorf("a write through the reader succeeded, want the reader query-only")
	}
}

func TestOpenAwkwardPath(t *testing.T) {
	// URI syntax in the path must not be read as such.
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag%41", "store?.db")
	s := open(t, path)
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	if _, err := s.CreateProject(t.Context(), store.Project{Name: "a", Root: "/a"}); err != nil {
		t.Fatalf("CreateProject() error: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %q: %v", path, err)
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, test := range []struct {
		name string
		path string
		cfg  *Config
	}{
		{"empty path", "", nil},
		{"negative timeout", filepath.Join(t.TempDir(), "a.db"), &Config{BusyTimeout: -1}},
		{"negative readers", filepath.Join(t.TempDir(), "b.db"), &Config{MaxReaders: -1}},
	} {
		if s, err := Open(t.Context(), test.path, test.cfg); !errors.Is(err, store.ErrInvalid) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Open(%s) error = %v, want ErrInvalid", test.name, err)
		}
	}
	// A file that is not a database fails to open or to migrate.
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, []byte("this is not an SQLite database, not at all, no"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), path, nil)
	if err == nil {
		defer s.Close()
		if _, err = s.Migrate(t.Context()); err == nil {
			t.Errorf("Open() and Migrate() of a junk file succeeded, want an error")
		}
	}
}

func TestMigrateRefusesNewerDatabase(t *testing.T) {
	s := setup(t)
	status, err := s.Migrate(t.Context())
	if err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	if _, err := s.writer.ExecContext(t.Context(), "INSERT INTO schema_migrations (version) VALUES (?)", status.Latest+1); err != nil {
		t.Fatalf("record a future migration: %v", err)
	}
	got, err := s.MigrationStatus(t.Context())
	if err != nil || got.Current != status.Latest+1 {
		t.Errorf("MigrationStatus() = %+v, %v, want Current %d", got, err, status.Latest+1)
	}
	if _, err := s.Migrate(t.Context()); err == nil {
		t.Errorf("Migrate() on a newer database = nil error, want an error")
	}
}

func TestUpdatedAtMovesPastClock(t *testing.T) {
	// Another process's clock ran ahead: the stored time is in the future.
	s := setup(t)
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	p, err := s.CreateProject(t.Context(), store.Project{Name: "a", Root: "/a"})
	if err != nil {
		t.Fatalf("CreateProject() error: %v", err)
	}
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if _, err := s.writer.ExecContext(t.Context(), "UPDATE projects SET updated_at = ? WHERE id = ?", future.UnixMicro(), p.ID); err != nil {
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
