package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/store/sqlite"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gathering-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := sqlite.Open(ctx, filepath.Join(dir, "state", "gathering.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	status, err := s.Migrate(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("schema current:", status.Current == status.Latest)

	p, err := s.CreateProject(ctx, store.Project{Name: "gathering", Root: "/src/gathering"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.CreateProject(ctx, store.Project{Name: "again", Root: "/src/gathering"})
	fmt.Println("same root again is a conflict:", errors.Is(err, store.ErrConflict))

	got, err := s.GetProjectByRoot(ctx, "/src/gathering")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Name, got.ID == p.ID)
	// Output:
	// schema current: true
	// same root again is a conflict: true
	// gathering true
}
