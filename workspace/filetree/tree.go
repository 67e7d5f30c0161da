package filetree

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for [Config] fields left zero.
const (
	DefaultMaxWatches   = 8192
	DefaultPollInterval = 5 * time.Second
	DefaultMaxEntries   = 2_000_000
	// maxIgnoreBytes bounds a .gitignore file that is read; a bigger one is
	// skipped.
	maxIgnoreBytes = 1 << 20
)

// ErrTooLarge means the tree holds more entries than [Config.MaxEntries].
var ErrTooLarge = errors.New("tree too large")

// Entry is one file, directory or symbolic link in a tree.
type Entry struct {
	// Path is slash-separated and relative to the root.
	Path string
	Dir  bool
	// Link marks a symbolic link, which is listed and never followed.
	Link bool
	Size int64
	// ModTime is the modification time in Unix nanoseconds.
	ModTime int64
}

// Config holds the optional settings of a [Tree]. nil means the defaults.
type Config struct {
	// Exclude lists patterns (see [CompileGlob]) for entries never listed
	// nor descended into, beside those .gitignore files ignore; ".git" is
	// always excluded.
	Exclude []string
	// MaxWatches bounds the directories watched for changes (default
	// 8192); the rest are polled every PollInterval. Negative means poll
	// everything.
	MaxWatches int
	// PollInterval is how often unwatched directories are rescanned
	// (default 5 s).
	PollInterval time.Duration
	// MaxEntries bounds the entries of one tree (default 2,000,000).
	MaxEntries int
	// Cache, when set, bounds the memory of every tree that shares it; an
	// evicted tree is read again when next listed.
	Cache *Cache
	// Logger receives warnings about watching. nil discards them.
	Logger *slog.Logger
}

// Tree is a cached, ignore-aware listing of the files beneath an
// [os.Root]. It reads the whole tree on first use, keeps it current by
// watching directories for changes (bounded by [Config.MaxWatches], the
// rest polled), and by [Tree.Invalidate], which callers must call for every
// change they make themselves.
//
// Entries that a .gitignore (in any directory, with gitignore(5) semantics,
// and .git/info/exclude) or [Config.Exclude] names are left out, as is
// everything beneath an ignored directory. The global core.excludesFile is
// not read.
//
// Methods are safe for concurrent use.
type Tree struct {
	root    *os.Root
	dir     string // the root's absolute path, to map watch events
	cfg     Config
	exclude Glob
	log     *slog.Logger

	gen atomic.Uint64

	mu     sync.Mutex
	loaded bool
	closed bool
	dirs   map[string]*dirNode
	dirty  map[string]bool // directories to rescan before the next read
	reload bool            // read everything again before the next read
	flat   []Entry         // every entry in listing order; nil when stale
	bytes  int64
	w      *watcher
}

// dirNode is one directory's entries, sorted by name, and the ignore rules
// that apply inside it, outermost first.
type dirNode struct {
	entries []Entry
	rules   []rule
	ignore  string // size and mtime of its .gitignore, to notice a change
	watched bool
}

// New returns a Tree over root, whose absolute path is dir. It reads
// nothing until first used. The caller keeps root open until [Tree.Close].
func New(root *os.Root, dir string, cfg *Config) (*Tree, error) {
	t := &Tree{root: root, dir: dir}
	if cfg != nil {
		t.cfg = *cfg
	}
	c := &t.cfg
	if c.MaxWatches == 0 {
		c.MaxWatches = DefaultMaxWatches
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	t.log = c.Logger
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	g, err := CompileGlob(c.Exclude)
	if err != nil {
		return nil, fmt.Errorf("filetree: exclude: %w", err)
	}
	t.exclude = g
	return t, nil
}

// Generation counts the changes the tree has seen: every file-system event,
// poll that found a difference, and [Tree.Invalidate]. Anything derived from
// the files (git status, say) that was computed at an older generation may
// be stale. It moves before a change can be read: every bump happens with
// t.mu held, as every read of the tree does, so a listing that shows a
// change never comes with the generation from before it.
func (t *Tree) Generation() uint64 { return t.gen.Load() }

// Invalidate records that the caller changed p (created, wrote, removed or
// renamed it), so the next read rescans its directory. It bumps the
// generation.
func (t *Tree) Invalidate(p string) {
	t.mu.Lock()
	if t.loaded {
		t.markLocked(p)
	}
	t.gen.Add(1) // under t.mu: see Tree.Generation
	t.mu.Unlock()
}

// markLocked marks the directory holding p, and p itself if it is a known
// directory, for rescanning.
func (t *Tree) markLocked(p string) {
	p = path.Clean(p)
	if p == "." {
		t.dirty["."] = true
		return
	}
	t.dirty[path.Dir(p)] = true
	if _, ok := t.dirs[p]; ok {
		t.dirty[p] = true
	}
}

// ListOptions choose a page of [Tree.List].
type ListOptions struct {
	// Under limits the listing to what lies beneath this directory; "" or
	// "." is the whole tree.
	Under string
	// Match keeps only the entries it matches; the zero Glob keeps all.
	// Directories that it does not match are still descended into.
	Match Glob
	// After resumes after this path, the last of the previous page.
	After string
	// Limit is the most entries to return (default 1000).
	Limit int
}

// List returns a page of entries in depth-first order, each directory
// before its contents and siblings sorted by name, and whether there are
// more after it. Without opt.Match, the page is a window on the tree's
// own listing, which is never changed but replaced: the caller must not
// change the entries either.
func (t *Tree) List(ctx context.Context, opt ListOptions) ([]Entry, bool, error) {
	if opt.Limit <= 0 {
		opt.Limit = 1000
	}
	under := path.Clean(opt.Under)
	if opt.Under == "" {
		under = "."
	}
	t.mu.Lock()
	flat, err := t.currentLocked(ctx)
	if err != nil {
		t.mu.Unlock()
		return nil, false, err
	}
	if under != "." {
		if _, ok := t.dirs[under]; !ok {
			t.mu.Unlock()
			return nil, false, fmt.Errorf("%w: %q is not a directory in the tree", fs.ErrNotExist, under)
		}
	}
	lo, hi := 0, len(flat)
	if under != "." {
		lo = searchAfter(flat, under)
		hi = lo + searchPrefixEnd(flat[lo:], under+"/")
	}
	if opt.After != "" {
		lo = max(lo, searchAfter(flat, opt.After))
	}
	var page []Entry
	more := false
	if opt.Match.Empty() {
		// A listing is replaced, never changed: share it.
		end := min(hi, lo+opt.Limit)
		if lo < end {
			page = flat[lo:end:end]
		}
		more = end < hi
		hi = lo // nothing to filter
	}
	for i := lo; i < hi; i++ {
		e := flat[i]
		if !opt.Match.Match(e.Path, e.Dir) {
			if err := ctx.Err(); err != nil && i%4096 == 0 {
				t.mu.Unlock()
				return nil, false, err
			}
			continue
		}
		if len(page) == opt.Limit {
			more = true
			break
		}
		page = append(page, e)
	}
	size := t.bytes
	t.mu.Unlock()
	if t.cfg.Cache != nil {
		t.cfg.Cache.touch(t, size)
	}
	return page, more, nil
}

// Files returns the paths of every regular file (not directories or links)
// in listing order, for a search. The slice is the caller's.
func (t *Tree) Files(ctx context.Context) ([]string, error) {
	t.mu.Lock()
	flat, err := t.currentLocked(ctx)
	var files []string
	if err == nil {
		files = make([]string, 0, len(flat))
		for _, e := range flat {
			if !e.Dir && !e.Link {
				files = append(files, e.Path)
			}
		}
	}
	size := t.bytes
	t.mu.Unlock()
	if err == nil && t.cfg.Cache != nil {
		t.cfg.Cache.touch(t, size)
	}
	return files, err
}

// Close stops watching and polling and drops the listing. The tree reads
// nothing afterwards. Calling it again does nothing.
func (t *Tree) Close() error {
	t.mu.Lock()
	t.closed = true
	w := t.dropLocked()
	t.mu.Unlock()
	if t.cfg.Cache != nil {
		t.cfg.Cache.forget(t)
	}
	if w != nil {
		w.stop()
	}
	return nil
}

// evict drops the listing to free memory; the next read loads it again.
func (t *Tree) evict() {
	t.mu.Lock()
	w := t.dropLocked()
	t.mu.Unlock()
	if w != nil {
		w.stop()
	}
}

func (t *Tree) dropLocked() *watcher {
	w := t.w
	t.w, t.loaded, t.dirs, t.dirty, t.flat, t.bytes = nil, false, nil, nil, nil, 0
	return w
}

// currentLocked loads the tree or applies pending rescans, and returns the
// flat listing.
func (t *Tree) currentLocked(ctx context.Context) ([]Entry, error) {
	if t.closed {
		return nil, errors.New("filetree: tree is closed")
	}
	if !t.loaded || t.reload {
		w := t.dropLocked()
		if w != nil {
			t.mu.Unlock()
			w.stop()
			t.mu.Lock()
			if t.loaded || t.closed {
				return t.currentLocked(ctx)
			}
		}
		t.reload = false
		t.dirs, t.dirty = map[string]*dirNode{}, map[string]bool{}
		if err := t.loadLocked(ctx, ".", nil); err != nil {
			t.dirs, t.dirty = nil, nil
			return nil, err
		}
		t.loaded = true
		t.w = t.startWatching()
	}
	if len(t.dirty) > 0 {
		dirs := slices.Sorted(mapsKeys(t.dirty))
		clear(t.dirty)
		var added []string
		for _, d := range dirs {
			_, a, err := t.rescanLocked(ctx, d)
			if err != nil {
				return nil, err
			}
			added = append(added, a...)
		}
		t.watchLocked(added)
	}
	if t.flat == nil {
		t.flatten()
	}
	return t.flat, nil
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// loadLocked reads dir and everything beneath it into t.dirs, breadth
// first. rules are those of dir's parent.
func (t *Tree) loadLocked(ctx context.Context, dir string, rules []rule) error {
	t.flat = nil
	queue := []string{dir}
	parentRules := map[string][]rule{dir: rules}
	count := 0
	for _, n := range t.dirs {
		count += len(n.entries)
	}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := queue[0]
		queue = queue[1:]
		node, err := t.scan(d, parentRules[d])
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while we looked
		}
		if err != nil {
			return err
		}
		delete(parentRules, d)
		t.dirs[d] = node
		count += len(node.entries)
		if count > t.cfg.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrTooLarge, t.cfg.MaxEntries)
		}
		for _, e := range node.entries {
			if e.Dir {
				queue = append(queue, e.Path)
				parentRules[e.Path] = node.rules
			}
		}
	}
	t.recount()
	return nil
}

// scan reads one directory through the root: its entries' names, each
// one's Lstat (relative to the directory's own descriptor), and its
// .gitignore.
func (t *Tree) scan(dir string, inherited []rule) (*dirNode, error) {
	sub := t.root
	if dir != "." {
		var err error
		if sub, err = t.root.OpenRoot(dir); err != nil {
			return nil, err
		}
		defer sub.Close()
	}
	f, err := sub.Open(".")
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	node := &dirNode{rules: inherited}
	base := dir
	if dir == "." {
		base = ""
		if data, _, ok := readSmall(sub, ".git/info/exclude"); ok {
			node.rules = append(slices.Clip(node.rules), parseIgnore("", data)...)
		}
	}
	if _, ok := slices.BinarySearch(names, ".gitignore"); ok {
		if data, sig, ok := readSmall(sub, ".gitignore"); ok {
			node.rules = append(slices.Clip(node.rules), parseIgnore(base, data)...)
			node.ignore = sig
		}
	}
	node.entries = make([]Entry, 0, len(names))
	for _, name := range names {
		if name == ".git" {
			continue
		}
		info, err := sub.Lstat(name)
		if err != nil {
			continue // removed since it was listed
		}
		p := name
		if base != "" {
			p = base + "/" + name
		}
		isDir := info.IsDir()
		if t.exclude.Match(p, isDir) && !t.exclude.Empty() || ignored(node.rules, p, isDir) {
			continue
		}
		e := Entry{Path: p, Dir: isDir, Link: info.Mode()&fs.ModeSymlink != 0, ModTime: info.ModTime().UnixNano()}
		if !isDir {
			e.Size = info.Size()
		}
		node.entries = append(node.entries, e)
	}
	return node, nil
}

// readSmall reads a regular file of at most maxIgnoreBytes through r and
// returns it with a signature of its size and modification time.
func readSmall(r *os.Root, name string) ([]byte, string, bool) {
	info, err := r.Lstat(name)
	if err != nil || !info.Mode().IsRegular() || info.Size() > maxIgnoreBytes {
		return nil, "", false
	}
	f, err := r.Open(name)
	if err != nil {
		return nil, "", false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIgnoreBytes))
	if err != nil {
		return nil, "", false
	}
	return data, fmt.Sprintf("%d:%d", info.Size(), info.ModTime().UnixNano()), true
}

// rescanLocked reads dir again and brings t.dirs up to date: subdirectories
// that went away are dropped with everything beneath them, new ones are
// read whole, and a changed .gitignore reloads the directory's subtree. It
// reports whether anything changed and the directories it added.
func (t *Tree) rescanLocked(ctx context.Context, dir string) (bool, []string, error) {
	old, ok := t.dirs[dir]
	if !ok {
		return false, nil, nil // not in the tree: ignored, excluded or gone
	}
	var inherited []rule
	if dir != "." {
		if parent, ok := t.dirs[path.Dir(dir)]; ok {
			inherited = parent.rules
		}
	}
	node, err := t.scan(dir, inherited)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || isNotDir(err) {
		t.removeSubtree(dir)
		if dir != "." {
			t.dirty[path.Dir(dir)] = true
		}
		t.flat = nil
		return true, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	node.watched = old.watched
	if node.ignore != old.ignore {
		t.removeSubtree(dir)
		if err := t.loadLocked(ctx, dir, inherited); err != nil {
			return true, nil, err
		}
		t.dirs[dir].watched = node.watched
		var added []string
		for d := range t.dirs {
			if d == dir || strings.HasPrefix(d, dir+"/") || dir == "." {
				added = append(added, d)
			}
		}
		return true, added, nil
	}
	if slices.Equal(node.entries, old.entries) {
		return false, nil, nil
	}
	was := map[string]bool{}
	for _, e := range old.entries {
		if e.Dir {
			was[e.Path] = true
		}
	}
	t.dirs[dir] = node
	var added []string
	for _, e := range node.entries {
		if !e.Dir {
			continue
		}
		if was[e.Path] {
			delete(was, e.Path)
			continue
		}
		if err := t.loadLocked(ctx, e.Path, node.rules); err != nil {
			return true, nil, err
		}
		for d := range t.dirs {
			if d == e.Path || strings.HasPrefix(d, e.Path+"/") {
				added = append(added, d)
			}
		}
	}
	for gone := range was {
		t.removeSubtree(gone)
	}
	t.flat = nil
	t.recount()
	return true, added, nil
}

func isNotDir(err error) bool {
	var pe *fs.PathError
	return err != nil && errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
}

// removeSubtree forgets dir and every directory beneath it.
func (t *Tree) removeSubtree(dir string) {
	for d := range t.dirs {
		if d == dir || dir == "." || strings.HasPrefix(d, dir+"/") {
			if n := t.dirs[d]; n.watched && t.w != nil {
				t.w.remove(d)
			}
			delete(t.dirs, d)
		}
	}
}

// flatten builds the listing from t.dirs, depth first.
func (t *Tree) flatten() {
	n := 0
	for _, d := range t.dirs {
		n += len(d.entries)
	}
	flat := make([]Entry, 0, n)
	var walk func(dir string)
	walk = func(dir string) {
		node := t.dirs[dir]
		if node == nil {
			return
		}
		for _, e := range node.entries {
			flat = append(flat, e)
			if e.Dir {
				walk(e.Path)
			}
		}
	}
	walk(".")
	t.flat = flat
	t.recount()
}

// recount estimates the memory the tree holds: every entry is kept in its
// directory and in the flat listing.
func (t *Tree) recount() {
	const perEntry, perDir = 48, 160
	var b int64
	for d, n := range t.dirs {
		b += perDir + int64(len(d))
		for _, e := range n.entries {
			b += 2 * (perEntry + int64(len(e.Path)))
		}
	}
	t.bytes = b
}

// comparePaths orders paths depth first: component by component, so that
// "a/b" sorts before "a-c". It compares as if "/" were the smallest byte.
func comparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		if ca < cb {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

// searchAfter returns the index of the first entry after p.
func searchAfter(flat []Entry, p string) int {
	i, found := slices.BinarySearchFunc(flat, p, func(e Entry, p string) int { return comparePaths(e.Path, p) })
	if found {
		i++
	}
	return i
}

// searchPrefixEnd returns how many entries at the start of flat have the
// prefix.
func searchPrefixEnd(flat []Entry, prefix string) int {
	i, _ := slices.BinarySearchFunc(flat, prefix, func(e Entry, prefix string) int {
		if strings.HasPrefix(e.Path, prefix) {
			return -1
		}
		return comparePaths(e.Path, prefix)
	})
	return i
}
