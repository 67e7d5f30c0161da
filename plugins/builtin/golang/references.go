package golang

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxReferencePackages bounds how many package directories of a module a
// references request checks.
const maxReferencePackages = 500

// objKey identifies a declaration across the package instances that checked
// it (a package and its test variant hold distinct objects for one name).
type objKey struct {
	file string
	off  int
	name string
}

func (s *session) keyOf(obj types.Object) (objKey, bool) {
	switch o := obj.(type) {
	case *types.Var:
		obj = o.Origin()
	case *types.Func:
		obj = o.Origin()
	}
	if !obj.Pos().IsValid() {
		return objKey{}, false
	}
	posn := s.l.fset.PositionFor(obj.Pos(), false)
	return objKey{posn.Filename, posn.Offset, obj.Name()}, posn.Filename != ""
}

func (s *session) references(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[referenceParams](raw)
	if err != nil {
		return nil, &requestError{codeInvalidParams, fmt.Sprintf("references params: %v", err)}
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	t, off, err := s.locate(ctx, p.textDocumentPositionParams)
	if err != nil {
		return nil, err
	}
	_, obj := t.objectAt(off)
	if obj == nil {
		return []location{}, nil
	}
	want, ok := s.keyOf(obj)
	if !ok {
		return []location{}, nil
	}
	pkgs := []*checked{t.c}
	// Package-local objects cannot be used from other packages.
	if obj.Pkg() != nil && obj.Parent() != obj.Pkg().Scope() && !isMember(obj) {
		pkgs = pkgs[:1]
	} else if mod := s.res.moduleOf(t.c.key.dir); mod != nil {
		more, err := s.modulePackages(ctx, mod)
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, more...)
	}
	seen := map[location]bool{}
	var out []location
	for _, c := range pkgs {
		if c.info == nil {
			continue
		}
		add := func(id *ast.Ident, o types.Object) {
			if k, ok := s.keyOf(o); !ok || k != want {
				return
			}
			posn := s.l.fset.PositionFor(id.Pos(), false)
			loc, ok, err := s.spanLocation(c, posn.Filename, posn.Offset, posn.Offset+len(id.Name))
			if err == nil && ok && !seen[loc] {
				seen[loc] = true
				out = append(out, loc)
			}
		}
		for id, o := range c.info.Uses {
			add(id, o)
		}
		if p.Context.IncludeDeclaration {
			for id, o := range c.info.Defs {
				if o != nil {
					add(id, o)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.URI != b.URI {
			return a.URI < b.URI
		}
		if a.Range.Start.Line != b.Range.Start.Line {
			return a.Range.Start.Line < b.Range.Start.Line
		}
		return a.Range.Start.Character < b.Range.Start.Character
	})
	if out == nil {
		out = []location{}
	}
	return out, nil
}

// isMember reports whether obj is a field or method, which other packages
// may use even though it is not in a package scope.
func isMember(obj types.Object) bool {
	switch o := obj.(type) {
	case *types.Var:
		return o.IsField()
	case *types.Func:
		return o.Signature().Recv() != nil
	}
	return false
}

// modulePackages checks every package directory of mod (each with its
// test files, and its external tests), skipping vendor, testdata, hidden
// and _-prefixed directories and nested modules; at most
// maxReferencePackages directories. l.mu is held.
func (s *session) modulePackages(ctx context.Context, mod *module) ([]*checked, error) {
	var dirs []string
	err := filepath.WalkDir(mod.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != mod.dir {
			if name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		if len(dirs) >= maxReferencePackages {
			return filepath.SkipAll
		}
		dirs = append(dirs, path)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk module %s: %w", mod.dir, err)
	}
	var out []*checked
	for _, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, v := range []variant{testPkg, xtestPkg} {
			key := pkgKey{dir: dir, v: v}
			if names, err := s.l.listFiles(key); err != nil || len(names) == 0 {
				continue
			}
			if c, err := s.l.load(key, mod); err == nil {
				out = append(out, c)
			}
		}
	}
	return out, nil
}
