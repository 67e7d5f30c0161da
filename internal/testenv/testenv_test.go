package testenv

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestInCI(t *testing.T) {
	for _, test := range []struct {
		ci   string
		want bool
	}{
		{"", false},
		{"true", true},
		{"TRUE", true},
		{"1", true},
		{"false", false},
		{"0", false},
		{"yes please", false},
	} {
		t.Setenv("CI", test.ci)
		if got := InCI(); got != test.want {
			t.Errorf("InCI() with CI=%q = %v, want %v", test.ci, got, test.want)
		}
	}
}

func TestWithSearchPath(t *testing.T) {
	for _, test := range []struct {
		dsn, want string
	}{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=t_x&sslmode=disable"},
		{"postgresql://u:p@h/db", "postgresql://u:p@h/db?search_path=t_x"},
		{"postgres://h/db?search_path=public", "postgres://h/db?search_path=t_x"},
		{"host=/tmp dbname=db ", "host=/tmp dbname=db search_path=t_x"},
		{"host=h search_path=public", "host=h search_path=public search_path=t_x"},
	} {
		got, err := withSearchPath(test.dsn, "t_x")
		if err != nil || got != test.want {
			t.Errorf("withSearchPath(%q) = %q, %v, want %q", test.dsn, got, err, test.want)
		}
	}
	if got, err := withSearchPath("postgres://h:port/db", "t_x"); err == nil {
		t.Errorf("withSearchPath(bad URL) = %q, want an error", got)
	}
}

// fakeTB records how PostgresURL gives up. Like testing.T, it stops the
// goroutine that calls Skip or Fatal.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runFake calls PostgresURL with a fakeTB on a goroutine of its own.
func runFake(t *testing.T) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		PostgresURL(f)
	}()
	<-done
	return f
}

func TestPostgresURLUnset(t *testing.T) {
	t.Setenv(DatabaseURLEnv, "")
	t.Setenv("CI", "")
	if f := runFake(t); !f.skipped || f.failed || !strings.Contains(f.msg, DatabaseURLEnv) {
		t.Errorf("PostgresURL() without %s outside CI: skipped %v, failed %v (%q), want a skip naming the variable", DatabaseURLEnv, f.skipped, f.failed, f.msg)
	}
	t.Setenv("CI", "true")
	if f := runFake(t); f.skipped || !f.failed || !strings.Contains(f.msg, DatabaseURLEnv) {
		t.Errorf("PostgresURL() without %s in CI: skipped %v, failed %v (%q), want a failure naming the variable", DatabaseURLEnv, f.skipped, f.failed, f.msg)
	}
}

func TestPostgresURL(t *testing.T) {
	var a, b, schemaA string
	t.Run("schema", func(t *testing.T) {
		ctx := t.Context()
		a, b = PostgresURL(t), PostgresURL(t)
		if a == b {
			t.Fatalf("PostgresURL() returned %q twice, want distinct schemas", a)
		}
		conn, err := pgx.Connect(ctx, a)
		if err != nil {
			t.Fatalf("connect to %q: %v", a, err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schemaA); err != nil {
			t.Fatalf("current_schema(): %v", err)
		}
		if !strings.HasPrefix(schemaA, "t_") {
			t.Errorf("current_schema() = %q, want t_<random>", schemaA)
		}
		// Unqualified tables land in the test's schema, unseen by the other.
		if _, err := conn.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("create table: %v", err)
		}
		connB, err := pgx.Connect(ctx, b)
		if err != nil {
			t.Fatalf("connect to %q: %v", b, err)
		}
		defer connB.Close(ctx)
		var found bool
		if err := connB.QueryRow(ctx, "SELECT to_regclass('t') IS NOT NULL").Scan(&found); err != nil {
			t.Fatalf("look for table t: %v", err)
		}
		if found {
			t.Errorf("a table made in one test schema is visible from another")
		}
	})
	if schemaA == "" {
		return // the subtest failed or skipped and said why
	}
	// The schemas are gone once the subtest has ended.
	conn, err := pgx.Connect(context.Background(), a)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schemaA).Scan(&n); err != nil {
		t.Fatalf("look for schema: %v", err)
	}
	if n != 0 {
		t.Errorf("schema %s still exists after its test ended", schemaA)
	}
}
