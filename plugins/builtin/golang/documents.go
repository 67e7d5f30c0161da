package golang

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
)

// document is one open editor document. Its fields never change after it is
// stored; a change stores a new document.
type document struct {
	uri     string
	path    string
	version int32
	text    string
	index   *lineIndex
}

// documents holds the open documents and a generation counter per
// directory that moves whenever a file of the directory changes in the
// editor, so checked packages can tell they are stale without locking the
// loader. Methods are safe for concurrent use.
type documents struct {
	mu     sync.Mutex
	byPath map[string]*document
	gens   map[string]uint64
	clock  uint64
}

func newDocuments() *documents {
	return &documents{byPath: map[string]*document{}, gens: map[string]uint64{}}
}

// get returns the open document at path, or nil.
func (d *documents) get(path string) *document {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byPath[path]
}

// open stores a document's text (didOpen, or didSave with text).
func (d *documents) open(uri, path string, version int32, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byPath[path] = &document{uri: uri, path: path, version: version, text: text, index: newLineIndex(text)}
	d.touchLocked(path)
}

// change applies LSP content changes in order, positions in enc.
func (d *documents) change(path string, version int32, changes []contentChange, enc posEncoding) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc := d.byPath[path]
	if doc == nil {
		return fmt.Errorf("didChange for %s, which is not open", path)
	}
	text, index := doc.text, doc.index
	for _, c := range changes {
		if c.Range == nil {
			text = c.Text
		} else {
			start, end := index.offset(c.Range.Start, enc), index.offset(c.Range.End, enc)
			if end < start {
				return fmt.Errorf("didChange for %s: range end %v before start %v", path, c.Range.End, c.Range.Start)
			}
			text = text[:start] + c.Text + text[end:]
		}
		index = newLineIndex(text)
	}
	d.byPath[path] = &document{uri: doc.uri, path: path, version: version, text: text, index: index}
	d.touchLocked(path)
	return nil
}

// close forgets the document; the disk copy counts again.
func (d *documents) close(path string) *document {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc := d.byPath[path]
	delete(d.byPath, path)
	d.touchLocked(path)
	return doc
}

// touch marks path's directory changed (a save: the disk copy may differ).
func (d *documents) touch(path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.touchLocked(path)
}

func (d *documents) touchLocked(path string) {
	d.clock++
	d.gens[filepath.Dir(path)] = d.clock
}

// gen returns the generation of dir: 0 until a file in it changes.
func (d *documents) gen(dir string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gens[dir]
}

// inDir returns the open documents of dir.
func (d *documents) inDir(dir string) []*document {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*document
	for p, doc := range d.byPath {
		if filepath.Dir(p) == dir {
			out = append(out, doc)
		}
	}
	return out
}

// all returns every open document.
func (d *documents) all() []*document {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*document, 0, len(d.byPath))
	for _, doc := range d.byPath {
		out = append(out, doc)
	}
	return out
}

// uriToPath converts a file:// URI to a clean absolute path.
func uriToPath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("parse uri %q: %w", uri, err)
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("uri %q: only file:// documents are served", uri)
	}
	p := filepath.FromSlash(u.Path)
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("uri %q: path is not absolute", uri)
	}
	return filepath.Clean(p), nil
}

// pathToURI converts an absolute path to a file:// URI.
func pathToURI(path string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	s := u.String()
	if !strings.HasPrefix(s, "file:///") {
		s = strings.Replace(s, "file:", "file://", 1)
	}
	return s
}
