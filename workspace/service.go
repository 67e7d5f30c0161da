package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace/filetree"
	"github.com/gathering-dev/gathering/workspace/git"
	"github.com/gathering-dev/gathering/workspace/search"
)

// Defaults for [Config] fields left zero.
const (
	DefaultMaxReadBytes     = 8 << 20
	DefaultMaxWriteBytes    = 8 << 20
	DefaultMaxOpenProjects  = 64
	DefaultTreeLimit        = 1000
	MaxTreeLimit            = 10_000
	DefaultSearchMaxMatches = 1000
	MaxSearchMatches        = 100_000
)

// Errors of the [Service] that callers branch on, beside [ErrInvalidPath],
// [ErrPathEscapes], [ErrTooLarge] and the store's.
var (
	// ErrConflict means the file is not the version the caller expected:
	// someone changed it since the caller read it.
	ErrConflict = errors.New("conflict")
	// ErrNotFound means the file, directory or repository does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means an argument is out of bounds or malformed.
	ErrInvalid = errors.New("invalid argument")
)

// ProjectLookup is what a [Service] needs of the project service;
// [*Projects] provides it.
type ProjectLookup interface {
	Get(ctx context.Context, id string) (store.Project, error)
}

// Config holds the optional settings of a [Service]. nil means defaults.
type Config struct {
	// Exclude lists patterns never listed in trees nor searched, beside
	// what .gitignore files ignore (e.g. "node_modules"); ".git" always is.
	Exclude []string
	// MaxWatches bounds the directories watched per project (default
	// 8192); the rest are polled every PollInterval (default 5 s).
	MaxWatches   int
	PollInterval time.Duration
	// CacheBytes bounds the memory of all projects' tree listings (default
	// 256 MiB), least recently used dropped first.
	CacheBytes int64
	// MaxOpenProjects bounds the projects kept open, with their root
	// directory and watches (default 64).
	MaxOpenProjects int
	// MaxReadBytes and MaxWriteBytes bound the files read and written
	// (default 8 MiB each).
	MaxReadBytes, MaxWriteBytes int64
	// Git configures the git subprocess; Trusted, when set, says which
	// projects' repositories may run their own hooks and filters.
	Git     git.Config
	Trusted func(store.Project) bool
	Logger  *slog.Logger
}

// Service gives access to the files, git repositories and search of
// projects, each by its ID. It keeps recently used projects open.
//
// Methods are safe for concurrent use.
type Service struct {
	projects ProjectLookup
	cfg      Config
	cache    *filetree.Cache
	log      *slog.Logger

	mu     sync.Mutex
	open   map[string]*Project
	order  []string // least recently used first
	closed bool
}

// NewService returns a Service over the projects that lookup finds.
func NewService(lookup ProjectLookup, cfg *Config) *Service {
	s := &Service{projects: lookup, open: map[string]*Project{}}
	if cfg != nil {
		s.cfg = *cfg
	}
	c := &s.cfg
	if c.MaxOpenProjects <= 0 {
		c.MaxOpenProjects = DefaultMaxOpenProjects
	}
	if c.MaxReadBytes <= 0 {
		c.MaxReadBytes = DefaultMaxReadBytes
	}
	if c.MaxWriteBytes <= 0 {
		c.MaxWriteBytes = DefaultMaxWriteBytes
	}
	s.log = c.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.cache = filetree.NewCache(c.CacheBytes)
	return s
}

// Close closes every open project. The Service opens none afterwards.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	open := s.open
	s.open, s.order = map[string]*Project{}, nil
	s.mu.Unlock()
	for _, p := range open {
		p.close()
	}
	return nil
}

// Project returns the open project with the given ID, opening it on first
// use. The project's root is looked up every time, so a project whose root
// changed is opened again and a deleted one is [store.ErrNotFound].
func (s *Service) Project(ctx context.Context, id string) (*Project, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: projectId is required", ErrInvalid)
	}
	pr, err := s.projects.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("workspace service is closed")
	}
	if p, ok := s.open[id]; ok && p.info.Root == pr.Root {
		s.touchLocked(id)
		return p, nil
	} else if ok {
		go p.close()
		delete(s.open, id)
	}
	p, err := s.openProject(pr)
	if err != nil {
		return nil, err
	}
	s.open[id] = p
	s.touchLocked(id)
	for len(s.order) > s.cfg.MaxOpenProjects {
		old := s.order[0]
		s.order = s.order[1:]
		if op := s.open[old]; op != nil {
			delete(s.open, old)
			go op.close() // its requests in flight finish on the open root
		}
	}
	return p, nil
}

func (s *Service) touchLocked(id string) {
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.order = append(s.order, id)
}

func (s *Service) openProject(pr store.Project) (*Project, error) {
	root, err := OpenRoot(pr.Root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: project %q: root %s: %w", ErrNotFound, pr.ID, pr.Root, err)
		}
		return nil, fmt.Errorf("project %q: %w", pr.ID, err)
	}
	tree, err := filetree.New(root.root, root.dir, &filetree.Config{
		Exclude: s.cfg.Exclude, MaxWatches: s.cfg.MaxWatches, PollInterval: s.cfg.PollInterval,
		Cache: s.cache, Logger: s.log,
	})
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	gcfg := s.cfg.Git
	gcfg.Trusted = s.cfg.Trusted != nil && s.cfg.Trusted(pr)
	return &Project{info: pr, root: root, tree: tree, gitCfg: gcfg, svc: s}, nil
}

// Project is one open project: its root, its tree listing, its git
// repository and its search. Methods are safe for concurrent use.
type Project struct {
	info   store.Project
	root   *Root
	tree   *filetree.Tree
	gitCfg git.Config
	svc    *Service

	// writeMu serialises the backend's own changes, so that checking a
	// file's version and replacing it are one step for every writer that
	// goes through gathering.
	writeMu sync.Mutex

	gitMu     sync.Mutex
	repo      *git.Repo
	gitGen    uint64 // bumped by every git command that changes state
	status    *git.Status
	statusGen [2]uint64 // tree generation and gitGen the status was taken at
}

// ID returns the project's ID.
func (p *Project) ID() string { return p.info.ID }

// Root returns the project's root.
func (p *Project) Root() *Root { return p.root }

func (p *Project) close() {
	p.tree.Close()
	p.root.Close()
}

// URI returns the file:// URI of rel, a clean path in the project.
func (p *Project) URI(rel string) string {
	abs := p.root.Dir()
	if rel != "." {
		abs = filepath.Join(abs, filepath.FromSlash(rel))
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// ChangeType says what happened to a file, with the numbers of LSP's
// FileChangeType.
type ChangeType int

// The kinds of [Change].
const (
	Created ChangeType = 1
	Changed ChangeType = 2
	Deleted ChangeType = 3
)

// Change is a change the backend made to a project's files.
type Change struct {
	Path string
	Type ChangeType
}

// TreeOptions choose a page of [Project.Tree].
type TreeOptions struct {
	// Under is a directory to list beneath; "" is the root.
	Under string
	// Glob keeps the entries one of whose patterns match; Exclude drops
	// those one of whose patterns match, and does not descend into
	// directories it drops.
	Glob, Exclude []string
	// Cursor is the previous page's [TreePage.Cursor].
	Cursor string
	// Limit is the most entries (default 1000, at most 10,000).
	Limit int
	// NoGitStatus leaves every [TreeEntry.GitStatus] empty, and git
	// status is neither run nor read.
	NoGitStatus bool
}

// TreePage is one page of a tree listing.
type TreePage struct {
	// Entries may share memory with the tree's listing, and must not be
	// changed.
	Entries []filetree.Entry
	// Cursor resumes after this page; "" on the last.
	Cursor string
	// Git says whether the project is in a git work tree.
	Git bool
	// gitStatus[i] is Entries[i]'s code; nil when none has one.
	gitStatus []string
}

// GitStatus returns the two-letter code of `git status --short` ("M ",
// " M", "??", "A ", …) for Entries[i], or "" for an unchanged file,
// outside git, or when the listing did not ask for it.
func (pg *TreePage) GitStatus(i int) string {
	if pg.gitStatus == nil {
		return ""
	}
	return pg.gitStatus[i]
}

// Tree returns a page of the project's tree, depth first, with each
// entry's git status (see [TreePage.GitStatus]). The status is never older
// than the last change the tree saw or the backend made.
func (p *Project) Tree(ctx context.Context, opt TreeOptions) (*TreePage, error) {
	under := "."
	if opt.Under != "" {
		var err error
		if under, err = CleanPath(opt.Under); err != nil {
			return nil, err
		}
		if info, err := p.root.Stat(under); err != nil {
			return nil, p.notFound(err, under)
		} else if !info.IsDir() {
			return nil, fmt.Errorf("%w: %q is not a directory", ErrInvalid, under)
		}
	}
	switch {
	case opt.Limit < 0 || opt.Limit > MaxTreeLimit:
		return nil, fmt.Errorf("%w: limit must be between 0 and %d", ErrInvalid, MaxTreeLimit)
	case opt.Limit == 0:
		opt.Limit = DefaultTreeLimit
	case len(opt.Glob) > 64 || len(opt.Exclude) > 64:
		return nil, fmt.Errorf("%w: at most 64 glob and 64 exclude patterns", ErrInvalid)
	}
	after := ""
	if opt.Cursor != "" {
		c, err := decodeCursor(opt.Cursor)
		if err != nil {
			return nil, err
		}
		after = c
	}
	match, err := filetree.CompileGlob(opt.Glob)
	if err != nil {
		return nil, fmt.Errorf("%w: glob: %w", ErrInvalid, err)
	}
	exclude, err := filetree.CompileGlob(opt.Exclude)
	if err != nil {
		return nil, fmt.Errorf("%w: exclude: %w", ErrInvalid, err)
	}
	var st *statusIndex
	page := &TreePage{}
	if opt.NoGitStatus {
		_, err := p.Git(ctx)
		page.Git = err == nil
	} else {
		st = p.cachedStatus(ctx)
		page.Git = st != nil
	}
	lopt := filetree.ListOptions{Under: under, Match: match, After: after, Limit: opt.Limit}
	if err := p.treePage(ctx, page, lopt, exclude); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		if errors.Is(err, filetree.ErrTooLarge) {
			return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
		return nil, err
	}
	if st != nil {
		for i, e := range page.Entries {
			if code := statusOf(st, e); code != "" {
				if page.gitStatus == nil {
					page.gitStatus = make([]string, len(page.Entries))
				}
				page.gitStatus[i] = code
			}
		}
	}
	return page, nil
}

// treePage fills page's entries and cursor from the tree. Without exclude
// patterns the page is the tree's own, not a copy: a page of 10,000 is
// most of what a full listing costs.
func (p *Project) treePage(ctx context.Context, page *TreePage, lopt filetree.ListOptions, exclude filetree.Glob) error {
	if exclude.Empty() {
		entries, more, err := p.tree.List(ctx, lopt)
		if err != nil {
			return err
		}
		page.Entries = entries
		if more {
			page.Cursor = encodeCursor(entries[len(entries)-1].Path)
		}
		return nil
	}
	// Exclude patterns drop entries after the listing: keep reading pages
	// until this one is full or the tree ends.
	for {
		entries, more, err := p.tree.List(ctx, lopt)
		if err != nil {
			return err
		}
		if page.Entries == nil {
			page.Entries = make([]filetree.Entry, 0, len(entries))
		}
		for _, e := range entries {
			lopt.After = e.Path
			if excluded(exclude, e) {
				continue
			}
			page.Entries = append(page.Entries, e)
			if len(page.Entries) == lopt.Limit {
				break
			}
		}
		if len(page.Entries) == lopt.Limit {
			if more || lopt.After != entries[len(entries)-1].Path {
				page.Cursor = encodeCursor(lopt.After)
			}
			return nil
		}
		if !more {
			return nil
		}
	}
}

// excluded reports whether exclude matches e or a directory above it.
func excluded(exclude filetree.Glob, e filetree.Entry) bool {
	if exclude.Match(e.Path, e.Dir) {
		return true
	}
	for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
		if exclude.Match(d, true) {
			return true
		}
	}
	return false
}

// statusOf is e's code in st: its own entry, or "??" beneath an untracked
// directory that git reports whole.
func statusOf(st *statusIndex, e filetree.Entry) string {
	if st == nil {
		return ""
	}
	if code, ok := st.byPath[e.Path]; ok {
		return code
	}
	if len(st.untrackedDirs) == 0 {
		return ""
	}
	for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
		if st.untrackedDirs[d] {
			return "??"
		}
	}
	if e.Dir && st.untrackedDirs[e.Path] {
		return "??"
	}
	return ""
}

type statusIndex struct {
	byPath        map[string]string
	untrackedDirs map[string]bool
}

// cachedStatus returns the git status for tree listings, taken again when
// the tree or git changed since it was last taken; nil outside git or when
// git fails (the listing goes on without it).
func (p *Project) cachedStatus(ctx context.Context) *statusIndex {
	st, err := p.gitStatus(ctx, false)
	if err != nil {
		if !errors.Is(err, git.ErrNotRepository) {
			p.svc.log.Warn("git status for the tree failed", slog.String("project", p.info.ID), slog.Any("error", err))
		}
		return nil
	}
	idx := &statusIndex{byPath: map[string]string{}, untrackedDirs: map[string]bool{}}
	for _, e := range st.Entries {
		if d, ok := cutSlash(e.Path); ok && e.Untracked() {
			idx.untrackedDirs[d] = true
			continue
		}
		idx.byPath[e.Path] = e.Code()
	}
	return idx
}

func cutSlash(p string) (string, bool) {
	if len(p) > 0 && p[len(p)-1] == '/' {
		return p[:len(p)-1], true
	}
	return p, false
}

// Git returns the project's repository, or an error wrapping
// [git.ErrNotRepository].
func (p *Project) Git(ctx context.Context) (*git.Repo, error) {
	p.gitMu.Lock()
	repo := p.repo
	p.gitMu.Unlock()
	if repo != nil {
		return repo, nil
	}
	repo, err := git.Open(ctx, p.root.Dir(), &p.gitCfg)
	if err != nil {
		return nil, err
	}
	p.gitMu.Lock()
	if p.repo == nil {
		p.repo = repo
	}
	repo = p.repo
	p.gitMu.Unlock()
	return repo, nil
}

// GitStatus runs git status now and returns it.
func (p *Project) GitStatus(ctx context.Context) (*git.Status, error) {
	return p.gitStatus(ctx, true)
}

// gitStatus returns the status, from the cache unless fresh is set or the
// tree or git changed since it was taken.
func (p *Project) gitStatus(ctx context.Context, fresh bool) (*git.Status, error) {
	repo, err := p.Git(ctx)
	if err != nil {
		return nil, err
	}
	// Read the generations before running git: a change that lands while
	// git runs leaves the cache marked older, so it is taken again.
	p.gitMu.Lock()
	gen := [2]uint64{p.tree.Generation(), p.gitGen}
	if !fresh && p.status != nil && p.statusGen == gen {
		st := p.status
		p.gitMu.Unlock()
		return st, nil
	}
	p.gitMu.Unlock()
	st, err := repo.Status(ctx)
	if err != nil {
		return nil, err
	}
	p.gitMu.Lock()
	p.status, p.statusGen = st, gen
	p.gitMu.Unlock()
	return st, nil
}

// GitChanged records that a git command changed the index or HEAD, so the
// cached status is taken again.
func (p *Project) GitChanged() {
	p.gitMu.Lock()
	p.gitGen++
	p.gitMu.Unlock()
}

// GitPaths checks paths for a git command: each must lie inside the
// project, and through no symbolic link that leads out.
func (p *Project) GitPaths(paths []string) ([]string, error) {
	if len(paths) == 0 || len(paths) > 10_000 {
		return nil, fmt.Errorf("%w: between 1 and 10000 paths are needed", ErrInvalid)
	}
	out := make([]string, len(paths))
	for i, name := range paths {
		rel, err := p.root.Check(name)
		if err != nil {
			return nil, err
		}
		out[i] = rel
	}
	return out, nil
}

// File is a file's contents, or what is known of it.
type File struct {
	Path string
	// Content is nil for a binary file (a NUL byte in its first 8000
	// bytes, or invalid UTF-8).
	Content []byte
	Binary  bool
	Size    int64
	ModTime time.Time
	// Version identifies the contents: "sha256:" and their SHA-256 in hex.
	Version string
}

// Version returns the version string of data.
func Version(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Read returns the text of the regular file name. A file over maxBytes
// (0 means the configured limit, and no more than it) is [ErrTooLarge]; a
// binary one comes back with Binary set and no Content.
func (p *Project) Read(ctx context.Context, name string, maxBytes int64) (*File, error) {
	if maxBytes <= 0 || maxBytes > p.svc.cfg.MaxReadBytes {
		maxBytes = p.svc.cfg.MaxReadBytes
	}
	rel, err := fileName(name)
	if err != nil {
		return nil, err
	}
	info, err := p.root.Stat(rel)
	if err != nil {
		return nil, p.notFound(err, rel)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %q is not a regular file", ErrInvalid, rel)
	}
	data, err := p.root.ReadFile(rel, maxBytes)
	if err != nil {
		return nil, p.notFound(err, rel)
	}
	f := &File{Path: rel, Size: int64(len(data)), ModTime: info.ModTime().UTC(), Version: Version(data)}
	if isBinary(data) {
		f.Binary = true
	} else {
		f.Content = data
	}
	return f, nil
}

func isBinary(data []byte) bool {
	sniff := data[:min(len(data), 8000)]
	for _, c := range sniff {
		if c == 0 {
			return true
		}
	}
	return !utf8.Valid(data)
}

// WriteOptions qualify [Project.Write].
type WriteOptions struct {
	// ExpectedVersion must be the file's current [File.Version], or "" for
	// a file that must not exist yet; anything else is [ErrConflict].
	ExpectedVersion string
	// MakeParents creates missing parent directories.
	MakeParents bool
}

// Write replaces name's contents with data, atomically, if the file is at
// the expected version. It returns the new file (without Content) and the
// changes it made.
func (p *Project) Write(ctx context.Context, name string, data []byte, opt WriteOptions) (*File, []Change, error) {
	rel, err := fileName(name)
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > p.svc.cfg.MaxWriteBytes {
		return nil, nil, fmt.Errorf("write %q: %w: %d bytes, limit %d", rel, ErrTooLarge, len(data), p.svc.cfg.MaxWriteBytes)
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	current, err := p.currentVersion(rel)
	if err != nil {
		return nil, nil, err
	}
	if current != opt.ExpectedVersion {
		return nil, nil, conflict(rel, opt.ExpectedVersion, current)
	}
	var changes []Change
	if opt.MakeParents {
		if dir := path.Dir(rel); dir != "." {
			created, err := p.mkdirAll(dir)
			if err != nil {
				return nil, nil, err
			}
			changes = append(changes, created...)
		}
	}
	if err := p.root.WriteFile(rel, data, 0o644); err != nil {
		p.tree.Invalidate(rel)
		return nil, nil, p.notFound(err, rel)
	}
	p.tree.Invalidate(rel)
	kind := Changed
	if current == "" {
		kind = Created
	}
	changes = append(changes, Change{Path: rel, Type: kind})
	info, err := p.root.Stat(rel)
	if err != nil {
		return nil, nil, p.notFound(err, rel)
	}
	return &File{Path: rel, Size: int64(len(data)), ModTime: info.ModTime().UTC(), Version: Version(data)}, changes, nil
}

// currentVersion returns rel's version, or "" when it does not exist.
func (p *Project) currentVersion(rel string) (string, error) {
	data, err := p.root.ReadFile(rel, p.svc.cfg.MaxWriteBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", p.notFound(err, rel)
	}
	return Version(data), nil
}

func conflict(rel, expected, current string) error {
	switch {
	case expected == "":
		return fmt.Errorf("%w: %q already exists (version %s)", ErrConflict, rel, current)
	case current == "":
		return fmt.Errorf("%w: %q no longer exists; expected version %s", ErrConflict, rel, expected)
	}
	return fmt.Errorf("%w: %q changed: it is at version %s, not %s", ErrConflict, rel, current, expected)
}

// mkdirAll creates dir and its missing parents, reporting the ones it
// created.
func (p *Project) mkdirAll(dir string) ([]Change, error) {
	var missing []string
	for d := dir; d != "."; d = path.Dir(d) {
		info, err := p.root.Stat(d)
		if err == nil {
			if !info.IsDir() {
				return nil, fmt.Errorf("%w: %q is not a directory", ErrConflict, d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, p.notFound(err, d)
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil, nil
	}
	err := p.root.MkdirAll(dir, 0o755)
	p.tree.Invalidate(missing[len(missing)-1])
	if err != nil {
		return nil, p.notFound(err, dir)
	}
	var changes []Change
	for i := len(missing) - 1; i >= 0; i-- {
		changes = append(changes, Change{Path: missing[i], Type: Created})
	}
	return changes, nil
}

// Mkdir creates the directory name and any missing parents.
func (p *Project) Mkdir(ctx context.Context, name string) ([]Change, error) {
	rel, err := fileName(name)
	if err != nil {
		return nil, err
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	return p.mkdirAll(rel)
}

// DeleteOptions qualify [Project.Delete].
type DeleteOptions struct {
	// ExpectedVersion, when set, must be a file's current version.
	ExpectedVersion string
	// Recursive allows removing a directory that is not empty.
	Recursive bool
}

// Delete removes the file, link or directory name.
func (p *Project) Delete(ctx context.Context, name string, opt DeleteOptions) ([]Change, error) {
	rel, err := fileName(name)
	if err != nil {
		return nil, err
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	info, err := p.root.Lstat(rel)
	if err != nil {
		return nil, p.notFound(err, rel)
	}
	if opt.ExpectedVersion != "" {
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %q is not a regular file, so it has no version", ErrInvalid, rel)
		}
		current, err := p.currentVersion(rel)
		if err != nil {
			return nil, err
		}
		if current != opt.ExpectedVersion {
			return nil, conflict(rel, opt.ExpectedVersion, current)
		}
	}
	if info.IsDir() && opt.Recursive {
		err = p.root.RemoveAll(rel)
	} else {
		err = p.root.Remove(rel)
	}
	p.tree.Invalidate(rel)
	if err != nil {
		if info.IsDir() && errors.Is(err, fs.ErrExist) || isNotEmpty(err) {
			return nil, fmt.Errorf("%w: directory %q is not empty; pass recursive to remove it with its contents", ErrConflict, rel)
		}
		return nil, p.notFound(err, rel)
	}
	return []Change{{Path: rel, Type: Deleted}}, nil
}

func isNotEmpty(err error) bool {
	pe, ok := errors.AsType[*fs.PathError](err)
	return ok && pe.Err != nil && (pe.Err.Error() == "directory not empty")
}

// Rename moves from to to. An existing to is [ErrConflict] unless
// overwrite is set (and both are files).
func (p *Project) Rename(ctx context.Context, from, to string, overwrite bool) ([]Change, error) {
	relFrom, err := fileName(from)
	if err != nil {
		return nil, err
	}
	relTo, err := fileName(to)
	if err != nil {
		return nil, err
	}
	if relFrom == relTo {
		return nil, fmt.Errorf("%w: from and to are the same path", ErrInvalid)
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if _, err := p.root.Lstat(relFrom); err != nil {
		return nil, p.notFound(err, relFrom)
	}
	if _, err := p.root.Lstat(relTo); err == nil && !overwrite {
		return nil, fmt.Errorf("%w: %q already exists; pass overwrite to replace it", ErrConflict, relTo)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, p.notFound(err, relTo)
	}
	err = p.root.Rename(relFrom, relTo)
	p.tree.Invalidate(relFrom)
	p.tree.Invalidate(relTo)
	if err != nil {
		return nil, p.notFound(err, relFrom)
	}
	return []Change{{Path: relFrom, Type: Deleted}, {Path: relTo, Type: Created}}, nil
}

// SearchOptions describe a [Project.Search].
type SearchOptions struct {
	search.Options
	// Under limits the search to a directory.
	Under string
	// Include keeps files one of whose patterns match; Exclude drops them.
	Include, Exclude []string
}

// Search searches the project's files that the tree lists (so nothing
// ignored or excluded), bounded as opt says.
func (p *Project) Search(ctx context.Context, opt SearchOptions) (*search.Result, error) {
	if opt.MaxMatches < 0 || opt.MaxMatches > MaxSearchMatches {
		return nil, fmt.Errorf("%w: maxMatches must be between 0 and %d", ErrInvalid, MaxSearchMatches)
	}
	include, err := filetree.CompileGlob(opt.Include)
	if err != nil {
		return nil, fmt.Errorf("%w: include: %w", ErrInvalid, err)
	}
	exclude, err := filetree.CompileGlob(opt.Exclude)
	if err != nil {
		return nil, fmt.Errorf("%w: exclude: %w", ErrInvalid, err)
	}
	under := "."
	if opt.Under != "" {
		if under, err = p.root.Check(opt.Under); err != nil {
			return nil, err
		}
	}
	files, err := p.tree.Files(ctx)
	if err != nil {
		return nil, err
	}
	if under != "." || !include.Empty() || !exclude.Empty() {
		kept := files[:0]
		for _, f := range files {
			if under != "." && !(len(f) > len(under) && f[:len(under)] == under && f[len(under)] == '/') {
				continue
			}
			e := filetree.Entry{Path: f}
			if !include.Match(f, false) || (!exclude.Empty() && excluded(exclude, e)) {
				continue
			}
			kept = append(kept, f)
		}
		files = kept
	}
	res, err := search.Search(ctx, p.root.root, files, opt.Options)
	if errors.Is(err, search.ErrInvalid) {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return res, err
}

// notFound wraps a file-system "does not exist" error in [ErrNotFound],
// naming the path, and passes others through.
func (p *Project) notFound(err error, rel string) error {
	if errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %q in project %q", ErrNotFound, rel, p.info.ID)
	}
	return err
}

// encodeCursor makes the opaque cursor for resuming after path p.
func encodeCursor(p string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(p))
}

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > MaxPathLen {
		return "", fmt.Errorf("%w: malformed cursor", ErrInvalid)
	}
	return string(b), nil
}
