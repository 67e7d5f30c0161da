// Package storetest holds the conformance suite every [store.Store] driver
// passes. Each driver's tests call [Exercise] with a function that opens a
// store on a fresh, empty database.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gathering-dev/gathering/store"
)

// Exercise runs the conformance suite against the stores open makes. Each
// call of open must return a store on its own fresh, empty database that is
// not yet migrated, and must arrange for the store to be closed when the test
// ends. Subtests run in parallel.
func Exercise(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, test := range []struct {
		name string
		run  func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"Migrate", testMigrate},
		{"Kind", testKind},
		{"Close", testClose},
		{"CreateGet", testCreateGet},
		{"CreateInvalid", testCreateInvalid},
		{"Conflict", testConflict},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"Update", testUpdate},
		{"UpdateInvalid", testUpdateInvalid},
		{"List", testList},
		{"ListClamp", testListClamp},
		{"ListInvalid", testListInvalid},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentSameRoot", testConcurrentSameRoot},
		{"Verbatim", testVerbatim},
		{"LongRoot", testLongRoot},
		{"Canceled", testCanceled},
	} {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			test.run(t, open)
		})
	}
	for _, test := range authTests {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			test.run(t, open)
		})
	}
}

// setup opens a store and migrates it.
func setup(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := open(t)
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate() error: %v", err)
	}
	return s
}

// create stores a project or fails the test.
func create(t testing.TB, s store.Store, name, root string) store.Project {
	t.Helper()
	p, err := s.CreateProject(t.Context(), store.Project{Name: name, Root: root})
	if err != nil {
		t.Fatalf("CreateProject(%q, %q) error: %v", name, root, err)
	}
	return p
}

// get reads a project by ID or fails the test.
func get(t testing.TB, s store.Store, id string) store.Project {
	t.Helper()
	p, err := s.GetProject(t.Context(), id)
	if err != nil {
		t.Fatalf("GetProject(%q) error: %v", id, err)
	}
	return p
}

// listAll pages through every project with the given limit and checks the
// pages' sizes and order on the way.
func listAll(t testing.TB, s store.Store, limit int) []store.Project {
	t.Helper()
	want := limit
	switch {
	case limit == 0:
		want = store.DefaultListLimit
	case limit > store.MaxListLimit:
		want = store.MaxListLimit
	}
	var all []store.Project
	after := ""
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatalf("ListProjects(limit %d) has not ended after %d pages", limit, pages)
		}
		ps, next, err := s.ListProjects(t.Context(), store.ListOptions{After: after, Limit: limit})
		if err != nil {
			t.Fatalf("ListProjects(after %q, limit %d) error: %v", after, limit, err)
		}
		if len(ps) > want {
			t.Fatalf("ListProjects(limit %d) returned %d projects, want at most %d", limit, len(ps), want)
		}
		if next != "" && len(ps) != want {
			t.Fatalf("ListProjects(limit %d) returned a short page of %d with a next cursor", limit, len(ps))
		}
		all = append(all, ps...)
		if next == "" {
			break
		}
		after = next
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID >= all[i].ID {
			t.Fatalf("ListProjects(limit %d): %s before %s, want ascending IDs", limit, all[i-1].ID, all[i].ID)
		}
	}
	return all
}

func testMigrate(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := open(t)
	before, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("MigrationStatus() before Migrate error: %v", err)
	}
	if before.Current != 0 || before.Latest < 1 {
		t.Fatalf("MigrationStatus() before Migrate = %+v, want Current 0 and Latest at least 1", before)
	}
	want := store.MigrationStatus{Current: before.Latest, Latest: before.Latest}
	for i := range 3 {
		got, err := s.Migrate(ctx)
		if err != nil || got != want {
			t.Fatalf("Migrate() #%d = %+v, %v, want %+v, nil", i+1, got, err, want)
		}
	}
	if got, err := s.MigrationStatus(ctx); err != nil || got != want {
		t.Fatalf("MigrationStatus() after Migrate = %+v, %v, want %+v, nil", got, err, want)
	}
	// The schema works after repeated migrations.
	create(t, s, "a", "/a")
}

func testKind(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	if k := s.Kind(); k != store.KindSQLite && k != store.KindPostgres {
		t.Errorf("Kind() = %q, want %q or %q", k, store.KindSQLite, store.KindPostgres)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping() error: %v", err)
	}
}

func testClose(t *testing.T, open func(t *testing.T) store.Store) {
	s := setup(t, open)
	create(t, s, "a", "/a")
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close() error: %v", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping() after Close() = nil, want an error")
	}
	if _, err := s.CreateProject(t.Context(), store.Project{Name: "b", Root: "/b"}); err == nil {
		t.Errorf("CreateProject() after Close() = nil error, want an error")
	}
}

func testCreateGet(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	start := time.Now().Add(-time.Second)
	in := store.Project{
		ID:        "ignored",
		Name:      "gathering",
		Root:      "/src/gathering",
		CreatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	p, err := s.CreateProject(ctx, in)
	if err != nil {
		t.Fatalf("CreateProject() error: %v", err)
	}
	u, err := uuid.Parse(p.ID)
	if err != nil || u.Version() != 7 || u.String() != p.ID {
		t.Errorf("CreateProject().ID = %q, want a canonical version 7 UUID", p.ID)
	}
	if p.Name != in.Name || p.Root != in.Root {
		t.Errorf("CreateProject() = %q, %q, want %q, %q", p.Name, p.Root, in.Name, in.Root)
	}
	if p.CreatedAt.Before(start) || p.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreateProject().CreatedAt = %v, want about %v", p.CreatedAt, time.Now())
	}
	if !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Errorf("CreateProject().UpdatedAt = %v, want CreatedAt %v", p.UpdatedAt, p.CreatedAt)
	}
	if p.CreatedAt.Location() != time.UTC || p.CreatedAt.Nanosecond()%1000 != 0 {
		t.Errorf("CreateProject().CreatedAt = %v, want UTC to the microsecond", p.CreatedAt)
	}
	if got := get(t, s, p.ID); got != p {
		t.Errorf("GetProject() = %+v, want %+v", got, p)
	}
	if got := get(t, s, strings.ToUpper(p.ID)); got != p {
		t.Errorf("GetProject(upper case) = %+v, want %+v", got, p)
	}
	if got, err := s.GetProjectByRoot(ctx, p.Root); err != nil || got != p {
		t.Errorf("GetProjectByRoot() = %+v, %v, want %+v, nil", got, err, p)
	}
	q := create(t, s, "second", "/src/second")
	if q.ID <= p.ID {
		t.Errorf("second project's ID %s sorts before the first's %s", q.ID, p.ID)
	}
}

func testCreateInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := setup(t, open)
	for _, p := range []store.Project{
		{Name: "", Root: "/a"},
		{Name: "a", Root: ""},
		{},
		{Name: "a\x00b", Root: "/a"},
		{Name: "a", Root: "/a\x00"},
		{Name: "a\xff", Root: "/a"},
	} {
		if got, err := s.CreateProject(t.Context(), p); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CreateProject(%+v) = %+v, %v, want ErrInvalid", p, got, err)
		}
	}
	if ps, _, err := s.ListProjects(t.Context(), store.ListOptions{}); err != nil || len(ps) != 0 {
		t.Errorf("ListProjects() after invalid creates = %d projects, %v, want none", len(ps), err)
	}
}

func testConflict(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	a := create(t, s, "a", "/a")
	b := create(t, s, "b", "/b")
	if got, err := s.CreateProject(ctx, store.Project{Name: "other", Root: "/a"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateProject(duplicate root) = %+v, %v, want ErrConflict", got, err)
	}
	root := "/a"
	if got, err := s.UpdateProject(ctx, b.ID, store.ProjectUpdate{Root: &root}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateProject(root of another) = %+v, %v, want ErrConflict", got, err)
	}
	if got := get(t, s, b.ID); got != b {
		t.Errorf("project after a failed update = %+v, want it unchanged %+v", got, b)
	}
	// Roots are compared exactly: a near miss is no conflict.
	create(t, s, "c", "/a/")
	create(t, s, "d", "/A")
	// Setting a project's root to its own root is no conflict.
	if _, err := s.UpdateProject(ctx, a.ID, store.ProjectUpdate{Root: &root}); err != nil {
		t.Errorf("UpdateProject(own root) error: %v", err)
	}
}

func testNotFound(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	create(t, s, "a", "/a")
	name := "x"
	for _, id := range []string{
		uuid.Must(uuid.NewV7()).String(),
		uuid.Nil.String(),
		"",
		"nope",
		"' OR '1'='1",
		"0192d3a0-7b1c-7def-8abc-0123456789a'",
	} {
		if got, err := s.GetProject(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetProject(%q) = %+v, %v, want ErrNotFound", id, got, err)
		}
		if got, err := s.UpdateProject(ctx, id, store.ProjectUpdate{Name: &name}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateProject(%q) = %+v, %v, want ErrNotFound", id, got, err)
		}
		if got, err := s.UpdateProject(ctx, id, store.ProjectUpdate{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateProject(%q, no fields) = %+v, %v, want ErrNotFound", id, got, err)
		}
		if err := s.DeleteProject(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteProject(%q) = %v, want ErrNotFound", id, err)
		}
	}
	for _, root := range []string{"/b", "", "/a/", "/%", "' OR '1'='1"} {
		if got, err := s.GetProjectByRoot(ctx, root); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetProjectByRoot(%q) = %+v, %v, want ErrNotFound", root, got, err)
		}
	}
}

func testDelete(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	a := create(t, s, "a", "/a")
	b := create(t, s, "b", "/b")
	if err := s.DeleteProject(ctx, a.ID); err != nil {
		t.Fatalf("DeleteProject() error: %v", err)
	}
	if got, err := s.GetProject(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProject(deleted) = %+v, %v, want ErrNotFound", got, err)
	}
	if got, err := s.GetProjectByRoot(ctx, a.Root); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProjectByRoot(deleted) = %+v, %v, want ErrNotFound", got, err)
	}
	if err := s.DeleteProject(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteProject() = %v, want ErrNotFound", err)
	}
	if got := get(t, s, b.ID); got != b {
		t.Errorf("other project after delete = %+v, want %+v", got, b)
	}
	// A deleted project's root is free again, under a new ID.
	if c := create(t, s, "a again", "/a"); c.ID == a.ID {
		t.Errorf("recreated project reused ID %s", a.ID)
	}
}

func testUpdate(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	p := create(t, s, "old", "/old")

	steps := []struct {
		u    store.ProjectUpdate
		name string
		root string
	}{
		{store.ProjectUpdate{Name: new("new")}, "new", "/old"},
		{store.ProjectUpdate{Root: new("/new")}, "new", "/new"},
		{store.ProjectUpdate{Name: new("both"), Root: new("/both")}, "both", "/both"},
		{store.ProjectUpdate{Name: new("both")}, "both", "/both"}, // same value: still an update
	}
	prev := p
	for _, step := range steps {
		got, err := s.UpdateProject(ctx, p.ID, step.u)
		if err != nil {
			t.Fatalf("UpdateProject(%s) error: %v", describe(step.u), err)
		}
		want := store.Project{ID: p.ID, Name: step.name, Root: step.root, CreatedAt: p.CreatedAt, UpdatedAt: got.UpdatedAt}
		if got != want {
			t.Errorf("UpdateProject(%s) = %+v, want %+v", describe(step.u), got, want)
		}
		if !got.UpdatedAt.After(prev.UpdatedAt) {
			t.Errorf("UpdateProject(%s).UpdatedAt = %v, want after %v", describe(step.u), got.UpdatedAt, prev.UpdatedAt)
		}
		if got.UpdatedAt.Location() != time.UTC || got.UpdatedAt.Nanosecond()%1000 != 0 {
			t.Errorf("UpdateProject(%s).UpdatedAt = %v, want UTC to the microsecond", describe(step.u), got.UpdatedAt)
		}
		if stored := get(t, s, p.ID); stored != got {
			t.Errorf("GetProject() after UpdateProject(%s) = %+v, want %+v", describe(step.u), stored, got)
		}
		prev = got
	}

	// The old root is free, the new one found.
	if got, err := s.GetProjectByRoot(ctx, "/both"); err != nil || got.ID != p.ID {
		t.Errorf("GetProjectByRoot(new root) = %+v, %v, want project %s", got, err, p.ID)
	}
	if _, err := s.GetProjectByRoot(ctx, "/old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProjectByRoot(old root) error = %v, want ErrNotFound", err)
	}
	create(t, s, "reuse", "/old")

	// An update with no fields changes nothing, not even UpdatedAt.
	if got, err := s.UpdateProject(ctx, p.ID, store.ProjectUpdate{}); err != nil || got != prev {
		t.Errorf("UpdateProject(no fields) = %+v, %v, want %+v, nil", got, err, prev)
	}

	// Rapid updates keep moving UpdatedAt forward.
	for i := range 50 {
		got, err := s.UpdateProject(ctx, p.ID, store.ProjectUpdate{Name: new(fmt.Sprint(i))})
		if err != nil {
			t.Fatalf("UpdateProject(#%d) error: %v", i, err)
		}
		if !got.UpdatedAt.After(prev.UpdatedAt) {
			t.Fatalf("UpdateProject(#%d).UpdatedAt = %v, want after %v", i, got.UpdatedAt, prev.UpdatedAt)
		}
		prev = got
	}
}

// describe renders an update for test messages.
func describe(u store.ProjectUpdate) string {
	var parts []string
	if u.Name != nil {
		parts = append(parts, fmt.Sprintf("Name %q", *u.Name))
	}
	if u.Root != nil {
		parts = append(parts, fmt.Sprintf("Root %q", *u.Root))
	}
	return strings.Join(parts, ", ")
}

func testUpdateInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := setup(t, open)
	p := create(t, s, "a", "/a")
	empty, nul := "", "x\x00"
	for _, u := range []store.ProjectUpdate{
		{Name: &empty},
		{Root: &empty},
		{Name: &nul},
		{Name: new("ok"), Root: &empty},
	} {
		if got, err := s.UpdateProject(t.Context(), p.ID, u); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("UpdateProject(%s) = %+v, %v, want ErrInvalid", describe(u), got, err)
		}
	}
	if got := get(t, s, p.ID); got != p {
		t.Errorf("project after invalid updates = %+v, want it unchanged %+v", got, p)
	}
}

func testList(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	if ps, next, err := s.ListProjects(ctx, store.ListOptions{}); err != nil || len(ps) != 0 || next != "" {
		t.Fatalf("ListProjects(empty store) = %d projects, %q, %v, want none", len(ps), next, err)
	}
	const n = 250
	var ids []string
	for i := range n {
		ids = append(ids, create(t, s, fmt.Sprintf("p%03d", i), fmt.Sprintf("/p/%03d", i)).ID)
	}
	slices.Sort(ids)
	for _, limit := range []int{0, 1, 7, 100, 249, 250, 251, 1000, 1001, 1 << 30} {
		all := listAll(t, s, limit)
		got := make([]string, len(all))
		for i, p := range all {
			got[i] = p.ID
		}
		if !slices.Equal(got, ids) {
			t.Errorf("ListProjects(limit %d) listed %d projects, want the %d created, in ID order", limit, len(got), n)
		}
	}

	// Page sizes for the default limit: 100, 100, 50, then the end.
	var sizes []int
	after := ""
	for {
		ps, next, err := s.ListProjects(ctx, store.ListOptions{After: after})
		if err != nil {
			t.Fatalf("ListProjects() error: %v", err)
		}
		sizes = append(sizes, len(ps))
		if next == "" {
			break
		}
		after = next
	}
	if want := []int{100, 100, 50}; !slices.Equal(sizes, want) {
		t.Errorf("ListProjects() page sizes = %v, want %v", sizes, want)
	}

	// A cursor stays valid after the project it came from is deleted, and
	// pages see writes made between them.
	ps, next, err := s.ListProjects(ctx, store.ListOptions{Limit: 10})
	if err != nil {
		t.Fatalf("ListProjects(limit 10) error: %v", err)
	}
	if err := s.DeleteProject(ctx, ps[9].ID); err != nil {
		t.Fatalf("DeleteProject() error: %v", err)
	}
	if err := s.DeleteProject(ctx, ids[10]); err != nil {
		t.Fatalf("DeleteProject() error: %v", err)
	}
	rest, _, err := s.ListProjects(ctx, store.ListOptions{After: next, Limit: 5})
	if err != nil {
		t.Fatalf("ListProjects(after a deleted project) error: %v", err)
	}
	if len(rest) != 5 || rest[0].ID != ids[11] {
		t.Errorf("ListProjects(after a deleted project) starts at %v, want %s", rest, ids[11])
	}
}

func testListClamp(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	const n = store.MaxListLimit + 5
	for i := range n {
		create(t, s, "p", fmt.Sprintf("/p/%04d", i))
	}
	for _, limit := range []int{store.MaxListLimit, store.MaxListLimit + 1, 1 << 30} {
		ps, next, err := s.ListProjects(ctx, store.ListOptions{Limit: limit})
		if err != nil || len(ps) != store.MaxListLimit || next == "" {
			t.Fatalf("ListProjects(limit %d) = %d projects, %q, %v, want %d and a cursor", limit, len(ps), next, err, store.MaxListLimit)
		}
		rest, next, err := s.ListProjects(ctx, store.ListOptions{After: next, Limit: limit})
		if err != nil || len(rest) != n-store.MaxListLimit || next != "" {
			t.Fatalf("ListProjects(limit %d, page 2) = %d projects, %q, %v, want %d and no cursor", limit, len(rest), next, err, n-store.MaxListLimit)
		}
	}
}

func testListInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := setup(t, open)
	create(t, s, "a", "/a")
	for _, opt := range []store.ListOptions{
		{Limit: -1},
		{After: "garbage"},
		{After: "' OR 1=1 --"},
		{After: uuid.Must(uuid.NewV7()).String()}, // an ID is not a cursor
	} {
		if ps, next, err := s.ListProjects(t.Context(), opt); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ListProjects(%+v) = %d projects, %q, %v, want ErrInvalid", opt, len(ps), next, err)
		}
	}
}

func testConcurrentCreate(t *testing.T, open func(t *testing.T) store.Store) {
	s := setup(t, open)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := s.CreateProject(t.Context(), store.Project{Name: "p", Root: fmt.Sprintf("/w%d/%d", w, i)})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	// Readers run alongside the writers.
	wg.Go(func() {
		for range 20 {
			if _, _, err := s.ListProjects(t.Context(), store.ListOptions{Limit: 50}); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent CreateProject or ListProjects error: %v", err)
	}
	all := listAll(t, s, 0)
	if len(all) != workers*each {
		t.Errorf("after concurrent creates ListProjects() found %d projects, want %d", len(all), workers*each)
	}
}

func testConcurrentSameRoot(t *testing.T, open func(t *testing.T) store.Store) {
	s := setup(t, open)
	const workers = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, conflicts int
	for range workers {
		wg.Go(func() {
			_, err := s.CreateProject(t.Context(), store.Project{Name: "p", Root: "/same"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Errorf("CreateProject(/same) error: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || conflicts != workers-1 {
		t.Errorf("%d concurrent creates of one root: %d succeeded and %d conflicted, want 1 and %d", workers, ok, conflicts, workers-1)
	}
}

func testVerbatim(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	texts := []string{
		"'; DROP TABLE projects; --",
		"Robert'); DROP TABLE students;--",
		`" OR 1=1 --`,
		"' OR '1'='1",
		`\'; SELECT pg_sleep(10); --`,
		"$1 ? ?1 :name @p1 %s %v",
		"%_",
		"/*comment*/",
		"name\nwith\ttabs\r",
		"  padded  ",
		"日本語 ✓ é",
		"🙂",
		strings.Repeat("long ", 2000),
	}
	var created []store.Project
	for i, text := range texts {
		p := create(t, s, text, text)
		if p.Name != text || p.Root != text {
			t.Errorf("CreateProject(#%d) = %q, %q, want both %q", i, p.Name, p.Root, text)
		}
		created = append(created, p)
	}
	for i, p := range created {
		if got := get(t, s, p.ID); got != p {
			t.Errorf("GetProject(#%d) = %+v, want %+v", i, got, p)
		}
		if got, err := s.GetProjectByRoot(ctx, p.Root); err != nil || got != p {
			t.Errorf("GetProjectByRoot(%q) = %+v, %v, want %+v", p.Root, got, err, p)
		}
	}
	// "%_" is not a pattern: it matches no other root.
	if _, err := s.GetProjectByRoot(ctx, "%"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProjectByRoot(%q) error = %v, want ErrNotFound", "%", err)
	}
	name := "x'); DELETE FROM projects; --"
	if _, err := s.UpdateProject(ctx, created[0].ID, store.ProjectUpdate{Name: &name}); err != nil {
		t.Fatalf("UpdateProject(injection-like name) error: %v", err)
	}
	if got := get(t, s, created[0].ID); got.Name != name {
		t.Errorf("GetProject().Name = %q, want %q", got.Name, name)
	}
	if all := listAll(t, s, 0); len(all) != len(texts) {
		t.Errorf("ListProjects() found %d projects, want %d: the table survived", len(all), len(texts))
	}
}

func testLongRoot(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := setup(t, open)
	// A root as long as PATH_MAX, of random characters that do not compress.
	long := func() string {
		var b strings.Builder
		for b.Len() < 4096-40 {
			b.WriteString("/" + uuid.NewString())
		}
		return b.String()
	}
	a, b := long(), long()
	if len(a) <= 4000 {
		t.Fatalf("test root is %d bytes, want about 4096", len(a))
	}
	p := create(t, s, "long", a)
	if got, err := s.GetProjectByRoot(ctx, a); err != nil || got != p {
		t.Errorf("GetProjectByRoot(long root) = %+v, %v, want %+v", got, err, p)
	}
	if _, err := s.GetProjectByRoot(ctx, b); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProjectByRoot(other long root) error = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateProject(ctx, store.Project{Name: "again", Root: a}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateProject(same long root) error = %v, want ErrConflict", err)
	}
	q := create(t, s, "other", b)
	if _, err := s.UpdateProject(ctx, q.ID, store.ProjectUpdate{Root: &a}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateProject(to a used long root) error = %v, want ErrConflict", err)
	}
	c := a + "x"
	if got, err := s.UpdateProject(ctx, p.ID, store.ProjectUpdate{Root: &c}); err != nil || got.Root != c {
		t.Errorf("UpdateProject(long root) = %+v, %v, want root %q…", got, err, c[:20])
	}
	if got, err := s.GetProjectByRoot(ctx, c); err != nil || got.ID != p.ID {
		t.Errorf("GetProjectByRoot(updated long root) = %+v, %v, want project %s", got, err, p.ID)
	}
	if _, err := s.GetProjectByRoot(ctx, a); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProjectByRoot(old long root) error = %v, want ErrNotFound", err)
	}
}

func testCanceled(t *testing.T, open func(t *testing.T) store.Store) {
	s := setup(t, open)
	p := create(t, s, "a", "/a")
	name := "b"

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()

	for _, c := range []struct {
		ctx  context.Context
		want error
	}{
		{canceled, context.Canceled},
		{expired, context.DeadlineExceeded},
	} {
		calls := []struct {
			name string
			call func(ctx context.Context) error
		}{
			{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
			{"Migrate", func(ctx context.Context) error { _, err := s.Migrate(ctx); return err }},
			{"MigrationStatus", func(ctx context.Context) error { _, err := s.MigrationStatus(ctx); return err }},
			{"CreateProject", func(ctx context.Context) error {
				_, err := s.CreateProject(ctx, store.Project{Name: "c", Root: "/c"})
				return err
			}},
			{"GetProject", func(ctx context.Context) error { _, err := s.GetProject(ctx, p.ID); return err }},
			{"GetProjectByRoot", func(ctx context.Context) error { _, err := s.GetProjectByRoot(ctx, p.Root); return err }},
			{"ListProjects", func(ctx context.Context) error { _, _, err := s.ListProjects(ctx, store.ListOptions{}); return err }},
			{"UpdateProject", func(ctx context.Context) error {
				_, err := s.UpdateProject(ctx, p.ID, store.ProjectUpdate{Name: &name})
				return err
			}},
			{"DeleteProject", func(ctx context.Context) error { return s.DeleteProject(ctx, p.ID) }},
		}
		for _, call := range calls {
			done := make(chan error, 1)
			go func() { done <- call.call(c.ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, c.want) {
					t.Errorf("%s(%v context) = %v, want %v", call.name, c.want, err, c.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s(%v context) has not returned after 30s", call.name, c.want)
			}
		}
	}
	// Nothing changed, and the store still works.
	if got := get(t, s, p.ID); got != p {
		t.Errorf("project after canceled calls = %+v, want it unchanged %+v", got, p)
	}
	if _, err := s.GetProjectByRoot(t.Context(), "/c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetProjectByRoot(/c) after a canceled create error = %v, want ErrNotFound", err)
	}
}
