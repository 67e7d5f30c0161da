package search

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/workspace/filetree/filetreetest"
)

func setup(t testing.TB, files map[string]string) (*os.Root, []string) {
	t.Helper()
	dir := t.TempDir()
	var names []string
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root, names
}

func show(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Path+":"+itoa(m.Line)+":"+itoa(m.Column)+":"+m.Text[m.Column:m.Column+m.Length])
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func fmtInt(i int) string { return strconv.Itoa(i) }

func TestSearch(t *testing.T) {
	root, files := setup(t, map[string]string{
		"a.txt":       "Hello world\nhello again\r\nno\n",
		"dir/b.go":    "func Hello() {}\n// HELLO\n",
		"bin.dat":     "hello\x00binary",
		"dir/ü.txt":   "Grüße, hello\n",
		"dir/big.txt": strings.Repeat("hello ", 100),
	})
	for _, test := range []struct {
		name string
		opt  Options
		want []string
	}{
		{"literal, case sensitive", Options{Query: "hello", CaseSensitive: true, MaxFileBytes: 100}, []string{"a.txt:2:0:hello", "dir/ü.txt:1:9:hello"}},
		{"literal, any case", Options{Query: "hello", MaxFileBytes: 100}, []string{"a.txt:1:0:Hello", "a.txt:2:0:hello", "dir/b.go:1:5:Hello", "dir/b.go:2:3:HELLO", "dir/ü.txt:1:9:hello"}},
		{"non-ASCII, any case", Options{Query: "GRÜSSE"}, nil},
		{"non-ASCII literal", Options{Query: "grüße"}, []string{"dir/ü.txt:1:0:Grüße"}},
		{"regex anchored per line", Options{Query: `^h\w+`, Regex: true, CaseSensitive: true}, []string{"a.txt:2:0:hello", "dir/big.txt:1:0:hello"}},
		{"regex with metacharacters as a literal", Options{Query: "Hello()"}, []string{"dir/b.go:1:5:Hello()"}},
	} {
		t.Run(test.name, func(t *testing.T) {
			res, err := Search(t.Context(), root, files, test.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(res.Matches); !slices.Equal(got, test.want) {
				t.Errorf("matches = %q, want %q", got, test.want)
			}
		})
	}
	// Directories are searched in parallel, so which matches a bounded search
	// keeps depends on scheduling; they are some of the unbounded search's.
	res, err := Search(t.Context(), root, files, Options{Query: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(ms []Match) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Path+":"+itoa(m.Line)+":"+itoa(m.Column))
		}
		return out
	}
	all := at(res.Matches)
	res, err = Search(t.Context(), root, files, Options{Query: "hello", MaxMatches: 2})
	if err != nil || res.Stopped != "matches" {
		t.Errorf("bounded search stopped = %q, %v; want matches", res.Stopped, err)
	}
	if got := at(res.Matches); len(got) != 2 || !slices.Contains(all, got[0]) || !slices.Contains(all, got[1]) || got[0] == got[1] {
		t.Errorf("bounded search matches = %q, want 2 of %q", got, all)
	}
	res, err = Search(t.Context(), root, files, Options{Query: "hello", MaxBytes: 10})
	if err != nil || res.Stopped != "bytes" || res.FilesSearched >= 4 {
		t.Errorf("byte-bounded search = %+v, %v; want stopped by bytes before the end", res, err)
	}
	res, err = Search(t.Context(), root, files, Options{Query: "hello"})
	if err != nil || res.FilesSearched != 4 || res.Stopped != "" { // bin.dat is skipped
		t.Errorf("search = %+v, %v; want 4 files searched", res, err)
	}
	if res.Matches[0].Text != "Hello world" || res.Matches[1].Text != "hello again" {
		t.Errorf("line texts %q %q", res.Matches[0].Text, res.Matches[1].Text)
	}
	for _, q := range []Options{{Query: ""}, {Query: "(", Regex: true}, {Query: strings.Repeat("x", MaxQueryBytes+1)}} {
		if _, err := Search(t.Context(), root, files, q); !errors.Is(err, ErrInvalid) {
			t.Errorf("Search(%q) = %v, want ErrInvalid", q.Query, err)
		}
	}
}

// TestSearchAgreesWithGitGrep searches a generated repository of 100,000
// files, streaming results, and checks that it finds exactly the lines git
// grep finds.
func TestSearchAgreesWithGitGrep(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 files")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := filetreetest.TempDir(t)
	const n = 100_000
	if err := filetreetest.Generate(dir, n); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", dir, "ls-files").Output()
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Fields(string(out))
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	var mu sync.Mutex
	var streamed int
	res, err := Search(t.Context(), root, files, Options{
		Query: filetreetest.Needle, CaseSensitive: true, MaxMatches: 10_000, Timeout: time.Minute,
		Progress: func(ms []Match) { mu.Lock(); streamed += len(ms); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	grep, err := exec.Command("git", "-C", dir, "grep", "-n", filetreetest.Needle).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(grep)), "\n") {
		f := strings.SplitN(line, ":", 3)
		want = append(want, f[0]+":"+f[1])
	}
	for _, m := range res.Matches {
		got = append(got, m.Path+":"+fmtInt(m.Line))
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != n/100 || !slices.Equal(got, want) {
		t.Errorf("found %d matches, git grep %d (want %d); equal: %v", len(got), len(want), n/100, slices.Equal(got, want))
	}
	if streamed != len(res.Matches) || res.FilesSearched != n+1 {
		t.Errorf("streamed %d of %d matches, searched %d files", streamed, len(res.Matches), res.FilesSearched)
	}
}
