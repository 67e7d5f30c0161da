// Package record checks and prepares project records for the drivers, so
// that both accept and reject exactly the same input and assign IDs the same
// way.
package record

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gathering-dev/gathering/store"
)

// NewID returns a new project ID: a UUID version 7, whose canonical form
// sorts in creation order.
func NewID() (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return u.String(), nil
}

// ParseID returns id in canonical form, and false if id is not a UUID in the
// 36-character hyphenated form. No record has such an ID, so drivers answer
// [store.ErrNotFound] without asking the database.
func ParseID(id string) (string, bool) {
	if len(id) != 36 {
		return "", false
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// CheckProject returns [store.ErrInvalid] unless p's Name and Root can be
// stored.
func CheckProject(p store.Project) error {
	if err := checkText("project name", p.Name); err != nil {
		return err
	}
	return checkText("project root", p.Root)
}

// CheckUpdate returns [store.ErrInvalid] unless every field u sets can be
// stored.
func CheckUpdate(u store.ProjectUpdate) error {
	if u.Name != nil {
		if err := checkText("project name", *u.Name); err != nil {
			return err
		}
	}
	if u.Root != nil {
		return checkText("project root", *u.Root)
	}
	return nil
}

// checkText rejects what one of the databases cannot hold or the store
// forbids: an empty value, a NUL byte (Postgres text cannot hold one), or
// invalid UTF-8 (Postgres rejects it, SQLite would store it unchecked).
func checkText(field, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%s is empty: %w", field, store.ErrInvalid)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%s holds a NUL byte: %w", field, store.ErrInvalid)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s is not valid UTF-8: %w", field, store.ErrInvalid)
	}
	return nil
}
