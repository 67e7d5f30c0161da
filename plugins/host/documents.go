package host

import (
	"bytes"
	"context"
	"io"
	"os"
	"path"
	"strings"
)

// Position is a zero-based line and character, counted in the session's
// position encoding.
type Position struct {
	Line      uint32 `json:"line"`
	Character uint32 `json:"character"`
}

// Range is a span of a document.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Change is one content change of a didChange, as the editor sent it.
type Change struct {
	// Range is nil when Text replaces the whole document.
	Range *Range
	Text  string
}

// change is one DidChange as an instance may receive it.
type change struct {
	from, to int32
	changes  []Change
}

// DidOpen records an open document and sends it to the plugins serving it,
// starting those not yet running. A document over the host's
// MaxDocumentBytes is kept track of but never sent.
func (s *Session) DidOpen(ctx context.Context, uri, languageID string, version int32, text string) {
	plugins := s.pluginsFor(uri, languageID)
	d := &document{uri: uri, languageID: languageID, version: version, plugins: plugins,
		oversize: int64(len(text)) > s.h.cfg.MaxDocumentBytes}
	if len(plugins) > 0 {
		d.text = text
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old := s.docs[uri]
	s.docs[uri] = d
	s.mu.Unlock()
	if old != nil {
		// Opened twice: the plugins of the old opening close it first.
		for _, p := range old.plugins {
			if pi := s.existing(p.name); pi != nil {
				pi.closeDoc(uri)
			}
		}
	}
	for _, p := range plugins {
		if pi := s.instance(p); pi != nil {
			pi.syncDoc(uri, nil)
		}
	}
}

// DidChange applies a change to an open document and forwards it: the
// changes as they are to plugins that sync incrementally in the session's
// encoding, the full text from text() to the others. text is called at most
// once, and only for documents plugins serve.
func (s *Session) DidChange(ctx context.Context, uri string, version int32, changes []Change, text func() string) {
	s.mu.Lock()
	d := s.docs[uri]
	if d == nil || s.closed {
		s.mu.Unlock()
		return
	}
	ch := &change{from: d.version, to: version, changes: changes}
	nd := *d
	nd.version, nd.index = version, nil
	if len(d.plugins) > 0 {
		s.mu.Unlock()
		t := text() // outside the lock: it may be slow
		s.mu.Lock()
		if s.docs[uri] != d {
			s.mu.Unlock()
			return
		}
		nd.text = t
		nd.oversize = int64(len(t)) > s.h.cfg.MaxDocumentBytes
	}
	s.docs[uri] = &nd
	s.mu.Unlock()
	for _, p := range nd.plugins {
		if pi := s.existing(p.name); pi != nil {
			pi.syncDoc(uri, ch)
		}
	}
}

// DidSave tells the plugins serving an open document that it was saved.
func (s *Session) DidSave(ctx context.Context, uri string) {
	d := s.docSnapshot(uri)
	if d == nil || d.oversize {
		return
	}
	for _, p := range d.plugins {
		if pi := s.existing(p.name); pi != nil {
			pi.didSave(uri, d.text)
		}
	}
}

// DidClose forgets a document, tells its plugins, and clears its diagnostics.
func (s *Session) DidClose(ctx context.Context, uri string) {
	s.mu.Lock()
	d := s.docs[uri]
	delete(s.docs, uri)
	s.mu.Unlock()
	if d == nil {
		return
	}
	s.closeAt(ctx, uri, d.plugins)
	s.diags.clearURI(uri)
}

// closeAt sends didClose for uri to those of plugins that have it open.
func (s *Session) closeAt(ctx context.Context, uri string, plugins []*plugin) {
	for _, p := range plugins {
		if pi := s.existing(p.name); pi != nil {
			pi.syncDoc(uri, nil)
		}
	}
}

// openDocs returns the open documents plugin p serves, for replaying didOpen.
func (s *Session) openDocs(p *plugin) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for uri, d := range s.docs {
		for _, q := range d.plugins {
			if q == p {
				out = append(out, uri)
				break
			}
		}
	}
	return out
}

// textIndex returns the line index of any document a plugin may name: an
// open one, or a regular file under one of the session's folders no larger
// than the document limit, read from disk through the folder's [os.Root].
// nil when neither: a path that leaves its folder, by ".." or by a symbolic
// link pointing outside, is never read.
func (s *Session) textIndex(uri string) *lineIndex {
	if li := s.lineIndexOf(uri); li != nil {
		return li
	}
	abs := uriPath(uri)
	if abs == "" {
		return nil
	}
	root, rel := s.folderRoot(abs)
	if root == nil {
		return nil
	}
	defer root.Close()
	data, ok := readLimited(root, rel, s.h.cfg.MaxDocumentBytes)
	if !ok {
		return nil
	}
	return newLineIndex(string(data))
}

// folderRoot opens, as an [os.Root], the innermost session folder holding
// the absolute, clean path abs, and returns abs relative to it; the caller
// closes the root. nil when no folder holds abs or it cannot be opened.
//
// The root is opened per call, not kept: one openat beside the read of a
// whole file, done at most once per document and request (the converter
// caches line indexes), and nothing to release when the session ends.
func (s *Session) folderRoot(abs string) (*os.Root, string) {
	best, rel := "", ""
	for _, f := range s.cfg.Folders {
		dir := path.Clean(f.Path)
		var r string
		switch {
		case dir == "/":
			r = strings.TrimPrefix(abs, "/")
		case strings.HasPrefix(abs, dir+"/"):
			r = abs[len(dir)+1:]
		default:
			continue
		}
		if best == "" || len(dir) > len(best) {
			best, rel = dir, r
		}
	}
	if best == "" || rel == "" {
		return nil, ""
	}
	root, err := os.OpenRoot(best)
	if err != nil {
		return nil, ""
	}
	return root, rel
}

// readLimited reads the regular file rel of root when it is at most max
// bytes. Links that stay inside root are followed; the others fail.
func readLimited(root *os.Root, rel string, max int64) ([]byte, bool) {
	// Stat first: opening a named pipe would block until a writer came.
	if fi, err := root.Stat(rel); err != nil || !fi.Mode().IsRegular() || fi.Size() > max {
		return nil, false
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false // replaced between the two looks
	}
	// Read at most one byte past max, in case the file grew since.
	buf := bytes.NewBuffer(make([]byte, 0, min(fi.Size(), max)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil || int64(buf.Len()) > max {
		return nil, false
	}
	return buf.Bytes(), true
}
