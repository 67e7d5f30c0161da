package golang

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// notifier sends LSP notifications to the host; *sdk.Conn is one.
type notifier interface {
	Notify(ctx context.Context, method string, params any) error
}

// requestError is an answer with an LSP error code, turned into an
// *sdk.Error at the boundary.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

// session is the state of one editor session: the open documents, the
// negotiated encoding, the package cache and the diagnostics loop.
type session struct {
	docs *documents
	res  *resolver
	l    *loader
	enc  atomic.Int32 // posEncoding

	diagOnce sync.Once
	kick     chan struct{} // a document changed: diagnostics are due
	done     chan struct{} // closed at shutdown
	stopOnce sync.Once
	wg       sync.WaitGroup

	pubMu     sync.Mutex
	published map[string]string // uri → last diagnostics sent, JSON
}

func newSession() *session {
	docs := newDocuments()
	res := newResolver()
	return &session{docs: docs, res: res, l: newLoader(res, docs),
		kick: make(chan struct{}, 1), done: make(chan struct{}), published: map[string]string{}}
}

func (s *session) encoding() posEncoding { return posEncoding(s.enc.Load()) }

// initialize chooses the position encoding and states the capabilities.
func (s *session) initialize(raw json.RawMessage) (any, error) {
	p, err := decode[initializeParams](raw)
	if err != nil {
		return nil, &requestError{codeInvalidParams, fmt.Sprintf("initialize params: %v", err)}
	}
	enc := chooseEncoding(p.Capabilities.General.PositionEncodings)
	s.enc.Store(int32(enc))
	return map[string]any{
		"capabilities": map[string]any{
			"positionEncoding": enc.String(),
			"textDocumentSync": map[string]any{
				"openClose": true,
				"change":    2, // incremental
				"save":      map[string]any{"includeText": false},
			},
			"hoverProvider":              true,
			"definitionProvider":         true,
			"referencesProvider":         true,
			"documentSymbolProvider":     true,
			"documentFormattingProvider": true,
			"completionProvider":         map[string]any{"triggerCharacters": []string{"."}},
		},
		"serverInfo": map[string]any{"name": "go", "version": Version},
	}, nil
}

// shutdown stops the diagnostics loop and waits for it.
func (s *session) shutdown() {
	s.stop()
	s.wg.Wait()
}

// stop tells the diagnostics loop to end, without waiting (the loop itself
// calls it when the host is gone).
func (s *session) stop() { s.stopOnce.Do(func() { close(s.done) }) }

func (s *session) didOpen(n notifier, raw json.RawMessage) error {
	p, err := decode[didOpenParams](raw)
	if err != nil {
		return fmt.Errorf("didOpen params: %w", err)
	}
	path, err := uriToPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.docs.open(p.TextDocument.URI, path, p.TextDocument.Version, p.TextDocument.Text)
	s.diagnose(n)
	return nil
}

func (s *session) didChange(n notifier, raw json.RawMessage) error {
	p, err := decode[didChangeParams](raw)
	if err != nil {
		return fmt.Errorf("didChange params: %w", err)
	}
	path, err := uriToPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	if err := s.docs.change(path, p.TextDocument.Version, p.ContentChanges, s.encoding()); err != nil {
		return err
	}
	s.diagnose(n)
	return nil
}

func (s *session) didSave(n notifier, raw json.RawMessage) error {
	p, err := decode[didSaveParams](raw)
	if err != nil {
		return fmt.Errorf("didSave params: %w", err)
	}
	path, err := uriToPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.docs.touch(path)
	s.diagnose(n)
	return nil
}

func (s *session) didClose(ctx context.Context, n notifier, raw json.RawMessage) error {
	p, err := decode[didSaveParams](raw)
	if err != nil {
		return fmt.Errorf("didClose params: %w", err)
	}
	path, err := uriToPath(p.TextDocument.URI)
	if err != nil {
		return err
	}
	if doc := s.docs.close(path); doc != nil {
		s.pubMu.Lock()
		delete(s.published, doc.uri)
		s.pubMu.Unlock()
		if err := n.Notify(ctx, "textDocument/publishDiagnostics",
			publishDiagnosticsParams{URI: doc.uri, Diagnostics: []diagnostic{}}); err != nil {
			return err
		}
	}
	s.diagnose(n)
	return nil
}

// target is the package and syntax of one document, found under l.mu.
type target struct {
	c     *checked
	file  *ast.File
	path  string
	index *lineIndex
	tf    *token.File
}

// pos returns the token.Pos of byte offset off in the target file.
func (t *target) pos(off int) token.Pos { return t.tf.Pos(min(off, t.tf.Size())) }

// offset returns the byte offset of p in the target file.
func (t *target) offset(p token.Pos) int { return t.tf.Offset(p) }

// keyFor returns the package variant that serves the file at path.
func (s *session) keyFor(path string) pkgKey {
	dir := filepath.Dir(path)
	if !strings.HasSuffix(path, "_test.go") {
		return pkgKey{dir: dir, v: plainPkg}
	}
	if src, err := s.l.readSource(path); err == nil {
		if f, _ := parser.ParseFile(token.NewFileSet(), path, src, parser.PackageClauseOnly); f != nil && f.Name != nil &&
			strings.HasSuffix(f.Name.Name, "_test") {
			return pkgKey{dir: dir, v: xtestPkg}
		}
	}
	return pkgKey{dir: dir, v: testPkg}
}

// targetOf type-checks (or finds cached) the package of the file at path.
// l.mu is held.
func (s *session) targetOf(path string) (*target, error) {
	key := s.keyFor(path)
	mod := s.res.moduleOf(key.dir)
	c, err := s.l.load(key, mod)
	if err == nil && c.fileOf(path) == nil {
		// Excluded by build constraints, or of another package: on its own.
		key.file = path
		c, err = s.l.load(key, mod)
	}
	if err != nil {
		return nil, err
	}
	f := c.fileOf(path)
	if f == nil {
		return nil, fmt.Errorf("%s is not part of the package it was checked with", path)
	}
	index, err := s.l.lineIndexOf(c, path)
	if err != nil {
		return nil, err
	}
	return &target{c: c, file: f, path: path, index: index, tf: s.l.fset.File(f.FileStart)}, nil
}

// locate finds the target file of position params and the byte offset of
// the position in it. A request cancelled while it waited for the loader
// stops here. l.mu is held.
func (s *session) locate(ctx context.Context, p textDocumentPositionParams) (*target, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	path, err := uriToPath(p.TextDocument.URI)
	if err != nil {
		return nil, 0, &requestError{codeInvalidParams, err.Error()}
	}
	t, err := s.targetOf(path)
	if err != nil {
		return nil, 0, err
	}
	return t, t.index.offset(p.Position, s.encoding()), nil
}

// documentSource decodes the params of a request about a whole document
// (formatting, documentSymbol) and returns the document's path and text:
// the editor's for an open document, else the file's.
func (s *session) documentSource(method string, raw json.RawMessage) (path, src string, err error) {
	p, err := decode[struct {
		TextDocument textDocumentIdentifier `json:"textDocument"`
	}](raw)
	if err != nil {
		return "", "", &requestError{codeInvalidParams, fmt.Sprintf("%s params: %v", method, err)}
	}
	if path, err = uriToPath(p.TextDocument.URI); err != nil {
		return "", "", &requestError{codeInvalidParams, err.Error()}
	}
	src, err = s.l.readSource(path)
	return path, src, err
}

// uriOf returns the URI for a file: the editor's own for an open document.
func (s *session) uriOf(path string) string {
	if doc := s.docs.get(path); doc != nil {
		return doc.uri
	}
	return pathToURI(path)
}
