package workspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gathering-dev/gathering/store"
)

// MaxNameLen is the longest project name, in characters, after trimming.
const MaxNameLen = 200

// ProjectStore is the part of the store [Projects] uses; [store.Store]
// satisfies it. Its methods behave as documented there.
type ProjectStore interface {
	CreateProject(ctx context.Context, p store.Project) (store.Project, error)
	GetProject(ctx context.Context, id string) (store.Project, error)
	GetProjectByRoot(ctx context.Context, root string) (store.Project, error)
	ListProjects(ctx context.Context, opt store.ListOptions) ([]store.Project, string, error)
	UpdateProject(ctx context.Context, id string, u store.ProjectUpdate) (store.Project, error)
	DeleteProject(ctx context.Context, id string) error
}

var _ ProjectStore = store.Store(nil)

// ProjectsConfig holds the optional settings of [Projects]. The zero value
// and nil both mean the defaults.
type ProjectsConfig struct {
	// Logger receives a line for each project [Projects.EnsureFolder]
	// creates. If nil, nothing is logged.
	Logger *slog.Logger
}

// Projects validates projects on their way into the store and maps LSP
// workspace folders to them. Every error for a name, root or URI the caller
// got wrong wraps [store.ErrInvalid] and says what is wrong; errors from the
// store pass through wrapped, so [store.ErrNotFound] and [store.ErrConflict]
// still match.
//
// A valid name is 1 to [MaxNameLen] characters of UTF-8 once surrounding
// space is trimmed, with no control characters and no bidirectional
// formatting characters (which can make a name display as another). A valid
// root is an absolute path of at most [MaxPathLen] bytes to an existing
// directory; it is stored cleaned and with symbolic links resolved, so one
// directory has one spelling and so one project.
//
// Methods are safe for concurrent use.
type Projects struct {
	store  ProjectStore
	logger *slog.Logger
}

// NewProjects returns a Projects that keeps projects in st. If cfg is nil,
// defaults are used.
func NewProjects(st ProjectStore, cfg *ProjectsConfig) *Projects {
	if cfg == nil {
		cfg = &ProjectsConfig{}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Projects{store: st, logger: logger}
}

// Create validates name and root and stores a new project. It fails with
// [store.ErrConflict] if a project already has that root.
func (p *Projects) Create(ctx context.Context, name, root string) (store.Project, error) {
	name, err := checkName(name)
	if err != nil {
		return store.Project{}, err
	}
	root, err = cleanRoot(root)
	if err != nil {
		return store.Project{}, err
	}
	proj, err := p.store.CreateProject(ctx, store.Project{Name: name, Root: root})
	if err != nil {
		return store.Project{}, fmt.Errorf("create project %q at %q: %w", name, root, err)
	}
	return proj, nil
}

// Get returns the project with the given ID. The store's errors already
// name the project.
func (p *Projects) Get(ctx context.Context, id string) (store.Project, error) {
	return p.store.GetProject(ctx, id)
}

// List returns a page of projects and the cursor for the next, as
// [store.Store.ListProjects] does.
func (p *Projects) List(ctx context.Context, opt store.ListOptions) ([]store.Project, string, error) {
	projs, next, err := p.store.ListProjects(ctx, opt)
	if err != nil {
		return nil, "", fmt.Errorf("list projects: %w", err)
	}
	return projs, next, nil
}

// Update validates and applies the non-nil fields of u. The caller's u is
// not modified.
func (p *Projects) Update(ctx context.Context, id string, u store.ProjectUpdate) (store.Project, error) {
	var checked store.ProjectUpdate
	if u.Name != nil {
		name, err := checkName(*u.Name)
		if err != nil {
			return store.Project{}, err
		}
		checked.Name = &name
	}
	if u.Root != nil {
		root, err := cleanRoot(*u.Root)
		if err != nil {
			return store.Project{}, err
		}
		checked.Root = &root
	}
	proj, err := p.store.UpdateProject(ctx, id, checked)
	if err != nil {
		return store.Project{}, fmt.Errorf("update project %q: %w", id, err)
	}
	return proj, nil
}

// Delete removes the project with the given ID. Its files are not touched.
func (p *Projects) Delete(ctx context.Context, id string) error {
	if err := p.store.DeleteProject(ctx, id); err != nil {
		return fmt.Errorf("delete project %q: %w", id, err)
	}
	return nil
}

// EnsureFolder returns the project for an LSP workspace folder, given by its
// file:// URI and its name, creating the project if no project has that
// root. An existing project keeps its own name. An empty name means the
// folder's base name, with control characters replaced and cut to
// [MaxNameLen]; a non-empty one must be valid.
//
// It is idempotent, and concurrent calls for the same folder, in this
// process or another, all return the one project: a create that loses the
// race reads the winner's project back.
func (p *Projects) EnsureFolder(ctx context.Context, uri, name string) (store.Project, error) {
	abs, err := fileURIPath(uri)
	if err != nil {
		return store.Project{}, fmt.Errorf("%w: workspace folder: %w", store.ErrInvalid, err)
	}
	root, err := cleanRoot(filepath.FromSlash(abs))
	if err != nil {
		return store.Project{}, err
	}
	if strings.TrimSpace(name) == "" {
		name = folderName(root)
	}
	name, err = checkName(name)
	if err != nil {
		return store.Project{}, err
	}

	proj, err := p.store.GetProjectByRoot(ctx, root)
	if err == nil {
		return proj, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Project{}, fmt.Errorf("workspace folder %q: %w", uri, err)
	}
	proj, err = p.store.CreateProject(ctx, store.Project{Name: name, Root: root})
	switch {
	case err == nil:
		p.logger.InfoContext(ctx, "project created for workspace folder",
			slog.String("project", proj.ID), slog.String("root", proj.Root))
		return proj, nil
	case errors.Is(err, store.ErrConflict):
		// Another call created the project between our read and our create.
		proj, err = p.store.GetProjectByRoot(ctx, root)
	}
	if err != nil {
		return store.Project{}, fmt.Errorf("workspace folder %q: %w", uri, err)
	}
	return proj, nil
}

// checkName returns name trimmed of surrounding space if it is a valid
// project name (see [Projects]), or an error wrapping [store.ErrInvalid].
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: project name %q: not valid UTF-8", store.ErrInvalid, name)
	}
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", fmt.Errorf("%w: project name is empty", store.ErrInvalid)
	case n > MaxNameLen:
		return "", fmt.Errorf("%w: project name %q…: %d characters, longer than the limit of %d",
			store.ErrInvalid, string([]rune(name)[:40]), n, MaxNameLen)
	}
	for _, r := range name {
		switch {
		case unicode.IsControl(r):
			return "", fmt.Errorf("%w: project name %q: contains control character %U", store.ErrInvalid, name, r)
		case isBidiControl(r):
			return "", fmt.Errorf("%w: project name %q: contains bidirectional formatting character %U", store.ErrInvalid, name, r)
		}
	}
	return name, nil
}

// isBidiControl reports whether r is one of the Unicode characters that
// change the display order of the text around them.
func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' ||
		('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069')
}

// folderName derives a project name from a root directory: its base name,
// made valid so that any directory can name its project.
func folderName(root string) string {
	name := strings.ToValidUTF8(filepath.Base(root), "\uFFFD")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) {
			return '\uFFFD'
		}
		return r
	}, name)
	if runes := []rune(name); len(runes) > MaxNameLen {
		name = string(runes[:MaxNameLen])
	}
	return name
}

// cleanRoot returns root cleaned and with symbolic links resolved if it is a
// valid project root (see [Projects]), or an error wrapping
// [store.ErrInvalid].
//
// It reads the file system directly rather than through an [os.Root]: it
// checks the directory that will become a root, not a path inside one.
func cleanRoot(root string) (string, error) {
	invalid := func(reason string) error {
		return fmt.Errorf("%w: project root %q: %s", store.ErrInvalid, shorten(root), reason)
	}
	switch {
	case root == "":
		return "", fmt.Errorf("%w: project root is empty", store.ErrInvalid)
	case len(root) > MaxPathLen:
		return "", invalid(fmt.Sprintf("%d bytes, longer than the limit of %d", len(root), MaxPathLen))
	case strings.IndexByte(root, 0) >= 0:
		return "", invalid("contains a NUL byte")
	case !filepath.IsAbs(root):
		return "", invalid("not an absolute path")
	}
	resolved, err := filepath.EvalSymlinks(filepath.Clean(root))
	if err != nil {
		return "", fmt.Errorf("%w: project root %q: %w", store.ErrInvalid, shorten(root), err)
	}
	if len(resolved) > MaxPathLen {
		return "", invalid(fmt.Sprintf("resolves to %d bytes, longer than the limit of %d", len(resolved), MaxPathLen))
	}
	info, err := os.Stat(resolved)
	if err != nil {
		return "", fmt.Errorf("%w: project root %q: %w", store.ErrInvalid, shorten(root), err)
	}
	if !info.IsDir() {
		return "", invalid("not a directory")
	}
	return resolved, nil
}
