package postgres_test

import (
	"testing"

	"github.com/gathering-dev/gathering/internal/testenv"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/postgres"
	"github.com/gathering-dev/gathering/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), testenv.PostgresURL(t), nil)
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
