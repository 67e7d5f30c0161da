package workspace

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rootBundle is what setupRoot lays out: a project root beside a directory it
// must never reach, with symbolic links from the one to the other.
type rootBundle struct {
	dir     string // the project root
	outside string // a sibling directory holding secret
	secret  []byte // contents of outside/secret
}

// setupRoot builds this tree in a temporary directory and opens root/:
//
//	outside/secret          the file nothing may read, write or remove
//	root/inside.txt         "inside"
//	root/sub/               an empty directory
//	root/dirlink     -> ../outside         (relative link out)
//	root/absdirlink  -> <abs>/outside      (absolute link out)
//	root/filelink    -> ../outside/secret
//	root/absfilelink -> <abs>/outside/secret
func setupRoot(t *testing.T) (*Root, *rootBundle) {
	t.Helper()
	base := t.TempDir()
	b := &rootBundle{
		dir:     filepath.Join(base, "root"),
		outside: filepath.Join(base, "outside"),
		secret:  []byte("top secret"),
	}
	mustDo(t, os.Mkdir(b.outside, 0o755))
	mustDo(t, os.WriteFile(filepath.Join(b.outside, "secret"), b.secret, 0o644))
	mustDo(t, os.MkdirAll(filepath.Join(b.dir, "sub"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(b.dir, "inside.txt"), []byte("inside"), 0o644))
	for link, target := range map[string]string{
		"dirlink":     "../outside",
		"absdirlink":  b.outside,
		"filelink":    "../outside/secret",
		"absfilelink": filepath.Join(b.outside, "secret"),
	} {
		mustDo(t, os.Symlink(target, filepath.Join(b.dir, link)))
	}
	r, err := OpenRoot(b.dir)
	if err != nil {
		t.Fatalf("OpenRoot(%q) = %v", b.dir, err)
	}
	t.Cleanup(func() { r.Close() })
	return r, b
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot maps every path beneath dir to its contents, a link's target, or
// "dir", without following links, so a test sees any change at all.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			tree[rel] = "dir"
		case d.Type() == fs.ModeSymlink:
			target, err := os.Readlink(p)
			tree[rel] = "link to " + target
			return err
		default:
			data, err := os.ReadFile(p)
			tree[rel] = string(data)
			return err
		}
		return nil
	})
	mustDo(t, err)
	return tree
}

// rootOps calls every Root method that takes a path with p in that path's
// place. Rename is tried from p and to p. Each returns what it read, so a
// test can check that nothing leaked.
var rootOps = []struct {
	name string
	do   func(r *Root, p string) ([]byte, error)
}{
	{"ReadFile", func(r *Root, p string) ([]byte, error) { return r.ReadFile(p, 1<<20) }},
	{"WriteFile", func(r *Root, p string) ([]byte, error) { return nil, r.WriteFile(p, []byte("pwned"), 0o644) }},
	{"Stat", func(r *Root, p string) ([]byte, error) {
		info, err := r.Stat(p)
		if info != nil {
			return []byte(info.Name()), err
		}
		return nil, err
	}},
	{"Remove", func(r *Root, p string) ([]byte, error) { return nil, r.Remove(p) }},
	{"Rename from", func(r *Root, p string) ([]byte, error) { return nil, r.Rename(p, "moved.txt") }},
	{"Rename to", func(r *Root, p string) ([]byte, error) { return nil, r.Rename("inside.txt", p) }},
	{"MkdirAll", func(r *Root, p string) ([]byte, error) { return nil, r.MkdirAll(p, 0o755) }},
	{"ReadDir", func(r *Root, p string) ([]byte, error) {
		entries, err := r.ReadDir(p)
		var names []byte
		for _, e := range entries {
			names = append(names, e.Name()...)
		}
		return names, err
	}},
}

// TestRootRefusesEscapes tries every way out of the root against every
// method, on a real tree with a real file outside, and checks both that the
// method fails with the specific sentinel and that nothing changed on either
// side of the root.
func TestRootRefusesEscapes(t *testing.T) {
	long := strings.Repeat("a/", MaxPathLen/2) + "x"
	for _, test := range []struct {
		name string
		path string
		// uri is what RelFromURI gets: {root} and {outside} stand for the
		// absolute directories. It names the same file as path where a URI
		// can.
		uri  string
		want error
	}{
		{"parent", "..", "file://{root}/..", ErrPathEscapes},
		{"dot-dot", "../outside/secret", "file://{root}/../outside/secret", ErrPathEscapes},
		{"dot-dot after a directory", "sub/../../outside/secret", "file://{root}/sub/../../outside/secret", ErrPathEscapes},
		{"dot-dot to the top", "../../../../../../../../etc/passwd", "file://{root}/../../../../../../../../etc/passwd", ErrPathEscapes},
		{"absolute", "{outside}/secret", "file://{outside}/secret", ErrPathEscapes},
		{"encoded dot-dot", "%2e%2e/outside/secret", "file://{root}/%2e%2e/outside/secret", ErrPathEscapes},
		{"encoded dot-dot, upper case", "%2E%2E/outside/secret", "file://{root}/%2E%2E/outside/secret", ErrPathEscapes},
		{"encoded dot-dot, mixed", ".%2E/outside/secret", "file://{root}/.%2E/outside/secret", ErrPathEscapes},
		{"double-encoded dot-dot", "%252e%252e/outside/secret", "file://{root}/%252e%252e/outside/secret", ErrPathEscapes},
		{"double-encoded dot-dot, mixed case", "%252E%252e/outside/secret", "file://{root}/%252E%252e/outside/secret", ErrPathEscapes},
		{"encoded slash and dot-dot", "%2e%2e%2foutside%2fsecret", "file://{root}%2f%2e%2e%2foutside%2fsecret", ErrPathEscapes},
		{"drive letter", "C:/Windows/win.ini", "file://{root}/C:/Windows/win.ini", ErrPathEscapes},
		{"link to a directory outside", "dirlink/secret", "file://{root}/dirlink/secret", ErrPathEscapes},
		{"absolute link to a directory outside", "absdirlink/secret", "file://{root}/absdirlink/secret", ErrPathEscapes},
		{"new file under a link outside", "dirlink/new", "file://{root}/dirlink/new", ErrPathEscapes},
		{"empty", "", "", ErrInvalidPath},
		{"NUL", "inside.txt\x00.png", "file://{root}/inside.txt%00.png", ErrInvalidPath},
		{"backslashes", `..\outside\secret`, `file://{root}/..\outside\secret`, ErrInvalidPath},
		{"backslash after a directory", `sub\..\..\outside\secret`, `file://{root}/sub%5C..%5C..%5Coutside%5Csecret`, ErrInvalidPath},
		{"Windows absolute", `C:\Windows\win.ini`, `file://{root}/C:\Windows\win.ini`, ErrInvalidPath},
		{"UNC", `\\server\share\secret`, `file://{root}/\\server\share\secret`, ErrInvalidPath},
		{"encoded dot", "sub/%2e/x", "file://{root}/sub/%252e/x", ErrInvalidPath},
		{"too long", long, "file://{root}/" + long, ErrInvalidPath},
	} {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			for _, op := range rootOps {
				r, b := setupRoot(t)
				p := strings.ReplaceAll(test.path, "{outside}", b.outside)
				beforeIn, beforeOut := snapshot(t, b.dir), snapshot(t, b.outside)

				got, err := op.do(r, p)

				if !isOnly(err, test.want) {
					t.Errorf("%s(%q) = %v, want error wrapping %v", op.name, p, err, test.want)
				}
				if got != nil {
					t.Errorf("%s(%q) returned %q along with its error", op.name, p, got)
				}
				if after := snapshot(t, b.dir); !maps.Equal(after, beforeIn) {
					t.Errorf("%s(%q) changed the root: %v, was %v", op.name, p, after, beforeIn)
				}
				if after := snapshot(t, b.outside); !maps.Equal(after, beforeOut) {
					t.Errorf("%s(%q) changed the directory outside: %v, was %v", op.name, p, after, beforeOut)
				}
			}

			r, b := setupRoot(t)
			uri := strings.NewReplacer("{root}", b.dir, "{outside}", b.outside).Replace(test.uri)
			if got, err := r.RelFromURI(uri); !isOnly(err, test.want) || got != "" {
				t.Errorf("RelFromURI(%q) = %q, %v, want error wrapping %v", uri, got, err, test.want)
			}
		})
	}
}

// TestRootLinkToFileOutside covers a link that is itself inside the root but
// leads to a file outside: following it is refused, while removing or
// renaming the link touches only the link.
func TestRootLinkToFileOutside(t *testing.T) {
	for _, link := range []string{"filelink", "absfilelink"} {
		for _, op := range rootOps {
			r, b := setupRoot(t)
			beforeOut := snapshot(t, b.outside)

			got, err := op.do(r, link)

			switch op.name {
			case "Remove", "Rename from", "Rename to":
				if err != nil {
					t.Errorf("%s(%q) = %v, want the link itself moved or removed", op.name, link, err)
				}
				if _, err := os.Lstat(filepath.Join(b.dir, link)); op.name != "Rename to" && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("after %s(%q), the link is still there (Lstat: %v)", op.name, link, err)
				}
			case "MkdirAll":
				if err == nil {
					t.Errorf("%s(%q) = nil, want an error", op.name, link)
				}
			default:
				if !isOnly(err, ErrPathEscapes) || got != nil {
					t.Errorf("%s(%q) = %q, %v, want error wrapping %v", op.name, link, got, err, ErrPathEscapes)
				}
			}
			if after := snapshot(t, b.outside); !maps.Equal(after, beforeOut) {
				t.Errorf("%s(%q) changed the directory outside: %v, was %v", op.name, link, after, beforeOut)
			}
		}
		r, b := setupRoot(t)
		uri := "file://" + filepath.Join(b.dir, link)
		if got, err := r.RelFromURI(uri); !isOnly(err, ErrPathEscapes) {
			t.Errorf("RelFromURI(%q) = %q, %v, want error wrapping %v", uri, got, err, ErrPathEscapes)
		}
	}
}

func TestRootRefusesTheRootWhereAFileIsNeeded(t *testing.T) {
	r, _ := setupRoot(t)
	for _, p := range []string{".", "./", "sub/.."} {
		for name, err := range map[string]error{
			"ReadFile":    second(r.ReadFile(p, 10)),
			"WriteFile":   r.WriteFile(p, nil, 0o644),
			"Remove":      r.Remove(p),
			"Rename from": r.Rename(p, "x"),
			"Rename to":   r.Rename("inside.txt", p),
		} {
			if !isOnly(err, ErrInvalidPath) {
				t.Errorf("%s(%q) = %v, want error wrapping %v", name, p, err, ErrInvalidPath)
			}
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestOpenRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	mustDo(t, os.WriteFile(file, nil, 0o644))

	for _, test := range []struct {
		dir  string
		want error
	}{
		{"relative/dir", ErrInvalidPath},
		{"", ErrInvalidPath},
		{filepath.Join(dir, "missing"), fs.ErrNotExist},
		{file, nil}, // any error: a file is not a directory
	} {
		r, err := OpenRoot(test.dir)
		if err == nil || (test.want != nil && !errors.Is(err, test.want)) {
			t.Errorf("OpenRoot(%q) = %v, %v, want error wrapping %v", test.dir, r, err, test.want)
		}
	}

	r, err := OpenRoot(dir + "/./")
	if err != nil {
		t.Fatalf("OpenRoot(%q) = %v", dir+"/./", err)
	}
	if got := r.Dir(); got != dir {
		t.Errorf("Dir() = %q, want %q", got, dir)
	}
	mustDo(t, r.Close())
	if _, err := r.Stat("file"); err == nil {
		t.Errorf("Stat after Close = nil error, want an error")
	}
}

func TestRootReadFile(t *testing.T) {
	r, b := setupRoot(t)
	mustDo(t, os.WriteFile(filepath.Join(b.dir, "sub", "ten"), []byte("0123456789"), 0o644))

	for _, test := range []struct {
		name    string
		limit   int64
		want    string
		wantErr error
	}{
		{"sub/ten", 10, "0123456789", nil},
		{"./sub//ten", 1 << 62, "0123456789", nil},
		{"sub/ten", 9, "", ErrTooLarge},
		{"sub/ten", 1, "", ErrTooLarge},
		{"sub/missing", 10, "", fs.ErrNotExist},
	} {
		got, err := r.ReadFile(test.name, test.limit)
		if string(got) != test.want || !errors.Is(err, test.wantErr) {
			t.Errorf("ReadFile(%q, %d) = %q, %v, want %q, %v", test.name, test.limit, got, err, test.want, test.wantErr)
		}
	}
	for _, limit := range []int64{0, -1} {
		if got, err := r.ReadFile("sub/ten", limit); err == nil {
			t.Errorf("ReadFile(%q, %d) = %q, nil, want an error", "sub/ten", limit, got)
		}
	}
	if got, err := r.ReadFile("sub", 10); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadFile(%q) = %q, %v, want a not-a-regular-file error", "sub", got, err)
	}
}

func TestRootWriteFile(t *testing.T) {
	r, b := setupRoot(t)

	mustDo(t, r.WriteFile("sub/new.txt", []byte("one"), 0o600))
	mustDo(t, os.Chmod(filepath.Join(b.dir, "inside.txt"), 0o640))
	mustDo(t, r.WriteFile("inside.txt", []byte("replaced"), 0o600))

	for _, test := range []struct {
		name string
		want string
		perm fs.FileMode
	}{
		{"sub/new.txt", "one", 0o600},     // created with perm
		{"inside.txt", "replaced", 0o640}, // kept its own bits, not perm
	} {
		got, err := r.ReadFile(test.name, 100)
		if string(got) != test.want || err != nil {
			t.Errorf("ReadFile(%q) = %q, %v, want %q", test.name, got, err, test.want)
		}
		info, err := r.Stat(test.name)
		if err != nil || info.Mode().Perm() != test.perm {
			t.Errorf("Stat(%q) mode = %v, %v, want %v", test.name, info.Mode().Perm(), err, test.perm)
		}
	}

	if err := r.WriteFile("missing/x.txt", nil, 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteFile into a missing directory = %v, want %v", err, fs.ErrNotExist)
	}
	if err := r.WriteFile("sub", nil, 0o644); err == nil {
		t.Errorf("WriteFile over a directory = nil, want an error")
	}
	// Nothing but the files written is left behind: no temporary files.
	want := []string{"absdirlink", "absfilelink", "dirlink", "filelink", "inside.txt", "sub", "sub/new.txt"}
	if got := slices.Sorted(maps.Keys(snapshot(t, b.dir))); !slices.Equal(got[1:], want) {
		t.Errorf("after writing, the root holds %q, want %q", got[1:], want)
	}
}

// TestRootWriteFileFollowsLinks checks that writing through a link inside the
// root replaces what it leads to and keeps the link.
func TestRootWriteFileFollowsLinks(t *testing.T) {
	r, b := setupRoot(t)
	at := func(name string) string { return filepath.Join(b.dir, name) }
	mustDo(t, os.WriteFile(at("sub/real.txt"), []byte("old"), 0o644))
	mustDo(t, os.Symlink("sub/real.txt", at("link.txt")))
	mustDo(t, os.Symlink("../link.txt", at("sub/chain.txt")))
	mustDo(t, os.Symlink("sub/later.txt", at("dangling.txt")))
	mustDo(t, os.Symlink("loop2", at("loop1")))
	mustDo(t, os.Symlink("loop1", at("loop2")))
	mustDo(t, os.Symlink("sub", at("sublink")))

	for _, test := range []struct {
		write, data   string
		file, wantIn  string // where the data must land
		link, wantLnk string // a link that must survive
	}{
		{"link.txt", "via link", "sub/real.txt", "via link", "link.txt", "sub/real.txt"},
		{"sub/chain.txt", "via chain", "sub/real.txt", "via chain", "sub/chain.txt", "../link.txt"},
		{"dangling.txt", "made", "sub/later.txt", "made", "dangling.txt", "sub/later.txt"},
		{"sublink/real.txt", "via dir link", "sub/real.txt", "via dir link", "sublink", "sub"},
	} {
		if err := r.WriteFile(test.write, []byte(test.data), 0o644); err != nil {
			t.Errorf("WriteFile(%q) = %v", test.write, err)
			continue
		}
		if got, err := os.ReadFile(at(test.file)); string(got) != test.wantIn {
			t.Errorf("after WriteFile(%q), %s = %q, %v, want %q", test.write, test.file, got, err, test.wantIn)
		}
		if got, err := os.Readlink(at(test.link)); got != test.wantLnk {
			t.Errorf("after WriteFile(%q), link %s -> %q, %v, want -> %q", test.write, test.link, got, err, test.wantLnk)
		}
	}
	if err := r.WriteFile("loop1", nil, 0o644); err == nil {
		t.Errorf("WriteFile through a link loop = nil, want an error")
	}
}

func TestRootFiles(t *testing.T) {
	r, b := setupRoot(t)

	mustDo(t, r.MkdirAll("a/b/c", 0o755))
	mustDo(t, r.MkdirAll("a/b/c", 0o755)) // again: no error
	mustDo(t, r.MkdirAll(".", 0o755))
	mustDo(t, r.Rename("inside.txt", "a/b/moved.txt"))
	mustDo(t, r.Remove("a/b/c"))

	info, err := r.Stat(".")
	if err != nil || !info.IsDir() {
		t.Errorf("Stat(\".\") = %v, %v, want the root directory", info, err)
	}
	if _, err := r.Stat("inside.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%q) after renaming it away = %v, want %v", "inside.txt", err, fs.ErrNotExist)
	}
	if err := r.Remove("a"); err == nil {
		t.Errorf("Remove(%q) of a non-empty directory = nil, want an error", "a")
	}

	for _, test := range []struct {
		dir  string
		want []string
	}{
		{".", []string{"a", "absdirlink", "absfilelink", "dirlink", "filelink", "sub"}},
		{"a/b", []string{"moved.txt"}},
		{"sub", []string{}},
	} {
		entries, err := r.ReadDir(test.dir)
		got := []string{}
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if err != nil || !slices.Equal(got, test.want) {
			t.Errorf("ReadDir(%q) = %q, %v, want %q", test.dir, got, err, test.want)
		}
	}
	if _, err := r.ReadDir("a/b/moved.txt"); err == nil {
		t.Errorf("ReadDir of a file = nil error, want an error")
	}
	if data, err := os.ReadFile(filepath.Join(b.dir, "a/b/moved.txt")); string(data) != "inside" {
		t.Errorf("moved file holds %q, %v, want %q", data, err, "inside")
	}
}

func TestRootRelFromURI(t *testing.T) {
	r, b := setupRoot(t)
	for _, test := range []struct {
		uri, want string
	}{
		{"file://{root}", "."},
		{"file://{root}/", "."},
		{"file://{root}/inside.txt", "inside.txt"},
		{"file://{root}/sub/../inside.txt", "inside.txt"},
		{"file://{root}/sub/not-yet.txt", "sub/not-yet.txt"},
		{"file://{root}/a%20b/%C3%A7.txt", "a b/ç.txt"},
		{"file://localhost{root}/inside.txt", "inside.txt"},
		{"FILE://{root}/inside.txt", "inside.txt"},
		{"file://{root}/100%2525.txt", "100%25.txt"},
	} {
		uri := strings.ReplaceAll(test.uri, "{root}", b.dir)
		if got, err := r.RelFromURI(uri); got != test.want || err != nil {
			t.Errorf("RelFromURI(%q) = %q, %v, want %q", uri, got, err, test.want)
		}
	}

	for _, test := range []struct {
		uri  string
		want error
	}{
		{"file:///etc/passwd", ErrPathEscapes},
		{"file://{root}-other/x", ErrPathEscapes}, // shares a prefix, not a directory
		{"file://{root}/../../../etc/passwd", ErrPathEscapes},
		{"file://{root}/%2E%2E/%2e%2e/etc/passwd", ErrPathEscapes},
		{"{root}/inside.txt", ErrInvalidPath},
		{"http://example.com{root}/inside.txt", ErrInvalidPath},
		{"file://example.com{root}/inside.txt", ErrInvalidPath},
		{"file://user@{root}/inside.txt", ErrInvalidPath},
		{"file:inside.txt", ErrInvalidPath},
		{"file://{root}/inside.txt?raw", ErrInvalidPath},
		{"file://{root}/inside.txt#L1", ErrInvalidPath},
		{"file://{root}/inside.txt#", ErrInvalidPath},
		{"file://{root}/%zz", ErrInvalidPath},
		{"file://{root}/" + strings.Repeat("%61", MaxPathLen), ErrInvalidPath},
	} {
		uri := strings.ReplaceAll(test.uri, "{root}", b.dir)
		if got, err := r.RelFromURI(uri); !isOnly(err, test.want) {
			t.Errorf("RelFromURI(%q) = %q, %v, want error wrapping %v", uri, got, err, test.want)
		}
	}
}

// TestRootThroughALink opens a root by a path that goes through a symbolic
// link and checks that URIs in either spelling map into it.
func TestRootThroughALink(t *testing.T) {
	_, b := setupRoot(t)
	link := filepath.Join(t.TempDir(), "project")
	mustDo(t, os.Symlink(b.dir, link))
	r, err := OpenRoot(link)
	if err != nil {
		t.Fatalf("OpenRoot(%q) = %v", link, err)
	}
	t.Cleanup(func() { r.Close() })

	for _, dir := range []string{link, b.dir} {
		uri := "file://" + dir + "/sub/x.go"
		if got, err := r.RelFromURI(uri); got != "sub/x.go" || err != nil {
			t.Errorf("RelFromURI(%q) = %q, %v, want %q", uri, got, err, "sub/x.go")
		}
	}
	if got, err := r.ReadFile("inside.txt", 100); string(got) != "inside" || err != nil {
		t.Errorf("ReadFile(%q) = %q, %v, want %q", "inside.txt", got, err, "inside")
	}
}
