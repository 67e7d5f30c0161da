package workspace

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/store"
)

// fakeStore keeps projects in memory with the store's contract: IDs sort in
// creation order, roots are unique, and the sentinels are the store's.
type fakeStore struct {
	mu       sync.Mutex
	projects map[string]store.Project
	seq      int
	creates  int // successful CreateProject calls
	calls    int // calls of any method

	// staleReads makes the next staleReads calls of GetProjectByRoot answer
	// ErrNotFound whatever is stored, as a read that raced another
	// instance's create would.
	staleReads int
}

var _ ProjectStore = (*fakeStore)(nil)

func newFakeStore() *fakeStore { return &fakeStore{projects: map[string]store.Project{}} }

func (s *fakeStore) CreateProject(_ context.Context, p store.Project) (store.Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if p.Name == "" || p.Root == "" {
		return store.Project{}, fmt.Errorf("create project: %w: empty name or root", store.ErrInvalid)
	}
	for _, q := range s.projects {
		if q.Root == p.Root {
			return store.Project{}, fmt.Errorf("create project: %w: root %q is taken", store.ErrConflict, p.Root)
		}
	}
	s.seq++
	s.creates++
	now := time.Now().UTC()
	p = store.Project{ID: fmt.Sprintf("p%04d", s.seq), Name: p.Name, Root: p.Root, CreatedAt: now, UpdatedAt: now}
	s.projects[p.ID] = p
	return p, nil
}

func (s *fakeStore) GetProject(_ context.Context, id string) (store.Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	p, ok := s.projects[id]
	if !ok {
		return store.Project{}, fmt.Errorf("project %q: %w", id, store.ErrNotFound)
	}
	return p, nil
}

func (s *fakeStore) GetProjectByRoot(_ context.Context, root string) (store.Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.staleReads > 0 {
		s.staleReads--
		return store.Project{}, fmt.Errorf("project at %q: %w", root, store.ErrNotFound)
	}
	for _, p := range s.projects {
		if p.Root == root {
			return p, nil
		}
	}
	return store.Project{}, fmt.Errorf("project at %q: %w", root, store.ErrNotFound)
}

func (s *fakeStore) ListProjects(_ context.Context, opt store.ListOptions) ([]store.Project, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if opt.Limit < 0 {
		return nil, "", fmt.Errorf("list projects: %w: negative limit", store.ErrInvalid)
	}
	limit := min(cmp.Or(opt.Limit, store.DefaultListLimit), store.MaxListLimit)
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range s.projects {
			if id > opt.After && !yield(id) {
				return
			}
		}
	})
	var page []store.Project
	for _, id := range ids[:min(limit, len(ids))] {
		page = append(page, s.projects[id])
	}
	if len(ids) > limit {
		return page, page[len(page)-1].ID, nil
	}
	return page, "", nil
}

func (s *fakeStore) UpdateProject(_ context.Context, id string, u store.ProjectUpdate) (store.Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	p, ok := s.projects[id]
	if !ok {
		return store.Project{}, fmt.Errorf("project %q: %w", id, store.ErrNotFound)
	}
	if u.Name != nil {
		p.Name = *u.Name
	}
	if u.Root != nil {
		for _, q := range s.projects {
			if q.ID != id && q.Root == *u.Root {
				return store.Project{}, fmt.Errorf("update project: %w: root %q is taken", store.ErrConflict, *u.Root)
			}
		}
		p.Root = *u.Root
	}
	if p.Name == "" || p.Root == "" {
		return store.Project{}, fmt.Errorf("update project: %w: empty name or root", store.ErrInvalid)
	}
	p.UpdatedAt = time.Now().UTC()
	s.projects[id] = p
	return p, nil
}

func (s *fakeStore) DeleteProject(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if _, ok := s.projects[id]; !ok {
		return fmt.Errorf("project %q: %w", id, store.ErrNotFound)
	}
	delete(s.projects, id)
	return nil
}

// projectsBundle holds what setupProjects made: the fake store behind the
// Projects and a directory with a few entries to use as roots.
type projectsBundle struct {
	store *fakeStore
	dir   string // resolved; holds a/, b/, file, and link -> a
}

func setupProjects(t *testing.T) (*Projects, *projectsBundle) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	mustDo(t, err)
	mustDo(t, os.Mkdir(filepath.Join(dir, "a"), 0o755))
	mustDo(t, os.Mkdir(filepath.Join(dir, "b"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))
	mustDo(t, os.Symlink("a", filepath.Join(dir, "link")))
	st := newFakeStore()
	return NewProjects(st, nil), &projectsBundle{store: st, dir: dir}
}

// invalidNames are refused by Create, Update and EnsureFolder alike.
var invalidNames = []string{
	"",
	"   \t ",
	strings.Repeat("x", MaxNameLen+1),
	strings.Repeat("é", MaxNameLen+1),
	"bell\a",
	"two\nlines",
	"nul\x00",
	"del\x7f",
	"next\u0085line", // NEL: space at the ends, so trimmed there
	"evil\u202Etxt.exe",
	"isolate\u2066",
	"bad utf-8 \xff",
}

// invalidRoots are refused by Create and Update; {dir} is the bundle's dir.
var invalidRoots = []string{
	"",
	"relative/dir",
	"./a",
	"{dir}/missing",
	"{dir}/file",
	"{dir}/a\x00",
	"/" + strings.Repeat("x/", MaxPathLen/2),
}

func TestProjectsCreate(t *testing.T) {
	ctx := t.Context()
	projects, b := setupProjects(t)
	a := filepath.Join(b.dir, "a")

	got, err := projects.Create(ctx, "  Alpha  ", b.dir+"/b/../a/")
	if err != nil || got.Name != "Alpha" || got.Root != a || got.ID == "" {
		t.Errorf("Create(%q, %q) = %+v, %v, want name %q, root %q", "  Alpha  ", b.dir+"/b/../a/", got, err, "Alpha", a)
	}
	long := strings.Repeat("é", MaxNameLen)
	if got, err := projects.Create(ctx, long, filepath.Join(b.dir, "b")); err != nil || got.Name != long {
		t.Errorf("Create(200 × é) = %+v, %v, want it created", got, err)
	}
	// The same directory by another spelling is the same root.
	for _, root := range []string{a, filepath.Join(b.dir, "link"), b.dir + "//a/."} {
		if got, err := projects.Create(ctx, "again", root); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Create(%q) = %+v, %v, want error wrapping %v", root, got, err, store.ErrConflict)
		}
	}

	before := b.store.calls
	for _, name := range invalidNames {
		if got, err := projects.Create(ctx, name, filepath.Join(b.dir, "b")); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Create(%q, root) = %+v, %v, want error wrapping %v", name, got, err, store.ErrInvalid)
		}
	}
	for _, root := range invalidRoots {
		root = strings.ReplaceAll(root, "{dir}", b.dir)
		if got, err := projects.Create(ctx, "name", root); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Create(name, %q) = %+v, %v, want error wrapping %v", root, got, err, store.ErrInvalid)
		}
	}
	if b.store.calls != before {
		t.Errorf("invalid Create calls reached the store %d times, want 0", b.store.calls-before)
	}
}

func TestProjectsErrorMessages(t *testing.T) {
	ctx := t.Context()
	projects, b := setupProjects(t)
	for _, test := range []struct {
		name, root string
		want       string
	}{
		{"", b.dir, "project name is empty"},
		{strings.Repeat("x", MaxNameLen+1), b.dir, "201 characters, longer than the limit of 200"},
		{"a\nb", b.dir, `"a\nb": contains control character U+000A`},
		{"a\u202Eb", b.dir, "bidirectional formatting character U+202E"},
		{"ok", "rel", `project root "rel": not an absolute path`},
		{"ok", b.dir + "/file", "not a directory"},
		{"ok", b.dir + "/missing", "no such file or directory"},
	} {
		_, err := projects.Create(ctx, test.name, test.root)
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("Create(%q, %q) = %v, want an error saying %q", test.name, test.root, err, test.want)
		}
	}
}

func TestProjectsGetListUpdateDelete(t *testing.T) {
	ctx := t.Context()
	projects, b := setupProjects(t)
	a, err := projects.Create(ctx, "A", filepath.Join(b.dir, "a"))
	mustDo(t, err)
	bb, err := projects.Create(ctx, "B", filepath.Join(b.dir, "b"))
	mustDo(t, err)

	if got, err := projects.Get(ctx, a.ID); err != nil || got != a {
		t.Errorf("Get(%q) = %+v, %v, want %+v", a.ID, got, err, a)
	}
	if got, err := projects.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%q) = %+v, %v, want error wrapping %v", "nope", got, err, store.ErrNotFound)
	}

	page, next, err := projects.List(ctx, store.ListOptions{Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != a.ID || next == "" {
		t.Fatalf("List(limit 1) = %+v, %q, %v, want [%s] and a cursor", page, next, err, a.ID)
	}
	page, next, err = projects.List(ctx, store.ListOptions{After: next, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != bb.ID || next != "" {
		t.Errorf("List(after %s) = %+v, %q, %v, want [%s] and no cursor", a.ID, page, next, err, bb.ID)
	}
	if _, _, err := projects.List(ctx, store.ListOptions{Limit: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("List(limit -1) = %v, want error wrapping %v", err, store.ErrInvalid)
	}

	name, root := "  Renamed ", filepath.Join(b.dir, "link") // link -> a: a's own root
	got, err := projects.Update(ctx, a.ID, store.ProjectUpdate{Name: &name, Root: &root})
	if err != nil || got.Name != "Renamed" || got.Root != a.Root {
		t.Errorf("Update(name %q, root %q) = %+v, %v, want name %q, root %q", name, root, got, err, "Renamed", a.Root)
	}
	if name != "  Renamed " || root != filepath.Join(b.dir, "link") {
		t.Errorf("Update changed the caller's fields to %q, %q", name, root)
	}
	if got, err := projects.Update(ctx, a.ID, store.ProjectUpdate{Root: &bb.Root}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Update(root of B) = %+v, %v, want error wrapping %v", got, err, store.ErrConflict)
	}
	if got, err := projects.Update(ctx, "nope", store.ProjectUpdate{Name: &name}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update(%q) = %+v, %v, want error wrapping %v", "nope", got, err, store.ErrNotFound)
	}
	for _, bad := range invalidNames {
		if got, err := projects.Update(ctx, a.ID, store.ProjectUpdate{Name: &bad}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Update(name %q) = %+v, %v, want error wrapping %v", bad, got, err, store.ErrInvalid)
		}
	}
	for _, bad := range invalidRoots {
		bad = strings.ReplaceAll(bad, "{dir}", b.dir)
		if got, err := projects.Update(ctx, a.ID, store.ProjectUpdate{Root: &bad}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Update(root %q) = %+v, %v, want error wrapping %v", bad, got, err, store.ErrInvalid)
		}
	}
	if got, err := projects.Get(ctx, a.ID); err != nil || got.Name != "Renamed" || got.Root != a.Root {
		t.Errorf("after refused updates, Get = %+v, %v, want name %q, root %q", got, err, "Renamed", a.Root)
	}

	mustDo(t, projects.Delete(ctx, a.ID))
	if err := projects.Delete(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete(%q) twice = %v, want error wrapping %v", a.ID, err, store.ErrNotFound)
	}
	if _, err := os.Stat(a.Root); err != nil {
		t.Errorf("Delete removed the project's directory: %v", err)
	}
}

func TestEnsureFolder(t *testing.T) {
	ctx := t.Context()
	projects, b := setupProjects(t)
	a := filepath.Join(b.dir, "a")

	first, err := projects.EnsureFolder(ctx, "file://"+a, "")
	if err != nil || first.Name != "a" || first.Root != a {
		t.Fatalf("EnsureFolder(%q, \"\") = %+v, %v, want a project named %q at %q", "file://"+a, first, err, "a", a)
	}
	// Again, by other spellings and with another name: the same project.
	for _, uri := range []string{
		"file://" + a,
		"file://" + a + "/",
		"file://localhost" + a,
		"file://" + filepath.Join(b.dir, "link"),
		"file://" + b.dir + "/b/../%61",
	} {
		if got, err := projects.EnsureFolder(ctx, uri, "Other Name"); err != nil || got != first {
			t.Errorf("EnsureFolder(%q) = %+v, %v, want %+v", uri, got, err, first)
		}
	}
	if b.store.creates != 1 {
		t.Errorf("store holds %d created projects, want 1", b.store.creates)
	}

	named, err := projects.EnsureFolder(ctx, "file://"+filepath.Join(b.dir, "b"), "  Bee ")
	if err != nil || named.Name != "Bee" {
		t.Errorf("EnsureFolder(b, %q) = %+v, %v, want name %q", "  Bee ", named, err, "Bee")
	}

	before := b.store.calls
	for _, uri := range []string{
		"",
		a,
		"http://example.com" + a,
		"file://example.com" + a,
		"file://" + a + "?x",
		"file://" + b.dir + "/missing",
		"file://" + b.dir + "/file",
		"file://" + a + "%00",
	} {
		if got, err := projects.EnsureFolder(ctx, uri, ""); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("EnsureFolder(%q) = %+v, %v, want error wrapping %v", uri, got, err, store.ErrInvalid)
		}
	}
	for _, name := range invalidNames[2:] { // the first two are empty after trimming: defaulted
		if got, err := projects.EnsureFolder(ctx, "file://"+a, name); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("EnsureFolder(a, %q) = %+v, %v, want error wrapping %v", name, got, err, store.ErrInvalid)
		}
	}
	if b.store.calls != before {
		t.Errorf("invalid EnsureFolder calls reached the store %d times, want 0", b.store.calls-before)
	}
}

// TestEnsureFolderLosesTheRace makes the first lookup miss a project another
// instance has already created, so the create conflicts and EnsureFolder
// must read the winner back.
func TestEnsureFolderLosesTheRace(t *testing.T) {
	ctx := t.Context()
	projects, b := setupProjects(t)
	a := filepath.Join(b.dir, "a")
	winner, err := projects.Create(ctx, "winner", a)
	mustDo(t, err)

	b.store.staleReads = 1
	got, err := projects.EnsureFolder(ctx, "file://"+a, "loser")
	if err != nil || got != winner {
		t.Errorf("EnsureFolder after a stale read = %+v, %v, want %+v", got, err, winner)
	}

	b.store.staleReads = 2 // the read-back misses too: nothing to return
	if got, err := projects.EnsureFolder(ctx, "file://"+a, "loser"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EnsureFolder after two stale reads = %+v, %v, want error wrapping %v", got, err, store.ErrNotFound)
	}
}

func TestEnsureFolderConcurrent(t *testing.T) {
	ctx := t.Context()
	projects, b := setupProjects(t)
	uris := []string{"file://" + filepath.Join(b.dir, "a"), "file://" + filepath.Join(b.dir, "link")}

	const n = 32
	got := make([]store.Project, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = projects.EnsureFolder(ctx, uris[i%2], "") })
	}
	wg.Wait()

	for i := range n {
		if errs[i] != nil || got[i] != got[0] {
			t.Errorf("call %d: EnsureFolder = %+v, %v, want %+v like call 0", i, got[i], errs[i], got[0])
		}
	}
	if b.store.creates != 1 {
		t.Errorf("store created %d projects, want 1", b.store.creates)
	}
}

func TestFolderName(t *testing.T) {
	for _, test := range []struct {
		root, want string
	}{
		{"/home/me/src/gathering", "gathering"},
		{"/", "/"},
		{"/x/two\nlines", "two\uFFFDlines"},
		{"/x/rtl\u202Eexe", "rtl\uFFFDexe"},
		{"/x/latin1-\xe9", "latin1-\uFFFD"},
		{"/x/" + strings.Repeat("é", 250), strings.Repeat("é", MaxNameLen)},
	} {
		got := folderName(test.root)
		if got != test.want {
			t.Errorf("folderName(%q) = %q, want %q", test.root, got, test.want)
		}
		if _, err := checkName(got); err != nil {
			t.Errorf("folderName(%q) = %q, which checkName refuses: %v", test.root, got, err)
		}
	}
}

func TestEnsureFolderLogsCreation(t *testing.T) {
	var buf bytes.Buffer
	st := newFakeStore()
	projects := NewProjects(st, &ProjectsConfig{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	dir, err := filepath.EvalSymlinks(t.TempDir())
	mustDo(t, err)

	for range 2 {
		_, err := projects.EnsureFolder(t.Context(), "file://"+dir, "")
		mustDo(t, err)
	}
	if got := strings.Count(buf.String(), "project created for workspace folder"); got != 1 {
		t.Errorf("two EnsureFolder calls logged %d creations, want 1; log:\n%s", got, buf.String())
	}
	if !strings.Contains(buf.String(), "root="+dir) {
		t.Errorf("creation log %q does not name the root %q", buf.String(), dir)
	}
}
