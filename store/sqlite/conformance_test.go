package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/sqlite"
	"github.com/gathering-dev/gathering/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "store.db"), nil)
		if err != nil {
			t.Fatalf("Open() error: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close() error: %v", err)
			}
		})
		return s
	})
}
