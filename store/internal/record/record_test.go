package record

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gathering-dev/gathering/store"
)

func TestNewID(t *testing.T) {
	prev := ""
	for range 1000 {
		id, err := NewID()
		if err != nil {
			t.Fatalf("NewID() error: %v", err)
		}
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 || u.String() != id {
			t.Fatalf("NewID() = %q, want a canonical version 7 UUID", id)
		}
		if id <= prev {
			t.Fatalf("NewID() = %q after %q, want increasing IDs", id, prev)
		}
		prev = id
	}
}

func TestParseID(t *testing.T) {
	id := uuid.Must(uuid.NewV7()).String()
	for _, test := range []struct {
		in     string
		want   string
		wantOK bool
	}{
		{id, id, true},
		{"0192D3A0-7B1C-7DEF-8ABC-0123456789AB", "0192d3a0-7b1c-7def-8abc-0123456789ab", true},
		{"", "", false},
		{"nope", "", false},
		{"0192d3a07b1c7def8abc0123456789ab", "", false},
		{"{0192d3a0-7b1c-7def-8abc-0123456789ab}", "", false},
		{"0192d3a0-7b1c-7def-8abc-0123456789a'", "", false},
	} {
		got, ok := ParseID(test.in)
		if got != test.want || ok != test.wantOK {
			t.Errorf("ParseID(%q) = %q, %v, want %q, %v", test.in, got, ok, test.want, test.wantOK)
		}
	}
}

func TestCheckProject(t *testing.T) {
	for _, test := range []struct {
		p     store.Project
		valid bool
	}{
		{store.Project{Name: "a", Root: "/a"}, true},
		{store.Project{Name: "'; DROP TABLE projects; --", Root: "/a b/ç"}, true},
		{store.Project{Name: "", Root: "/a"}, false},
		{store.Project{Name: "a", Root: ""}, false},
		{store.Project{Name: "a\x00b", Root: "/a"}, false},
		{store.Project{Name: "a", Root: "/a\x00"}, false},
		{store.Project{Name: "a\xff", Root: "/a"}, false},
	} {
		err := CheckProject(test.p)
		if test.valid && err != nil || !test.valid && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CheckProject(%+v) = %v, want valid %v", test.p, err, test.valid)
		}
	}
}

func TestCheckUpdate(t *testing.T) {
	empty, bad, good := "", "x\x00", "x"
	for _, test := range []struct {
		u     store.ProjectUpdate
		valid bool
	}{
		{store.ProjectUpdate{}, true},
		{store.ProjectUpdate{Name: &good, Root: &good}, true},
		{store.ProjectUpdate{Name: &empty}, false},
		{store.ProjectUpdate{Root: &empty}, false},
		{store.ProjectUpdate{Name: &good, Root: &bad}, false},
	} {
		err := CheckUpdate(test.u)
		if test.valid && err != nil || !test.valid && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CheckUpdate(%+v) = %v, want valid %v", test.u, err, test.valid)
		}
	}
}
