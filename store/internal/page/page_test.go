package page

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gathering-dev/gathering/store"
)

func TestParse(t *testing.T) {
	id := uuid.Must(uuid.NewV7()).String()
	for _, test := range []struct {
		opt  store.ListOptions
		want Request
	}{
		{store.ListOptions{}, Request{After: uuid.Nil.String(), Limit: store.DefaultListLimit}},
		{store.ListOptions{Limit: 1}, Request{After: uuid.Nil.String(), Limit: 1}},
		{store.ListOptions{Limit: store.MaxListLimit}, Request{After: uuid.Nil.String(), Limit: store.MaxListLimit}},
		{store.ListOptions{Limit: store.MaxListLimit + 1}, Request{After: uuid.Nil.String(), Limit: store.MaxListLimit}},
		{store.ListOptions{After: Cursor(id), Limit: 7}, Request{After: id, Limit: 7}},
	} {
		got, err := Parse(test.opt)
		if err != nil || got != test.want {
			t.Errorf("Parse(%+v) = %+v, %v, want %+v, nil", test.opt, got, err, test.want)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, opt := range []store.ListOptions{
		{Limit: -1},
		{After: "not a cursor!"},
		{After: "AAAA"},
		{After: Cursor(uuid.Nil.String()) + "AA"},
		{After: "' OR 1=1 --"},
	} {
		if got, err := Parse(opt); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Parse(%+v) = %+v, %v, want ErrInvalid", opt, got, err)
		}
	}
}

func TestFinish(t *testing.T) {
	rows := make([]store.Project, 4)
	for i := range rows {
		rows[i].ID = uuid.Must(uuid.NewV7()).String()
	}
	r := Request{Limit: 3}
	got, next := Finish(r, rows)
	if len(got) != 3 || next != Cursor(rows[2].ID) {
		t.Errorf("Finish(limit 3, 4 rows) = %d rows, %q, want 3 rows, %q", len(got), next, Cursor(rows[2].ID))
	}
	got, next = Finish(r, rows[:3])
	if len(got) != 3 || next != "" {
		t.Errorf("Finish(limit 3, 3 rows) = %d rows, %q, want 3 rows, \"\"", len(got), next)
	}
	got, next = Finish(r, nil)
	if len(got) != 0 || next != "" {
		t.Errorf("Finish(limit 3, no rows) = %d rows, %q, want 0 rows, \"\"", len(got), next)
	}
}
