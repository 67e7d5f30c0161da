package golang

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// variant says which files of a directory make a package.
type variant int

const (
	plainPkg variant = iota // the non-test files: what importers see
	testPkg                 // the non-test files and the _test.go files of the same package
	xtestPkg                // the _test.go files of package p_test
)

// pkgKey names a checked package: a directory and a variant.
type pkgKey struct {
	dir  string
	v    variant
	file string // set for a file that build constraints exclude: checked on its own
}

// checked is one type-checked package. It is never modified after the
// check, except for its LRU stamp and lazily built line indexes, which the
// loader's lock guards.
type checked struct {
	key   pkgKey
	gen   uint64 // documents' generation of key.dir before its files were read
	full  bool   // workspace package: bodies checked, info recorded, comments kept
	mod   *module
	pkg   *types.Package
	info  *types.Info // nil unless full
	files []*ast.File
	names []string          // absolute file names, parallel to files
	texts map[string]string // file name → the text that was parsed (full only)
	errs  []error           // scanner.Error and types.Error, full only
	deps  []*checked        // the packages this one imported, as they were then
	used  uint64
	index map[string]*lineIndex
	stamp string // workspace packages: what the disk looked like (diskStamp)
}

// fileOf returns the syntax tree of the file named name, or nil.
func (c *checked) fileOf(name string) *ast.File {
	if i := slices.Index(c.names, name); i >= 0 {
		return c.files[i]
	}
	return nil
}

// defaultMaxPackages bounds the loader's cache: net/http alone pulls in
// about 200 packages of the standard library.
const defaultMaxPackages = 2000

// loader parses and type-checks packages and caches them. Everything that
// reads checked packages or positions of its file set holds mu, because an
// eviction removes files from the set.
type loader struct {
	res    *resolver
	docs   *documents
	ctxt   build.Context // for GOROOT and the module cache: cgo off
	wsCtxt build.Context // for the workspace: cgo files included, "C" faked
	max    int

	mu      sync.Mutex
	fset    *token.FileSet
	cache   map[pkgKey]*checked
	loading map[pkgKey]bool // in progress, to report import cycles
	clock   uint64

	byFile       map[string]*checked // file name → a cached workspace package holding it
	foreignFiles map[string]*foreignFile
}

func newLoader(res *resolver, docs *documents) *loader {
	l := &loader{res: res, docs: docs, max: defaultMaxPackages, fset: token.NewFileSet(),
		cache: map[pkgKey]*checked{}, loading: map[pkgKey]bool{},
		byFile: map[string]*checked{}, foreignFiles: map[string]*foreignFile{}}
	l.ctxt = build.Default
	l.ctxt.GOROOT = res.goroot
	// With cgo off, build constraints choose the pure-Go files (netgo,
	// osusergo), which go/types can check without running cgo.
	l.ctxt.CgoEnabled = false
	l.ctxt.GOOS, l.ctxt.GOARCH = runtime.GOOS, runtime.GOARCH
	l.ctxt.OpenFile = func(path string) (io.ReadCloser, error) {
		if doc := docs.get(path); doc != nil {
			return io.NopCloser(strings.NewReader(doc.text)), nil
		}
		return os.Open(path)
	}
	// In the workspace a cgo file is the user's code: it is checked with
	// go/types' FakeImportC (C.anything is accepted), as gopls shows it
	// with cgo on.
	l.wsCtxt = l.ctxt
	l.wsCtxt.CgoEnabled = true
	return l
}

// readSource returns the editor's text of path if it is open, else the disk's.
func (l *loader) readSource(path string) (string, error) {
	if doc := l.docs.get(path); doc != nil {
		return doc.text, nil
	}
	b, err := os.ReadFile(path)
	return string(b), err
}

// isWorkspace reports whether dir's packages are checked in full: anything
// outside GOROOT and the module cache.
func (l *loader) isWorkspace(dir string) bool {
	return !l.res.inGoroot(dir) && !l.res.inModcache(dir)
}

// load returns the checked package key, from the cache if it is still
// valid. main is the module whose build list resolves imports. l.mu is held.
func (l *loader) load(key pkgKey, main *module) (*checked, error) {
	if c := l.cache[key]; c != nil && l.valid(c, map[*checked]bool{}) {
		return c, nil
	}
	if l.loading[key] {
		return nil, fmt.Errorf("import cycle through %s", key.dir)
	}
	l.loading[key] = true
	c, err := l.check(key, main)
	delete(l.loading, key)
	if err != nil {
		return nil, err
	}
	if old := l.cache[key]; old != nil {
		l.drop(old)
	}
	l.cache[key] = c
	if c.full {
		for _, name := range c.names {
			l.byFile[name] = c
		}
	}
	l.touch(c)
	// Evict only between checks: a package evicted in the middle of one
	// could be loaded again as a second, distinct *types.Package of the
	// same path, and the check would then see two types where there is one.
	// So the cache may exceed its bound by one package's dependencies.
	if len(l.loading) == 0 {
		l.evict()
	}
	return c, nil
}

// valid reports whether c and everything it imported is unchanged and still
// the cached copy; it stamps what it visits as recently used.
func (l *loader) valid(c *checked, seen map[*checked]bool) bool {
	if ok, done := seen[c]; done {
		return ok
	}
	seen[c] = true
	ok := l.cache[c.key] == c && l.docs.gen(c.key.dir) == c.gen &&
		(!c.full || diskStamp(c.key.dir, c.names) == c.stamp) &&
		(!c.full || c.mod == nil || l.res.moduleAt(c.mod.dir) == c.mod) // go.mod edited: imports may resolve anew
	for _, d := range c.deps {
		if !ok {
			break
		}
		ok = l.valid(d, seen)
	}
	seen[c] = ok
	if ok {
		l.touch(c)
	}
	return ok
}

func (l *loader) touch(c *checked) { l.clock++; c.used = l.clock }

// evict drops the least recently used packages beyond the bound. Their
// importers become invalid (their deps are no longer the cached copies) and
// are checked again when next asked for.
func (l *loader) evict() {
	if len(l.cache) <= l.max {
		return
	}
	all := make([]*checked, 0, len(l.cache))
	for _, c := range l.cache {
		all = append(all, c)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used < all[j].used })
	for _, c := range all[:max(0, min(len(all), len(l.cache)-l.max))] {
		delete(l.cache, c.key)
		l.drop(c)
	}
}

// drop releases c's files from the file set.
func (l *loader) drop(c *checked) {
	for _, name := range c.names {
		if l.byFile[name] == c {
			delete(l.byFile, name)
		}
	}
	for _, f := range c.files {
		if tf := l.fset.File(f.FileStart); tf != nil {
			l.fset.RemoveFile(tf)
		}
	}
}

// listFiles returns the files of dir that make the variant v, sorted, after
// build constraints.
func (l *loader) listFiles(key pkgKey) ([]string, error) {
	entries, err := os.ReadDir(key.dir)
	if err != nil {
		return nil, fmt.Errorf("read package directory: %w", err)
	}
	var names []string
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		names = append(names, e.Name())
		seen[filepath.Join(key.dir, e.Name())] = true
	}
	// An open document not yet saved to disk is part of its directory.
	for _, doc := range l.docs.inDir(key.dir) {
		if !seen[doc.path] && strings.HasSuffix(doc.path, ".go") {
			names = append(names, filepath.Base(doc.path))
		}
	}
	type file struct{ path, pkg string }
	var plain, tests []file
	ctxt := &l.ctxt
	if l.isWorkspace(key.dir) {
		ctxt = &l.wsCtxt
	}
	for _, n := range names {
		path := filepath.Join(key.dir, n)
		if ok, err := ctxt.MatchFile(key.dir, n); err != nil || !ok {
			continue
		}
		src, err := l.readSource(path)
		if err != nil {
			continue
		}
		hdr, _ := parser.ParseFile(token.NewFileSet(), path, src, parser.PackageClauseOnly)
		if hdr == nil || hdr.Name == nil {
			continue
		}
		f := file{path, hdr.Name.Name}
		if strings.HasSuffix(n, "_test.go") {
			tests = append(tests, f)
		} else {
			plain = append(plain, f)
		}
	}
	// The package name is the most common one among the non-test files;
	// stray files of another package (generators, say) are left out.
	count := map[string]int{}
	name := ""
	for _, f := range plain {
		count[f.pkg]++
		if count[f.pkg] > count[name] || (count[f.pkg] == count[name] && f.pkg < name) {
			name = f.pkg
		}
	}
	if name == "" {
		for _, f := range tests {
			if !strings.HasSuffix(f.pkg, "_test") {
				name = f.pkg
			}
		}
	}
	var out []string
	add := func(fs []file, pkg string) {
		for _, f := range fs {
			if f.pkg == pkg {
				out = append(out, f.path)
			}
		}
	}
	switch key.v {
	case plainPkg:
		add(plain, name)
	case testPkg:
		add(plain, name)
		add(tests, name)
	case xtestPkg:
		add(tests, strings.TrimSuffix(name, "_test")+"_test")
	}
	sort.Strings(out)
	return out, nil
}

// check parses and type-checks key. l.mu is held.
func (l *loader) check(key pkgKey, main *module) (*checked, error) {
	full := l.isWorkspace(key.dir)
	c := &checked{key: key, gen: l.docs.gen(key.dir), full: full, mod: main}

	names := []string{key.file}
	var err error
	if key.file == "" {
		names, err = l.listFiles(key)
	}
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no buildable Go files in %s", key.dir)
	}
	if full {
		// Before the files are read, so a write racing the read is seen.
		c.stamp = diskStamp(key.dir, names)
	}
	return l.checkFiles(c, names)
}

// checkFiles parses names and type-checks them as c's package.
func (l *loader) checkFiles(c *checked, names []string) (*checked, error) {
	mode := parser.SkipObjectResolution
	if c.full {
		mode |= parser.ParseComments
		c.texts = map[string]string{}
	}
	for _, name := range names {
		src, err := l.readSource(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		var text any = src
		if !c.full {
			text = blankFuncBodies([]byte(src))
		}
		f, err := parser.ParseFile(l.fset, name, text, mode)
		if f == nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if err != nil && c.full {
			c.errs = append(c.errs, err)
		}
		c.files = append(c.files, f)
		c.names = append(c.names, name)
		if c.full {
			c.texts[name] = src
		}
	}
	imp := &importer{l: l, from: c}
	conf := types.Config{
		Importer:         imp,
		IgnoreFuncBodies: !c.full,
		FakeImportC:      c.full,
		Sizes:            types.SizesFor("gc", l.ctxt.GOARCH),
		Error: func(err error) {
			if c.full {
				c.errs = append(c.errs, err)
			}
		},
	}
	if c.full && c.mod != nil {
		conf.GoVersion = c.mod.goVersion
	}
	if c.full {
		c.info = &types.Info{
			Types:      map[ast.Expr]types.TypeAndValue{},
			Defs:       map[*ast.Ident]types.Object{},
			Uses:       map[*ast.Ident]types.Object{},
			Implicits:  map[ast.Node]types.Object{},
			Selections: map[*ast.SelectorExpr]*types.Selection{},
			Scopes:     map[ast.Node]*types.Scope{},
		}
	}
	path := l.importPath(c.key.dir, c.mod)
	if c.key.v == xtestPkg {
		path += "_test"
	}
	// The error is in c.errs already (and ignored outside the workspace):
	// a package with errors is still worth serving.
	c.pkg, _ = conf.Check(path, l.fset, c.files, c.info)
	return c, nil
}

// importPath returns the import path of the package in dir.
func (l *loader) importPath(dir string, main *module) string {
	if l.res.inGoroot(dir) {
		rel, _ := filepath.Rel(l.res.gorootSrc(), dir)
		rel = filepath.ToSlash(rel)
		if v, ok := strings.CutPrefix(rel, "vendor/"); ok {
			return v
		}
		return rel
	}
	if m := l.res.moduleOf(dir); m != nil {
		if rel, err := filepath.Rel(m.dir, dir); err == nil {
			if rel == "." {
				return m.path
			}
			return m.path + "/" + filepath.ToSlash(rel)
		}
	}
	if main != nil {
		if rel, err := filepath.Rel(main.dir, dir); err == nil && !strings.HasPrefix(rel, "..") {
			return main.path + "/" + filepath.ToSlash(rel)
		}
	}
	return filepath.Base(dir)
}

// importer resolves the imports of one package being checked.
type importer struct {
	l    *loader
	from *checked
}

func (i *importer) Import(path string) (*types.Package, error) {
	return i.ImportFrom(path, i.from.key.dir, 0)
}

// ImportFrom loads the package path as seen from dir (types.ImporterFrom).
func (i *importer) ImportFrom(path, dir string, _ types.ImportMode) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	if path == "C" {
		return nil, errors.New(`import "C": cgo is not supported by the go plugin`)
	}
	target, err := i.l.res.resolve(path, dir, i.from.mod)
	if err != nil {
		return nil, err
	}
	c, err := i.l.load(pkgKey{dir: target, v: plainPkg}, i.from.mod)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if c.pkg == nil {
		return nil, fmt.Errorf("import %s: package did not type-check", path)
	}
	i.from.deps = append(i.from.deps, c)
	return c.pkg, nil
}

// lineIndexOf returns the line index of a file the loader knows: the parsed
// text of a workspace package, else the open document, else the disk copy.
// l.mu is held.
func (l *loader) lineIndexOf(c *checked, name string) (*lineIndex, error) {
	if c != nil {
		if idx := c.index[name]; idx != nil {
			return idx, nil
		}
		if src, ok := c.texts[name]; ok {
			if c.index == nil {
				c.index = map[string]*lineIndex{}
			}
			c.index[name] = newLineIndex(src)
			return c.index[name], nil
		}
	}
	index, _, _, err := l.sourceOf(nil, name, false)
	return index, err
}

// diskStamp fingerprints a workspace package on disk: the directory's
// modification time (files added or removed) and each file's size and
// modification time, so edits the editor did not tell the plugin about
// (a git checkout, another tool) still invalidate the cached check.
func diskStamp(dir string, names []string) string {
	var b strings.Builder
	if st, err := os.Stat(dir); err == nil {
		fmt.Fprintf(&b, "%d", st.ModTime().UnixNano())
	}
	for _, name := range names {
		if st, err := os.Stat(name); err == nil {
			fmt.Fprintf(&b, ";%d.%d", st.Size(), st.ModTime().UnixNano())
		} else {
			b.WriteString(";-")
		}
	}
	return b.String()
}
