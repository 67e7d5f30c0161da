package host

import (
	"context"
	"os"
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
// open one, or a file under one of the session's folders no larger than the
// document limit, read from disk. nil when neither.
func (s *Session) textIndex(uri string) *lineIndex {
	if li := s.lineIndexOf(uri); li != nil {
		return li
	}
	abs := uriPath(uri)
	if abs == "" {
		return nil
	}
	inside := false
	for _, f := range s.cfg.Folders {
		if strings.HasPrefix(abs, strings.TrimSuffix(f.Path, "/")+"/") {
			inside = true
			break
		}
	}
	if !inside {
		return nil
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > s.h.cfg.MaxDocumentBytes {
		return nil
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil
	}
	return newLineIndex(string(data))
}
