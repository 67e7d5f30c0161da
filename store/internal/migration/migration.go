// Package migration loads a driver's numbered SQL migrations. The drivers
// apply them; this package only reads and checks the files, so both drivers
// number and order their migrations the same way.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Migration is one schema change.
type Migration struct {
	// Version is the migration's number, from 1.
	Version int
	// Name is the file name, such as "0001_init.sql".
	Name string
	// SQL is the file's content, applied in one transaction.
	SQL string
}

// Load reads the files named "NNNN_description.sql" at the root of fsys and
// returns them ordered by version. Versions must run from 1 without gaps or
// repeats, and every .sql file must be named that way; other files are
// ignored.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	byVersion := make(map[int]Migration, len(names))
	for _, name := range names {
		digits, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(digits)
		if !ok || err != nil || v < 1 || len(digits) != 4 {
			return nil, fmt.Errorf("load migrations: %s is not named NNNN_description.sql", name)
		}
		if prev, dup := byVersion[v]; dup {
			return nil, fmt.Errorf("load migrations: %s and %s share version %d", prev.Name, name, v)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("load migrations: %w", err)
		}
		byVersion[v] = Migration{Version: v, Name: path.Base(name), SQL: string(b)}
	}
	ms := make([]Migration, 0, len(byVersion))
	for v := 1; v <= len(byVersion); v++ {
		m, ok := byVersion[v]
		if !ok {
			return nil, fmt.Errorf("load migrations: version %d is missing", v)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// Latest returns the highest version in ms, 0 if there is none.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
