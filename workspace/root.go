package workspace

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ErrTooLarge means a file is bigger than the limit its reader set.
var ErrTooLarge = errors.New("file too large")

// maxLinkHops bounds how many symbolic links [Root.WriteFile] follows from
// the name it is given; os.Root uses the same limit (POSIX SYMLOOP_MAX).
const maxLinkHops = 8

// Root gives access to the files beneath one project directory and nothing
// else. Every method takes a client-supplied path, checks it with
// [CleanPath], and reaches the file system only through an [os.Root], which
// refuses symbolic links that lead outside; those refusals come back wrapping
// [ErrPathEscapes].
//
// Methods are safe for concurrent use. After [Root.Close] they fail.
type Root struct {
	dir      string // as given to OpenRoot, cleaned
	resolved string // dir with symbolic links resolved
	root     *os.Root

	// escapes is the os package's own "path escapes from parent" error, which
	// it does not export. OpenRoot captures it by asking os.Root for "..",
	// so that later refusals are recognised by identity, not by message.
	escapes error
}

// OpenRoot opens dir, which must be an absolute path to an existing
// directory, as a project root. The caller must [Root.Close] it.
func OpenRoot(dir string) (*Root, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("open root %q: %w: not an absolute path", dir, ErrInvalidPath)
	}
	dir = filepath.Clean(dir)
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	_, err = root.Stat("..")
	pathErr, ok := errors.AsType[*fs.PathError](err)
	if !ok {
		root.Close()
		return nil, fmt.Errorf("open root %q: os.Root did not refuse \"..\" as expected: %v", dir, err)
	}
	return &Root{dir: dir, resolved: resolved, root: root, escapes: pathErr.Err}, nil
}

// Dir returns the directory given to [OpenRoot], cleaned.
func (r *Root) Dir() string { return r.dir }

// Close releases the directory. Calling it again does nothing.
func (r *Root) Close() error { return r.root.Close() }

// ReadFile returns the contents of the regular file name. A file bigger than
// maxBytes, which must be positive, is not read: the error wraps
// [ErrTooLarge]. Named pipes and devices are refused without blocking.
func (r *Root) ReadFile(name string, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("read %q: maxBytes must be positive, got %d", name, maxBytes)
	}
	rel, err := fileName(name)
	if err != nil {
		return nil, err
	}
	f, err := r.openRead(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read %q: not a regular file (mode %s)", rel, info.Mode().Type())
	}
	if info.Size() > maxBytes {
		return nil, fmt.Errorf("read %q: %w: %d bytes, limit %d", rel, ErrTooLarge, info.Size(), maxBytes)
	}
	// Read one byte past the limit to notice a file that grew since Stat.
	limit := maxBytes
	if limit < math.MaxInt64 {
		limit++
	}
	var buf bytes.Buffer
	buf.Grow(int(info.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, limit)); err != nil {
		return nil, fmt.Errorf("read %q: %w", rel, err)
	}
	if int64(buf.Len()) > maxBytes {
		return nil, fmt.Errorf("read %q: %w: grew past the limit of %d bytes while being read", rel, ErrTooLarge, maxBytes)
	}
	return buf.Bytes(), nil
}

// WriteFile replaces the contents of the file name with data, atomically:
// data goes to a temporary file in the same directory, is synced, and is
// renamed over name, so readers see the old contents or the new, never a
// part. As with [os.WriteFile], perm (before the umask) applies only when the
// file is created; an existing file keeps its permission bits. The parent
// directory must exist.
//
// If name is a symbolic link, the file it leads to (which must be inside the
// root) is replaced and the link is kept.
func (r *Root) WriteFile(name string, data []byte, perm fs.FileMode) error {
	rel, err := fileName(name)
	if err != nil {
		return err
	}
	target, err := r.linkTarget(rel)
	if err != nil {
		return err
	}
	existing, err := r.root.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A new file: perm applies.
	case err != nil:
		return r.fsError(err)
	case !existing.Mode().IsRegular():
		return fmt.Errorf("write %q: not a regular file (mode %s)", rel, existing.Mode().Type())
	default:
		perm = existing.Mode().Perm()
	}

	tmp := path.Join(path.Dir(target), ".gathering-write-"+rand.Text()+".tmp")
	f, err := r.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write %q: %w", rel, r.fsError(err))
	}
	err = writeSync(f, data, existing)
	if err == nil {
		err = r.root.Rename(tmp, target)
	}
	if err != nil {
		r.root.Remove(tmp) // Best effort: the write already failed.
		return fmt.Errorf("write %q: %w", rel, r.fsError(err))
	}
	return nil
}

// writeSync writes data to f, gives it existing's exact permission bits
// (which the umask may have trimmed at creation) when there was a file
// before, syncs it and closes it.
func writeSync(f *os.File, data []byte, existing fs.FileInfo) error {
	_, err := f.Write(data)
	if err == nil && existing != nil {
		err = f.Chmod(existing.Mode().Perm())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// linkTarget follows rel while its last element is a symbolic link and
// returns the clean path of the file it leads to, so that WriteFile replaces
// that file instead of the link. Links are resolved by their text; when the
// target exists, it must be the file os.Root itself reaches through rel, or
// linkTarget refuses rather than write somewhere else.
func (r *Root) linkTarget(rel string) (string, error) {
	target := rel
	for range maxLinkHops {
		info, err := r.root.Lstat(target)
		if errors.Is(err, fs.ErrNotExist) {
			return target, nil // a new file, or a link to one not made yet
		}
		if err != nil {
			return "", r.fsError(err)
		}
		if info.Mode().Type() != fs.ModeSymlink {
			if target != rel {
				if err := r.sameFile(rel, target); err != nil {
					return "", err
				}
			}
			return target, nil
		}
		link, err := r.root.Readlink(target)
		if err != nil {
			return "", r.fsError(err)
		}
		link = filepath.ToSlash(link)
		if path.IsAbs(link) || hasDriveLetter(link) {
			return "", pathError(ErrPathEscapes, rel, fmt.Sprintf("symbolic link %q leads to absolute path %q", target, link))
		}
		next, err := CleanPath(path.Join(path.Dir(target), link))
		if err != nil {
			return "", fmt.Errorf("write %q: symbolic link %q to %q: %w", rel, target, link, err)
		}
		target = next
	}
	return "", fmt.Errorf("write %q: more than %d symbolic links", rel, maxLinkHops)
}

// sameFile checks that rel, followed by os.Root, reaches the file target.
func (r *Root) sameFile(rel, target string) error {
	through, err := r.root.Stat(rel)
	if err != nil {
		return r.fsError(err)
	}
	at, err := r.root.Lstat(target)
	if err != nil {
		return r.fsError(err)
	}
	if !os.SameFile(through, at) {
		return fmt.Errorf("write %q: cannot tell which file its symbolic links lead to", rel)
	}
	return nil
}

// Stat returns information about name, following symbolic links inside the
// root. The root itself is ".".
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	rel, err := CleanPath(name)
	if err != nil {
		return nil, err
	}
	info, err := r.root.Stat(rel)
	if err != nil {
		return nil, r.fsError(err)
	}
	return info, nil
}

// Remove removes the file or empty directory name. A symbolic link is
// removed itself, not what it leads to. The root cannot be removed.
func (r *Root) Remove(name string) error {
	rel, err := fileName(name)
	if err != nil {
		return err
	}
	return r.fsError(r.root.Remove(rel))
}

// Rename moves from to to, replacing to if it is a file, as [os.Rename]
// does. Neither may be the root.
func (r *Root) Rename(from, to string) error {
	relFrom, err := fileName(from)
	if err != nil {
		return err
	}
	relTo, err := fileName(to)
	if err != nil {
		return err
	}
	return r.fsError(r.root.Rename(relFrom, relTo))
}

// MkdirAll creates the directory name and any missing parents with perm
// (before the umask). It does nothing if name is already a directory.
func (r *Root) MkdirAll(name string, perm fs.FileMode) error {
	rel, err := CleanPath(name)
	if err != nil {
		return err
	}
	return r.fsError(r.root.MkdirAll(rel, perm))
}

// ReadDir returns the entries of the directory name, sorted by name. The
// root itself is ".". It reads the whole directory; bounding large trees is
// the caller's job.
func (r *Root) ReadDir(name string) ([]fs.DirEntry, error) {
	rel, err := CleanPath(name)
	if err != nil {
		return nil, err
	}
	f, err := r.openRead(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("read directory %q: %w", rel, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// RelFromURI returns the clean path, relative to the root, of the file a
// file:// URI names; the root itself is ".". The URI may name the root
// either as given to [OpenRoot] or with its symbolic links resolved. A path
// outside the root, lexically or through a symbolic link that already
// exists, is refused with [ErrPathEscapes]; a malformed URI or a path that
// [CleanPath] refuses, with its error. The file need not exist.
func (r *Root) RelFromURI(uri string) (string, error) {
	abs, err := fileURIPath(uri)
	if err != nil {
		return "", err
	}
	rel, ok := under(r.dir, abs)
	if !ok {
		rel, ok = under(r.resolved, abs)
	}
	if !ok {
		return "", pathError(ErrPathEscapes, uri, fmt.Sprintf("outside the root %q", r.dir))
	}
	rel, err = CleanPath(rel)
	if err != nil {
		return "", fmt.Errorf("uri %q: %w", uri, err)
	}
	// A link on the way out of the root is refused here, not on first use,
	// so callers never hold a path that only looks as if it were inside.
	if _, err := r.root.Stat(rel); err != nil && errors.Is(err, r.escapes) {
		return "", fmt.Errorf("uri %q: %w", uri, r.fsError(err))
	}
	return rel, nil
}

// under returns abs relative to dir, slash-separated, when abs is dir or
// beneath it.
func under(dir, abs string) (string, bool) {
	dir = filepath.ToSlash(dir)
	if abs == dir {
		return ".", true
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	rel, ok := strings.CutPrefix(abs, prefix)
	return rel, ok
}

// openRead opens the clean path rel for reading without blocking on a named
// pipe (see openReadFlags).
func (r *Root) openRead(rel string) (*os.File, error) {
	f, err := r.root.OpenFile(rel, openReadFlags, 0)
	if err != nil {
		return nil, r.fsError(err)
	}
	return f, nil
}

// fileName is CleanPath for an operation that needs an entry in the root,
// not the root itself.
func fileName(name string) (string, error) {
	rel, err := CleanPath(name)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "", pathError(ErrInvalidPath, name, "names the root directory; a file is required")
	}
	return rel, nil
}

// fsError translates os.Root's refusal of a symbolic link that leads out of
// the root into [ErrPathEscapes] and passes any other error through.
// CleanPath has already refused every escape that is visible in the text, so
// the only way os.Root still finds one is through a link.
func (r *Root) fsError(err error) error {
	if err != nil && errors.Is(err, r.escapes) {
		return fmt.Errorf("%w through a symbolic link: %w", ErrPathEscapes, err)
	}
	return err
}

// RemoveAll removes name and everything beneath it, as [os.RemoveAll]
// does, without following symbolic links. It does nothing if name does not
// exist. The root cannot be removed.
func (r *Root) RemoveAll(name string) error {
	rel, err := fileName(name)
	if err != nil {
		return err
	}
	return r.fsError(r.root.RemoveAll(rel))
}

// Lstat returns information about name without following a final symbolic
// link.
func (r *Root) Lstat(name string) (fs.FileInfo, error) {
	rel, err := CleanPath(name)
	if err != nil {
		return nil, err
	}
	info, err := r.root.Lstat(rel)
	if err != nil {
		return nil, r.fsError(err)
	}
	return info, nil
}

// Check returns the clean form of name if it names something inside the
// root, existing or not, for callers that hand the path to another program
// (git) rather than open it: it refuses what [CleanPath] refuses and a
// path through a symbolic link that leads out.
func (r *Root) Check(name string) (string, error) {
	rel, err := CleanPath(name)
	if err != nil {
		return "", err
	}
	if _, err := r.root.Lstat(rel); err != nil && errors.Is(err, r.escapes) {
		return "", r.fsError(err)
	}
	return rel, nil
}
