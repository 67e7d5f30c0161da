// Package sample is read, never built, by TestSQLGuardCatchesBadSamples:
// every line ending in "// want" must be reported, and no other.
package sample

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

const columns = "id, name"

func good(ctx context.Context, db *sql.DB, id string) {
	db.ExecContext(ctx, "DELETE FROM t WHERE id = ?", id)
	db.QueryRowContext(ctx, "SELECT "+columns+" FROM t WHERE id = ?", id)
	db.QueryContext(ctx, `SELECT `+(columns)+` FROM t`)
	db.Query("SELECT 1")
	db.Exec(ctx, "UPDATE t SET a = $1", id) // pgx: the context comes first
	const local = "SELECT 2"
	db.QueryRow(ctx, local)
	db.Prepare(ctx, "by-id", "SELECT "+columns+" FROM t WHERE id = $1") // pgx: name, then SQL
	db.PrepareContext(ctx, "SELECT 3")
}

func bad(ctx context.Context, db *sql.DB, name string, n int) {
	db.ExecContext(ctx, "DELETE FROM t WHERE name = '"+name+"'") // want
	db.QueryContext(ctx, fmt.Sprintf("SELECT * FROM %s", name))  // want
	q := "SELECT * FROM t"
	db.Query(ctx, q)                                        // want
	db.QueryRow("SELECT * FROM t LIMIT " + strconv.Itoa(n)) // want
	db.Prepare(ctx, "by-name", "SELECT "+name)              // want
	db.Exec(name)                                           // want
	db.QueryRowContext(ctx, columns+name)                   // want
}
