// Package testenv owns what tests need from the machine they run on: a
// Postgres database of their own, and knowing whether they run in CI, where
// a missing dependency fails a test instead of skipping it.
package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DatabaseURLEnv names the variable that holds the connection string of the
// Postgres database tests may use.
const DatabaseURLEnv = "GATHERING_TEST_DATABASE_URL"

// InCI reports whether the tests run in continuous integration: the CI
// variable is set to a true value ("true", "1", ...), as CI services do.
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// PostgresURL returns a connection string for a fresh schema of its own in
// the database named by GATHERING_TEST_DATABASE_URL. The schema, named
// t_<random>, is the connection's only search_path entry, so tables a test
// creates land in it and tests running in parallel do not see each other's.
// The schema and everything in it are dropped when the test ends.
//
// If the variable is unset, the test is skipped, except in CI (see [InCI]),
// where it fails.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(DatabaseURLEnv)
	if base == "" {
		if InCI() {
			t.Fatalf("%s is not set; CI must provide a Postgres database", DatabaseURLEnv)
		}
		t.Skipf("%s is not set; set it to a Postgres database, e.g. from scripts/pgtemp start DIR", DatabaseURLEnv)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), time.Minute)
	defer cancel()
	dsn, drop, err := FreshSchema(ctx, base, "t_")
	if err != nil {
		t.Fatalf("%s: %v", DatabaseURLEnv, err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// FreshSchema creates a schema named prefix<random> in the database base
// names and returns a connection string whose search_path is that schema
// alone, so that what is created through it lands there and nothing of an
// earlier run is seen, and drop, which removes the schema and everything in
// it (benchmarks use it as tests use PostgresURL).
func FreshSchema(ctx context.Context, base, prefix string) (dsn string, drop func() error, err error) {
	schema := prefix + strings.ToLower(rand.Text())
	if dsn, err = withSearchPath(base, schema); err != nil {
		return "", nil, err
	}
	if err := execSQL(ctx, base, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := execSQL(ctx, base, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	return dsn, drop, nil
}

// execSQL runs one statement on a connection of its own. The statements it runs
// name a schema, which Postgres cannot take as a parameter; the name is
// generated here and quoted.
func execSQL(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// withSearchPath returns dsn, in URL or key=value form, with its search_path
// set to schema alone.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse connection URL: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	// In the key=value form a later setting wins over an earlier one.
	return strings.TrimSpace(dsn) + " search_path=" + schema, nil
}
