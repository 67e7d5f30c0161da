package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// haveInitdb reports whether scripts/pgtemp can find initdb, looking where
// it looks.
func haveInitdb() bool {
	if _, err := exec.LookPath("initdb"); err == nil {
		return true
	}
	if _, err := os.Stat("/usr/local/bin/initdb"); err == nil {
		return true
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	return len(found) > 0
}

// pgtemp runs scripts/pgtemp with args and returns its trimmed output.
func pgtemp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "scripts", "pgtemp"), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("pgtemp %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), err
}

// query runs a one-row query on a connection of its own.
func query(ctx context.Context, dsn, sql string, dest ...any) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

func TestPgtemp(t *testing.T) {
	if !haveInitdb() {
		if InCI() {
			t.Fatal("initdb not found; CI must have the postgresql packages for scripts/pgtemp")
		}
		t.Skip("initdb not found; install the postgresql packages to test scripts/pgtemp")
	}
	ctx := t.Context()
	// The cluster's owner must reach DIR, so it cannot live in t.TempDir(),
	// whose parent only the test's user may enter.
	dir, err := os.MkdirTemp("", "pgtemp-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pgtemp(t, "stop", dir)
		os.RemoveAll(dir)
	})

	dsn, err := pgtemp(t, "start", dir)
	if err != nil {
		t.Fatalf("pgtemp start failed")
	}
	if !strings.HasPrefix(dsn, "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(dsn, "/postgres?sslmode=disable") {
		t.Fatalf("pgtemp start printed %q, want postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable", dsn)
	}
	var fsync, listen string
	if err := query(ctx, dsn, "SELECT current_setting('fsync'), current_setting('listen_addresses')", &fsync, &listen); err != nil {
		t.Fatalf("query the cluster at %s: %v", dsn, err)
	}
	if fsync != "off" || listen != "127.0.0.1" {
		t.Errorf("fsync = %q, listen_addresses = %q, want off and 127.0.0.1", fsync, listen)
	}

	// Starting a running cluster prints the same DSN.
	if again, err := pgtemp(t, "start", dir); err != nil || again != dsn {
		t.Errorf("second pgtemp start = %q, %v, want %q", again, err, dsn)
	}
	if got, err := pgtemp(t, "dsn", dir); err != nil || got != dsn {
		t.Errorf("pgtemp dsn = %q, %v, want %q", got, err, dsn)
	}

	// The Unix socket in DIR answers too.
	b, err := os.ReadFile(filepath.Join(dir, "socket.dsn"))
	if err != nil {
		t.Fatalf("read socket.dsn: %v", err)
	}
	var overSocket bool
	if err := query(ctx, strings.TrimSpace(string(b)), "SELECT inet_server_addr() IS NULL", &overSocket); err != nil || !overSocket {
		t.Errorf("query over the socket = %v, %v, want a Unix-socket connection", overSocket, err)
	}

	// PostgresURL hands out schemas in it.
	t.Run("PostgresURL", func(t *testing.T) {
		t.Setenv(DatabaseURLEnv, dsn)
		var schema string
		if err := query(t.Context(), PostgresURL(t), "SELECT current_schema()", &schema); err != nil || !strings.HasPrefix(schema, "t_") {
			t.Errorf("current_schema() = %q, %v, want t_<random>", schema, err)
		}
	})

	if _, err := pgtemp(t, "stop", dir); err != nil {
		t.Fatalf("pgtemp stop failed")
	}
	var one int
	if err := query(ctx, dsn, "SELECT 1", &one); err == nil {
		t.Errorf("the cluster still answers after pgtemp stop")
	}
	if _, err := pgtemp(t, "stop", dir); err != nil {
		t.Errorf("pgtemp stop of a stopped cluster failed, want success")
	}
	if got, err := pgtemp(t, "dsn", dir); err == nil {
		t.Errorf("pgtemp dsn of a stopped cluster = %q, want an error", got)
	}
}

func TestPgtempClosedParent(t *testing.T) {
	if !haveInitdb() {
		if InCI() {
			t.Fatal("initdb not found; CI must have the postgresql packages for scripts/pgtemp")
		}
		t.Skip("initdb not found; install the postgresql packages to test scripts/pgtemp")
	}
	// As root, the cluster's owner cannot enter t.TempDir(): pgtemp keeps the
	// cluster in a directory of its own, named in DIR/home, and removes it on
	// stop.
	dir := filepath.Join(t.TempDir(), "pg")
	t.Cleanup(func() { pgtemp(t, "stop", dir) })
	dsn, err := pgtemp(t, "start", dir)
	if err != nil {
		t.Fatalf("pgtemp start failed")
	}
	var one int
	if err := query(t.Context(), dsn, "SELECT 1", &one); err != nil || one != 1 {
		t.Fatalf("query the cluster at %s = %d, %v, want 1", dsn, one, err)
	}
	home := dir
	if b, err := os.ReadFile(filepath.Join(dir, "home")); err == nil {
		home = strings.TrimSpace(string(b))
	}
	if _, err := os.Stat(filepath.Join(home, "data", "PG_VERSION")); err != nil {
		t.Errorf("no cluster in %s: %v", home, err)
	}
	if _, err := pgtemp(t, "stop", dir); err != nil {
		t.Fatalf("pgtemp stop failed")
	}
	if home != dir {
		if _, err := os.Stat(home); !os.IsNotExist(err) {
			t.Errorf("stat %s after stop = %v, want it removed", home, err)
		}
	}
}
