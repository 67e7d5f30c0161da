// Package page turns [store.ListOptions] into keyset bounds for the drivers,
// and the last record of a page back into an opaque cursor. Both drivers use
// it, so their cursors are the same.
package page

import (
	"encoding/base64"
	"fmt"

	"github.com/google/uuid"

	"github.com/gathering-dev/gathering/store"
)

// Request is a parsed page request: return up to Limit records whose ID sorts
// after After.
type Request struct {
	// After is a canonical UUID; the nil UUID, which sorts before every
	// assigned ID, when the list starts at the beginning.
	After string
	// Limit is the page size, between 1 and [store.MaxListLimit].
	Limit int
}

// Parse checks opt and applies the defaults and bounds of
// [store.ListOptions]. It returns [store.ErrInvalid] for a negative limit or
// a cursor that [Cursor] did not make.
func Parse(opt store.ListOptions) (Request, error) {
	r := Request{After: uuid.Nil.String(), Limit: opt.Limit}
	switch {
	case opt.Limit < 0:
		return Request{}, fmt.Errorf("list limit %d: %w", opt.Limit, store.ErrInvalid)
	case opt.Limit == 0:
		r.Limit = store.DefaultListLimit
	case opt.Limit > store.MaxListLimit:
		r.Limit = store.MaxListLimit
	}
	if opt.After != "" {
		b, err := base64.RawURLEncoding.DecodeString(opt.After)
		if err != nil || len(b) != 16 {
			return Request{}, fmt.Errorf("list cursor %q: %w", opt.After, store.ErrInvalid)
		}
		r.After = uuid.UUID(b).String()
	}
	return r, nil
}

// Cursor returns the cursor for the page after the record with the given ID,
// which must be a canonical UUID.
func Cursor(id string) string {
	u := uuid.MustParse(id)
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// Finish cuts rows, fetched with a limit one higher than r.Limit, to the page
// and returns the cursor for the next page, or "" if rows held no more.
func Finish(r Request, rows []store.Project) ([]store.Project, string) {
	return FinishBy(r, rows, func(p store.Project) string { return p.ID })
}

// FinishBy is [Finish] for records of any kind whose canonical UUID id
// returns.
func FinishBy[T any](r Request, rows []T, id func(T) string) ([]T, string) {
	if len(rows) <= r.Limit {
		return rows, ""
	}
	rows = rows[:r.Limit]
	return rows, Cursor(id(rows[len(rows)-1]))
}
