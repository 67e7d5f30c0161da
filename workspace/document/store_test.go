package document

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

type testBundle struct {
	log *bytes.Buffer // what the Store logged
}

func setup(t *testing.T, cfg *Config) (*Store, *testBundle) {
	t.Helper()
	bundle := &testBundle{log: &bytes.Buffer{}}
	if cfg == nil {
		cfg = &Config{}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(bundle.log, nil))
	return NewStore(cfg), bundle
}

func rng(l1, c1, l2, c2 uint32) *Range {
	return &Range{Start: pos(l1, c1), End: pos(l2, c2)}
}

func mustOpen(t *testing.T, s *Store, uri, text string) Update {
	t.Helper()
	u, err := s.Open(uri, "go", 1, text)
	if err != nil {
		t.Fatalf("Open(%q) = %v", uri, err)
	}
	return u
}

func TestStoreLifecycle(t *testing.T) {
	s, bundle := setup(t, nil)
	u := mustOpen(t, s, "file:///a.go", "package a\n")
	if u.URI != "file:///a.go" || u.LanguageID != "go" || u.Version != 1 || u.Text.String() != "package a\n" || u.Oversize || u.BecameOversize {
		t.Errorf("Open = %+v, want version 1 of package a, not oversize", u)
	}
	u, err := s.Change("file:///a.go", 2, UTF16, []Change{
		{Range: rng(1, 0, 1, 0), Text: "\nfunc f() {}\n"},
		{Range: rng(0, 8, 0, 9), Text: "b"},
		{Range: rng(2, 5, 2, 6), Text: "g"},
	})
	if err != nil {
		t.Fatalf("Change = %v", err)
	}
	if want := "package b\n\nfunc g() {}\n"; u.Text.String() != want || u.Version != 2 {
		t.Errorf("Change = version %d %q, want version 2 %q", u.Version, u.Text.String(), want)
	}
	doc, ok := s.Get("file:///a.go")
	if !ok || doc.Text.String() != u.Text.String() || doc.Version != 2 {
		t.Errorf("Get = %+v, %v, want the changed document", doc, ok)
	}
	u, err = s.Change("file:///a.go", 3, UTF16, []Change{{Text: "whole\r\nnew"}, {Range: rng(1, 3, 1, 3), Text: "!"}})
	if err != nil || u.Text.String() != "whole\r\nnew!" || u.Text.LineCount() != 2 {
		t.Errorf("full replace then edit = %q, %v, want %q", u.Text.String(), err, "whole\r\nnew!")
	}
	if n := s.Len(); n != 1 {
		t.Errorf("Len() = %d, want 1", n)
	}
	if err := s.Close("file:///a.go"); err != nil {
		t.Errorf("Close = %v", err)
	}
	if _, ok := s.Get("file:///a.go"); ok || s.Len() != 0 {
		t.Errorf("after Close, Get found the document or Len() = %d", s.Len())
	}
	if bundle.log.Len() != 0 {
		t.Errorf("a well-behaved session logged:\n%s", bundle.log)
	}
}

func TestStoreNotOpen(t *testing.T) {
	s, _ := setup(t, nil)
	mustOpen(t, s, "file:///open", "")
	if _, err := s.Change("file:///closed", 2, UTF16, nil); !errors.Is(err, ErrNotOpen) {
		t.Errorf("Change of an unopened document = %v, want ErrNotOpen", err)
	}
	if err := s.Close("file:///closed"); !errors.Is(err, ErrNotOpen) {
		t.Errorf("Close of an unopened document = %v, want ErrNotOpen", err)
	}
	if err := s.Close("file:///open"); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := s.Close("file:///open"); !errors.Is(err, ErrNotOpen) {
		t.Errorf("second Close = %v, want ErrNotOpen", err)
	}
}

func TestStoreReopenReplaces(t *testing.T) {
	s, bundle := setup(t, nil)
	mustOpen(t, s, "file:///a", "old")
	u, err := s.Open("file:///a", "python", 7, "new")
	if err != nil {
		t.Fatalf("reopen = %v", err)
	}
	if doc, _ := s.Get("file:///a"); doc.Text.String() != "new" || doc.Version != 7 || doc.LanguageID != "python" || u.Text.String() != "new" {
		t.Errorf("after reopen Get = %+v, want version 7 of python %q", doc, "new")
	}
	if s.Len() != 1 {
		t.Errorf("Len() = %d after reopen, want 1", s.Len())
	}
	if !strings.Contains(bundle.log.String(), "opened twice") {
		t.Errorf("reopen logged %q, want a warning", bundle.log)
	}
}

func TestStoreVersionNotIncreasing(t *testing.T) {
	for _, test := range []struct {
		name    string
		version int32
		warn    bool
	}{
		{"increasing", 6, false},
		{"skipping", 100, false},
		{"same", 5, true},
		{"decreasing", 2, true},
	} {
		t.Run(test.name, func(t *testing.T) {
			s, bundle := setup(t, nil)
			if _, err := s.Open("file:///a", "go", 5, "ab"); err != nil {
				t.Fatal(err)
			}
			u, err := s.Change("file:///a", test.version, UTF16, []Change{{Range: rng(0, 1, 0, 1), Text: "x"}})
			if err != nil {
				t.Fatalf("Change = %v", err)
			}
			if u.Text.String() != "axb" || u.Version != test.version {
				t.Errorf("Change = version %d %q, want version %d %q", u.Version, u.Text.String(), test.version, "axb")
			}
			if warned := strings.Contains(bundle.log.String(), "did not increase"); warned != test.warn {
				t.Errorf("warned = %v, want %v; log:\n%s", warned, test.warn, bundle.log)
			}
		})
	}
}

func TestStoreMaxDocuments(t *testing.T) {
	s, _ := setup(t, &Config{MaxDocuments: 3})
	for i := range 3 {
		mustOpen(t, s, fmt.Sprintf("file:///%d", i), "")
	}
	if _, err := s.Open("file:///3", "go", 1, ""); !errors.Is(err, ErrTooManyDocuments) {
		t.Errorf("fourth Open = %v, want ErrTooManyDocuments", err)
	}
	if _, ok := s.Get("file:///3"); ok {
		t.Errorf("the refused document is open")
	}
	if _, err := s.Open("file:///1", "go", 2, "again"); err != nil {
		t.Errorf("reopening at the limit = %v, want it replaced", err)
	}
	if err := s.Close("file:///0"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("file:///3", "go", 1, ""); err != nil {
		t.Errorf("Open after a Close freed a slot = %v", err)
	}
	if s.Len() != 3 {
		t.Errorf("Len() = %d, want 3", s.Len())
	}

	if NewStore(nil).maxDocs != DefaultMaxDocuments || NewStore(&Config{MaxDocuments: -1}).maxDocs != DefaultMaxDocuments {
		t.Errorf("the default MaxDocuments is not %d", DefaultMaxDocuments)
	}
	if NewStore(nil).maxBytes != DefaultMaxBytes {
		t.Errorf("the default MaxBytes is not %d", DefaultMaxBytes)
	}
}

func TestStoreOversize(t *testing.T) {
	s, _ := setup(t, &Config{MaxBytes: 10})
	type step struct {
		name     string
		do       func() (Update, error)
		oversize bool
		became   bool
	}
	change := func(text string) func() (Update, error) {
		return func() (Update, error) {
			return s.Change("file:///a", 2, UTF8, []Change{{Text: text}})
		}
	}
	for _, st := range []step{
		{"open small", func() (Update, error) { return s.Open("file:///a", "go", 1, "0123456789") }, false, false},
		{"grow past the limit", change("0123456789a"), true, true},
		{"stay past the limit", change("0123456789ab"), true, false},
		{"shrink", change("0"), false, false},
		{"grow again: told already", change("0123456789abc"), true, false},
		{"reopen oversize", func() (Update, error) { return s.Open("file:///a", "go", 1, "0123456789abcdef") }, true, true},
		{"close and open oversize", func() (Update, error) {
			if err := s.Close("file:///a"); err != nil {
				return Update{}, err
			}
			return s.Open("file:///a", "go", 1, "0123456789abcdef")
		}, true, true},
	} {
		u, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if u.Oversize != st.oversize || u.BecameOversize != st.became {
			t.Errorf("%s: Oversize, BecameOversize = %v, %v, want %v, %v", st.name, u.Oversize, u.BecameOversize, st.oversize, st.became)
		}
		if doc, _ := s.Get("file:///a"); doc.Oversize != st.oversize || doc.Text.String() != u.Text.String() {
			t.Errorf("%s: Get = %+v, want the same document as returned", st.name, doc)
		}
	}
	// An oversize document is still tracked exactly.
	u, err := s.Change("file:///a", 3, UTF8, []Change{{Range: rng(0, 16, 0, 16), Text: "!"}})
	if err != nil || u.Text.String() != "0123456789abcdef!" {
		t.Errorf("edit of an oversize document = %q, %v", u.Text.String(), err)
	}
}

func TestSnapshotIsImmutable(t *testing.T) {
	s, _ := setup(t, nil)
	mustOpen(t, s, "file:///a", "a1")
	mustOpen(t, s, "file:///b", "b1")
	before := s.Snapshot()
	if _, err := s.Change("file:///a", 2, UTF16, []Change{{Range: rng(0, 1, 0, 2), Text: "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close("file:///b"); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, s, "file:///c", "c1")
	after := s.Snapshot()

	for _, test := range []struct {
		snap Snapshot
		want string // uri=text pairs in URI order
	}{
		{before, "file:///a=a1 file:///b=b1"},
		{after, "file:///a=a2 file:///c=c1"},
		{Snapshot{}, ""},
	} {
		var got []string
		for doc := range test.snap.All() {
			got = append(got, doc.URI+"="+doc.Text.String())
			if d, ok := test.snap.Get(doc.URI); !ok || d.Text.String() != doc.Text.String() {
				t.Errorf("Get(%q) = %+v, %v, want what All yields", doc.URI, d, ok)
			}
		}
		if strings.Join(got, " ") != test.want || test.snap.Len() != len(got) {
			t.Errorf("snapshot holds %q (Len %d), want %q", got, test.snap.Len(), test.want)
		}
	}
	if _, ok := before.Get("file:///c"); ok {
		t.Errorf("the earlier snapshot sees a document opened after it")
	}
}

// TestStoreMany opens, changes and closes enough documents to exercise the
// tree that holds them.
func TestStoreMany(t *testing.T) {
	s, _ := setup(t, nil)
	const n = 2000
	for i := range n {
		mustOpen(t, s, fmt.Sprintf("file:///%04d", i*7919%n), fmt.Sprint(i*7919%n))
	}
	snap := s.Snapshot()
	for i := 0; i < n; i += 2 {
		if err := s.Close(fmt.Sprintf("file:///%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < n; i += 2 {
		uri := fmt.Sprintf("file:///%04d", i)
		if _, err := s.Change(uri, 2, UTF16, []Change{{Range: rng(0, 0, 0, 0), Text: "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != n/2 || snap.Len() != n {
		t.Fatalf("Len() = %d and snapshot Len() = %d, want %d and %d", s.Len(), snap.Len(), n/2, n)
	}
	i := 1
	for doc := range s.Snapshot().All() {
		if want := fmt.Sprintf("v%d", i); doc.URI != fmt.Sprintf("file:///%04d", i) || doc.Text.String() != want {
			t.Fatalf("document %s = %q, want file:///%04d = %q", doc.URI, doc.Text.String(), i, want)
		}
		i += 2
	}
	i = 0
	for doc := range snap.All() {
		if doc.Text.String() != fmt.Sprint(i) {
			t.Fatalf("snapshot document %s = %q, want %q", doc.URI, doc.Text.String(), fmt.Sprint(i))
		}
		i++
	}
	checkDocs(t, s.Snapshot().root)
	checkDocs(t, snap.root)
}

func checkDocs(t *testing.T, n *docNode) {
	t.Helper()
	if n == nil {
		return
	}
	for _, c := range []*docNode{n.left, n.right} {
		if c != nil && c.prio > n.prio {
			t.Fatalf("child priority above parent's")
		}
	}
	if n.left != nil && n.left.e.doc.URI >= n.e.doc.URI || n.right != nil && n.right.e.doc.URI <= n.e.doc.URI {
		t.Fatalf("documents out of order at %s", n.e.doc.URI)
	}
	if n.n != n.left.size()+1+n.right.size() {
		t.Fatalf("wrong size at %s", n.e.doc.URI)
	}
	checkDocs(t, n.left)
	checkDocs(t, n.right)
}

// TestStoreConcurrent runs writers and readers together under the race
// detector: readers must always see a whole document, never a torn one.
func TestStoreConcurrent(t *testing.T) {
	s, _ := setup(t, nil)
	const docs, edits = 4, 500
	for d := range docs {
		mustOpen(t, s, fmt.Sprint(d), "")
	}
	var wg sync.WaitGroup
	for d := range docs {
		wg.Go(func() {
			for v := range int32(edits) {
				if _, err := s.Change(fmt.Sprint(d), v+2, UTF16, []Change{{Range: rng(0, 0, 0, 0), Text: "x"}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for range edits {
				doc, ok := s.Get(fmt.Sprint(d))
				if !ok || doc.Text.Len() != int(max(doc.Version-1, 0)) {
					t.Errorf("Get = version %d with %d bytes, want version-1 bytes", doc.Version, doc.Text.Len())
					return
				}
				for doc := range s.Snapshot().All() {
					_ = doc.Text.String()
				}
			}
		})
	}
	wg.Wait()
	for doc := range s.Snapshot().All() {
		if doc.Text.String() != strings.Repeat("x", edits) {
			t.Errorf("document %s = %d bytes, want %d", doc.URI, doc.Text.Len(), edits)
		}
	}
}
