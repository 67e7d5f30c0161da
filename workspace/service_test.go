package workspace

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace/filetree/filetreetest"
	"github.com/gathering-dev/gathering/workspace/git"
	"github.com/gathering-dev/gathering/workspace/search"
)

// oneProject is a ProjectLookup with a single project.
type oneProject struct{ p store.Project }

func (o oneProject) Get(_ context.Context, id string) (store.Project, error) {
	if id != o.p.ID {
		return store.Project{}, store.ErrNotFound
	}
	return o.p, nil
}

// setupProject opens a project over a new directory (a git repository
// when repo is set) with watching off, so that only the backend's own
// changes and explicit polls reach the tree.
func setupProject(t *testing.T, repo bool) (*Project, string) {
	t.Helper()
	dir := t.TempDir()
	if repo {
		if _, err := exec.LookPath("git"); err != nil {
			t.Skip("git not installed")
		}
		mustDo(t, filetreetest.Git(dir, "init", "-q", "-b", "main"))
	}
	svc := NewService(oneProject{store.Project{ID: "p1", Root: dir}}, &Config{MaxWatches: -1, PollInterval: time.Hour})
	t.Cleanup(func() { svc.Close() })
	p, err := svc.Project(t.Context(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Project(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Project(nope) = %v, want store.ErrNotFound", err)
	}
	return p, dir
}

func TestWriteNeedsTheExpectedVersion(t *testing.T) {
	p, dir := setupProject(t, false)
	ctx := t.Context()
	f, changes, err := p.Write(ctx, "a/b.txt", []byte("one"), WriteOptions{MakeParents: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Change{{"a", Created}, {"a/b.txt", Created}}; !slices.Equal(changes, want) {
		t.Errorf("changes = %v, want %v", changes, want)
	}
	if f.Version != Version([]byte("one")) {
		t.Errorf("version = %s", f.Version)
	}
	// Creating again is a conflict: the file exists.
	if _, _, err := p.Write(ctx, "a/b.txt", []byte("two"), WriteOptions{}); !errors.Is(err, ErrConflict) {
		t.Errorf("second create = %v, want ErrConflict", err)
	}
	// Someone else changes the file: the old version is a conflict and the
	// file keeps their contents.
	mustDo(t, os.WriteFile(filepath.Join(dir, "a/b.txt"), []byte("theirs"), 0o644))
	if _, _, err := p.Write(ctx, "a/b.txt", []byte("mine"), WriteOptions{ExpectedVersion: f.Version}); !errors.Is(err, ErrConflict) {
		t.Errorf("stale write = %v, want ErrConflict", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "a/b.txt")); string(data) != "theirs" {
		t.Errorf("file = %q after a refused write", data)
	}
	r, err := p.Read(ctx, "a/b.txt", 0)
	if err != nil || string(r.Content) != "theirs" || r.Binary {
		t.Fatalf("read = %+v, %v", r, err)
	}
	if _, changes, err = p.Write(ctx, "a/b.txt", []byte("mine"), WriteOptions{ExpectedVersion: r.Version}); err != nil || changes[0].Type != Changed {
		t.Errorf("write at the current version = %v, %v", changes, err)
	}
	if _, _, err := p.Write(ctx, "a/c.txt", make([]byte, DefaultMaxWriteBytes+1), WriteOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized write = %v, want ErrTooLarge", err)
	}
	if _, _, err := p.Write(ctx, "x/y/z.txt", []byte("z"), WriteOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("write without parents = %v, want ErrNotFound", err)
	}
}

func TestReadBinaryAndLimits(t *testing.T) {
	p, dir := setupProject(t, false)
	mustDo(t, os.WriteFile(filepath.Join(dir, "bin"), []byte("a\x00b"), 0o644))
	mustDo(t, os.WriteFile(filepath.Join(dir, "latin1"), []byte("caf\xe9"), 0o644))
	mustDo(t, os.WriteFile(filepath.Join(dir, "big"), make([]byte, 100), 0o644))
	for _, name := range []string{"bin", "latin1"} {
		f, err := p.Read(t.Context(), name, 0)
		if err != nil || !f.Binary || f.Content != nil || f.Size == 0 {
			t.Errorf("Read(%s) = %+v, %v; want binary, no content", name, f, err)
		}
	}
	if _, err := p.Read(t.Context(), "big", 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Read over the limit = %v, want ErrTooLarge", err)
	}
	if _, err := p.Read(t.Context(), "missing", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read(missing) = %v, want ErrNotFound", err)
	}
	mustDo(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	if _, err := p.Read(t.Context(), "d", 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Read(directory) = %v, want ErrInvalid", err)
	}
}

func TestDeleteRenameMkdir(t *testing.T) {
	p, dir := setupProject(t, false)
	ctx := t.Context()
	mustDo(t, os.Mkdir(filepath.Join(dir, "other"), 0o755))
	if _, err := p.Tree(ctx, TreeOptions{}); err != nil { // loaded: from now on it is kept current
		t.Fatal(err)
	}
	if _, err := p.Mkdir(ctx, "d/e"); err != nil {
		t.Fatal(err)
	}
	f, _, err := p.Write(ctx, "d/e/f.txt", []byte("f"), WriteOptions{})
	mustDo(t, err)
	if _, err := p.Delete(ctx, "d", DeleteOptions{}); !errors.Is(err, ErrConflict) {
		t.Errorf("deleting a full directory without recursive = %v, want ErrConflict", err)
	}
	if _, err := p.Delete(ctx, "d/e/f.txt", DeleteOptions{ExpectedVersion: Version([]byte("other"))}); !errors.Is(err, ErrConflict) {
		t.Errorf("delete at a stale version = %v, want ErrConflict", err)
	}
	mustDo(t, os.WriteFile(filepath.Join(dir, "other/g.txt"), []byte("g"), 0o644))
	if _, err := p.Rename(ctx, "d/e/f.txt", "other/g.txt", false); !errors.Is(err, ErrConflict) {
		t.Errorf("rename onto an existing file = %v, want ErrConflict", err)
	}
	changes, err := p.Rename(ctx, "d/e/f.txt", "d/moved.txt", false)
	if err != nil || len(changes) != 2 {
		t.Fatalf("rename = %v, %v", changes, err)
	}
	if _, err := p.Delete(ctx, "d/moved.txt", DeleteOptions{ExpectedVersion: f.Version}); err != nil {
		t.Errorf("delete at the current version = %v", err)
	}
	if _, err := p.Delete(ctx, "d", DeleteOptions{Recursive: true}); err != nil {
		t.Errorf("recursive delete = %v", err)
	}
	page, err := p.Tree(ctx, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Entries {
		got = append(got, e.Path)
	}
	// Watching is off: the tree knows of these changes only because the
	// backend made them, and of other/g.txt not at all.
	if !slices.Equal(got, []string{"other"}) {
		t.Errorf("tree = %v, want [other] (other/g.txt was written behind the backend's back)", got)
	}
	if _, err := p.Delete(ctx, "d", DeleteOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of a missing path = %v, want ErrNotFound", err)
	}
}

// TestTreeGitStatusIsNeverStale changes the repository through the backend
// and through git, and checks each tree page shows the status as it is.
func TestTreeGitStatusIsNeverStale(t *testing.T) {
	p, _ := setupProject(t, true)
	ctx := t.Context()
	status := func() map[string]string {
		t.Helper()
		page, err := p.Tree(ctx, TreeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !page.Git {
			t.Fatal("tree does not know the project is a repository")
		}
		m := map[string]string{}
		for i, e := range page.Entries {
			m[e.Path] = page.GitStatus(i)
		}
		return m
	}
	_, _, err := p.Write(ctx, "src/a.go", []byte("package a\n"), WriteOptions{MakeParents: true})
	mustDo(t, err)
	if st := status(); st["src/a.go"] != "??" || st["src"] != "??" {
		t.Errorf("after a write: %v, want src and src/a.go untracked", st)
	}
	repo, err := p.Git(ctx)
	mustDo(t, err)
	mustDo(t, repo.Stage(ctx, []string{"src/a.go"}))
	p.GitChanged()
	if st := status(); st["src/a.go"] != "A " {
		t.Errorf("after staging: %v, want src/a.go added", st)
	}
	_, err = repo.Commit(ctx, "first", gitAuthor)
	mustDo(t, err)
	p.GitChanged()
	f, err := p.Read(ctx, "src/a.go", 0)
	mustDo(t, err)
	_, _, err = p.Write(ctx, "src/a.go", []byte("package a // changed\n"), WriteOptions{ExpectedVersion: f.Version})
	mustDo(t, err)
	if st := status(); st["src/a.go"] != " M" {
		t.Errorf("after a commit and a write: %v, want src/a.go modified", st)
	}
}

func TestSearchThroughTheTree(t *testing.T) {
	p, _ := setupProject(t, false)
	ctx := t.Context()
	for name, data := range map[string]string{".gitignore": "out/\n", "a.go": "// TODO one\n", "b.txt": "TODO two\n", "out/c.go": "// TODO ignored\n", "sub/d.go": "// TODO three\n"} {
		_, _, err := p.Write(ctx, name, []byte(data), WriteOptions{MakeParents: true})
		mustDo(t, err)
	}
	res, err := p.Search(ctx, SearchOptions{Options: search.Options{Query: "todo"}, Include: []string{"*.go"}})
	mustDo(t, err)
	var got []string
	for _, m := range res.Matches {
		got = append(got, m.Path)
	}
	if !slices.Equal(got, []string{"a.go", "sub/d.go"}) {
		t.Errorf("search *.go = %v, want a.go and sub/d.go (out/ is ignored)", got)
	}
	res, err = p.Search(ctx, SearchOptions{Options: search.Options{Query: "TODO", CaseSensitive: true}, Under: "sub"})
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Path != "sub/d.go" {
		t.Errorf("search under sub = %+v, %v", res, err)
	}
	if _, err := p.Search(ctx, SearchOptions{Options: search.Options{Query: "("}, Include: nil}); err != nil {
		t.Errorf("a literal ( = %v", err)
	}
	if _, err := p.Search(ctx, SearchOptions{Options: search.Options{Query: "(", Regex: true}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("regex ( = %v, want ErrInvalid", err)
	}
}

var gitAuthor = git.Author{Name: "Test", Email: "test@example.com"}
