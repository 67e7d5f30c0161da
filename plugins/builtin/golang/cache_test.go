package golang

import (
	"path/filepath"
	"testing"
)

// TestPackageCacheStaysBoundedAndCorrect checks a package importing fmt
// with a cache bound far below its ~60 dependencies: after the check the
// cache is back under the bound, the package has no type errors (no
// package was loaded twice as two distinct types), and a second request,
// which must check again, gives the same answer.
func TestPackageCacheStaysBoundedAndCorrect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, demoModule)
	s := newSession()
	defer s.shutdown()
	s.l.max = 8
	path := filepath.Join(dir, "b", "b.go")
	for round := range 2 {
		s.l.mu.Lock()
		tg, err := s.targetOf(path)
		if err != nil {
			s.l.mu.Unlock()
			t.Fatal(err)
		}
		if len(tg.c.errs) != 0 {
			t.Errorf("round %d: errors %v", round, tg.c.errs)
		}
		if n := len(s.l.cache); n > s.l.max {
			t.Errorf("round %d: %d packages cached, bound %d", round, n, s.l.max)
		}
		if n := len(s.l.byFile); n > 3*s.l.max {
			t.Errorf("round %d: %d files indexed", round, n)
		}
		s.l.mu.Unlock()
	}
	// With the default bound everything stays, and a second request is a
	// cache hit: the same checked package.
	s2 := newSession()
	defer s2.shutdown()
	s2.l.mu.Lock()
	defer s2.l.mu.Unlock()
	first, err := s2.targetOf(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s2.targetOf(path)
	if err != nil || again.c != first.c {
		t.Errorf("second lookup re-checked the package (%v)", err)
	}
	// A change in the imported package's directory makes it stale.
	s2.docs.touch(filepath.Join(dir, "a", "a.go"))
	third, err := s2.targetOf(path)
	if err != nil || third.c == first.c {
		t.Errorf("a change in an imported package did not invalidate its importer (%v)", err)
	}
	// So does a file written on disk behind the editor's back: a new file
	// in a that declares what b now uses.
	writeFiles(t, dir, map[string]string{
		"a/more.go": "package a\n\n// More is new.\nconst More = 1\n",
		"b/b.go":    demoModule["b/b.go"] + "\nvar _ = a.More\n",
	})
	fourth, err := s2.targetOf(path)
	if err != nil || fourth.c == third.c || len(fourth.c.errs) != 0 {
		t.Errorf("files written on disk were not seen: re-checked %v, errors %v (%v)", fourth.c != third.c, fourth.c.errs, err)
	}
}
