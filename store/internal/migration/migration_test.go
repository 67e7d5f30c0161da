package migration

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"0002_more.sql": {Data: []byte("two")},
		"0001_init.sql": {Data: []byte("one")},
		"README.md":     {Data: []byte("ignored")},
	}
	ms, err := Load(fsys)
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	want := []Migration{{1, "0001_init.sql", "one"}, {2, "0002_more.sql", "two"}}
	if len(ms) != len(want) {
		t.Fatalf("Load() = %+v, want %+v", ms, want)
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("Load()[%d] = %+v, want %+v", i, ms[i], want[i])
		}
	}
	if got := Latest(ms); got != 2 {
		t.Errorf("Latest() = %d, want 2", got)
	}
	if got := Latest(nil); got != 0 {
		t.Errorf("Latest(nil) = %d, want 0", got)
	}
}

func TestLoadRejects(t *testing.T) {
	for _, test := range []struct {
		name string
		fsys fstest.MapFS
	}{
		{"gap", fstest.MapFS{"0001_a.sql": {}, "0003_c.sql": {}}},
		{"no start", fstest.MapFS{"0002_b.sql": {}}},
		{"repeat", fstest.MapFS{"0001_a.sql": {}, "0001_b.sql": {}}},
		{"zero", fstest.MapFS{"0000_a.sql": {}}},
		{"unnumbered", fstest.MapFS{"init.sql": {}}},
		{"short number", fstest.MapFS{"1_init.sql": {}}},
		{"no description", fstest.MapFS{"0001.sql": {}}},
	} {
		if ms, err := Load(test.fsys); err == nil {
			t.Errorf("Load(%s) = %+v, want an error", test.name, ms)
		}
	}
}
