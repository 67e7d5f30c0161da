package filetree

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/workspace/filetree/filetreetest"
)

func write(t testing.TB, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setup opens a Tree over dir.
func setup(t testing.TB, dir string, cfg *Config) *Tree {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := New(root, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tree.Close()
		root.Close()
	})
	return tree
}

func paths(es []Entry) []string {
	var out []string
	for _, e := range es {
		p := e.Path
		if e.Dir {
			p += "/"
		}
		out = append(out, p)
	}
	return out
}

func listAll(t testing.TB, tree *Tree, opt ListOptions) []string {
	t.Helper()
	var all []string
	for {
		page, more, err := tree.List(t.Context(), opt)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, paths(page)...)
		if !more {
			return all
		}
		opt.After = page[len(page)-1].Path
	}
}

// TestIgnoreAgreesWithGit checks the .gitignore rules against git itself:
// for a tree with nested .gitignore files and info/exclude, the files
// listed are exactly those git ls-files --others --exclude-standard lists.
func TestIgnoreAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	if err := filetreetest.Git(dir, "init", "-q"); err != nil {
		t.Fatal(err)
	}
	write(t, dir, ".git/info/exclude", "secret.txt\n")
	write(t, dir, ".gitignore", strings.Join([]string{
		"# comment", "*.log", "!keep.log", "/rootonly.txt", "build/", "docs/**/*.tmp",
		"**/cache", "a/**/z.txt", "[!k]x.md", `\#hash.txt`, "trailing.txt   ", "dironly/",
	}, "\n"))
	write(t, dir, "sub/.gitignore", "*.go\n!main.go\n/local.txt\n")
	for _, f := range []string{
		"app.log", "keep.log", "sub/x.log", "rootonly.txt", "sub/rootonly.txt",
		"build/out", "sub/build/out", "docs/a/b.tmp", "docs/b.tmp", "docs/b.txt", "x/cache/c", "cache",
		"a/z.txt", "a/b/c/z.txt", "b/z.txt", "ax.md", "kx.md", "#hash.txt", "trailing.txt",
		"dironly", "sub/dironly/f", "secret.txt", "sub/secret.txt",
		"sub/lib.go", "sub/main.go", "sub/local.txt", "sub/deeper/local.txt", "sub/deeper/z.go", "plain.txt",
	} {
		write(t, dir, f, f)
	}
	out, err := exec.Command("git", "-C", dir, "ls-files", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))
	slices.Sort(want)

	tree := setup(t, dir, &Config{MaxWatches: -1})
	files, err := tree.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if !slices.Equal(files, want) {
		t.Errorf("files = %v\ngit lists %v", files, want)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a-c.txt", "a/b.txt", "a/c/d.go", "b.go", "z/y.txt"} {
		write(t, dir, f, "x")
	}
	if err := os.Symlink("a/b.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	tree := setup(t, dir, &Config{MaxWatches: -1, Exclude: []string{"z"}})

	want := []string{"a/", "a/b.txt", "a/c/", "a/c/d.go", "a-c.txt", "b.go", "link"}
	for _, limit := range []int{1, 2, 3, 100} {
		if got := listAll(t, tree, ListOptions{Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
	}
	g, err := CompileGlob([]string{"*.go"})
	if err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, tree, ListOptions{Match: g, Limit: 1}); !slices.Equal(got, []string{"a/c/d.go", "b.go"}) {
		t.Errorf("*.go = %v", got)
	}
	g, _ = CompileGlob([]string{"a/**/*.go"})
	if got := listAll(t, tree, ListOptions{Match: g}); !slices.Equal(got, []string{"a/c/d.go"}) {
		t.Errorf("a/**/*.go = %v", got)
	}
	if got := listAll(t, tree, ListOptions{Under: "a", Limit: 1}); !slices.Equal(got, []string{"a/b.txt", "a/c/", "a/c/d.go"}) {
		t.Errorf("under a = %v", got)
	}
	if _, _, err := tree.List(t.Context(), ListOptions{Under: "b.go"}); err == nil {
		t.Error("listing under a file succeeded")
	}
	page, _, _ := tree.List(t.Context(), ListOptions{})
	for _, e := range page {
		if e.Path == "a/b.txt" && (e.Size != 1 || e.ModTime == 0 || e.Dir) {
			t.Errorf("a/b.txt = %+v", e)
		}
		if e.Path == "link" && !e.Link {
			t.Errorf("link = %+v, want a link", e)
		}
	}
	if _, err := CompileGlob([]string{"[a"}); err == nil {
		t.Error("CompileGlob([a) succeeded")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func has(t *testing.T, tree *Tree, p string) bool {
	t.Helper()
	return slices.Contains(listAll(t, tree, ListOptions{}), p)
}

// TestWatchAndPoll changes files behind the tree's back, in a watched
// directory and (with a budget of one watch) in polled ones, and checks that
// each change shows, and that the generation moves.
func TestWatchAndPoll(t *testing.T) {
	for _, test := range []struct {
		name string
		cfg  Config
	}{
		{"watched", Config{}},
		{"one watch, the rest polled", Config{MaxWatches: 1, PollInterval: 20 * time.Millisecond}},
		{"polled only", Config{MaxWatches: -1, PollInterval: 20 * time.Millisecond}},
	} {
		t.Run(test.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "a/deep/x.txt", "x")
			tree := setup(t, dir, &test.cfg)
			if !has(t, tree, "a/deep/x.txt") {
				t.Fatal("x.txt missing")
			}
			gen := tree.Generation()
			write(t, dir, "a/deep/new.txt", "new")
			waitFor(t, "new file", func() bool { return has(t, tree, "a/deep/new.txt") })
			if tree.Generation() == gen {
				t.Error("generation did not move")
			}
			write(t, dir, "a/deep/more/inside.txt", "in")
			waitFor(t, "new directory", func() bool { return has(t, tree, "a/deep/more/inside.txt") })
			if err := os.RemoveAll(filepath.Join(dir, "a/deep")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "removal", func() bool { return !has(t, tree, "a/deep/") && !has(t, tree, "a/deep/more/inside.txt") })
			write(t, dir, "a/.gitignore", "*.tmp\n")
			write(t, dir, "a/x.tmp", "x")
			write(t, dir, "a/y.txt", "y")
			waitFor(t, "new .gitignore", func() bool { return has(t, tree, "a/y.txt") })
			if has(t, tree, "a/x.tmp") {
				t.Error("a/x.tmp listed though a/.gitignore ignores it")
			}
		})
	}
}

// TestInvalidateIsImmediate: with no watching and a poll too slow to
// matter, a change the caller reports shows on the next read.
func TestInvalidateIsImmediate(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a/x.txt", "x")
	tree := setup(t, dir, &Config{MaxWatches: -1, PollInterval: time.Hour})
	listAll(t, tree, ListOptions{})
	write(t, dir, "a/y.txt", "yy")
	if has(t, tree, "a/y.txt") {
		t.Fatal("saw a change nobody reported; the test cannot tell Invalidate worked")
	}
	tree.Invalidate("a/y.txt")
	if !has(t, tree, "a/y.txt") {
		t.Error("a/y.txt missing after Invalidate")
	}
	write(t, dir, "a/x.txt", "longer")
	tree.Invalidate("a/x.txt")
	page, _, _ := tree.List(t.Context(), ListOptions{Under: "a"})
	if page[0].Path != "a/x.txt" || page[0].Size != 6 {
		t.Errorf("a/x.txt after a write = %+v, want size 6", page[0])
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	cache := NewCache(1) // smaller than any tree: only the one in use stays
	var trees []*Tree
	for range 3 {
		dir := t.TempDir()
		write(t, dir, "f.txt", "x")
		trees = append(trees, setup(t, dir, &Config{Cache: cache, MaxWatches: -1}))
	}
	for _, tree := range trees {
		listAll(t, tree, ListOptions{})
	}
	for i, tree := range trees {
		tree.mu.Lock()
		loaded := tree.loaded
		tree.mu.Unlock()
		if want := i == len(trees)-1; loaded != want {
			t.Errorf("tree %d loaded = %v, want %v", i, loaded, want)
		}
	}
	if used := cache.Used(); used <= 0 || used > 10_000 {
		t.Errorf("cache holds %d bytes, want the last tree's only", used)
	}
	// An evicted tree reads itself again.
	if got := listAll(t, trees[0], ListOptions{}); !slices.Equal(got, []string{"f.txt"}) {
		t.Errorf("evicted tree lists %v", got)
	}
}

func TestComparePaths(t *testing.T) {
	sorted := []string{"a", "a/b", "a/b/c", "a-c", "a.d", "b", "b/a"}
	for i := range sorted {
		for j := range sorted {
			got := comparePaths(sorted[i], sorted[j])
			if (i < j && got >= 0) || (i > j && got <= 0) || (i == j && got != 0) {
				t.Errorf("comparePaths(%q, %q) = %d", sorted[i], sorted[j], got)
			}
		}
	}
}

// TestHundredThousandFiles lists a generated repository of 100,000 files
// and checks that the listing holds exactly the files git itself lists
// (tracked plus untracked, not ignored), in pages.
func TestHundredThousandFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 files")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := filetreetest.TempDir(t)
	if err := filetreetest.Generate(dir, 100_000); err != nil {
		t.Fatal(err)
	}
	tree := setup(t, dir, nil)
	files, err := tree.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", dir, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))
	if len(want) != 100_001 { // the files and .gitignore
		t.Fatalf("git lists %d files, want 100,001", len(want))
	}
	slices.Sort(files)
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("tree has %d files, git %d; they differ", len(files), len(want))
	}
	var n int
	opt := ListOptions{Limit: 1000}
	for {
		page, more, err := tree.List(t.Context(), opt)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if !more {
			break
		}
		opt.After = page[len(page)-1].Path
	}
	if dirs := 1000 + 10; n != 100_001+dirs {
		t.Errorf("paged listing has %d entries, want %d", n, 100_001+dirs)
	}
}
