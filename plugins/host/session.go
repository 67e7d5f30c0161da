package host

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
)

// Client is the editor session a [Session] serves, implemented by the server:
// what plugins send the editor goes through it.
type Client interface {
	Notify(ctx context.Context, method string, params any) error
	Call(ctx context.Context, method string, params any, result any) error
}

// Folder is a workspace folder of a session.
type Folder struct {
	URI string
	// Path is the folder's absolute path.
	Path string
}

// SessionConfig configures a [Session].
type SessionConfig struct {
	Client  Client
	Folders []Folder
	// Encoding is the position encoding negotiated with the editor: utf-8,
	// utf-16 or utf-32; anything else means utf-16.
	Encoding string
	// ClientCapabilities are the editor's, from its initialize request; the
	// host bases what it tells plugins on them. nil means a default set.
	ClientCapabilities json.RawMessage
	// Logger receives the session's log; nil means the host's.
	Logger *slog.Logger
}

// Session routes one editor session's documents and requests to plugin
// instances of its own, started lazily when the first document of their
// languages opens and stopped by [Session.Close]. Its methods are safe for
// concurrent use; DidOpen, DidChange, DidSave and DidClose must be called in
// the order the editor sent them.
type Session struct {
	h          *Host
	cfg        SessionConfig
	enc        encoding
	log        *slog.Logger
	clientCaps map[string]any
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	diags      *diagnostics

	mu     sync.Mutex
	docs   map[string]*document
	insts  map[string]*pluginInstance // by plugin name
	closed bool
	// commandsKnown: plugins whose commands the editor has learned, from
	// ServerCapabilities or a registration (registration.go).
	commandsKnown map[string]bool
}

// document is an open document as the session knows it.
type document struct {
	uri, languageID string
	version         int32
	text            string
	// plugins serve the document, in load order.
	plugins []*plugin
	// oversize documents are never sent to plugins.
	oversize bool
	index    *lineIndex // of text, built on first use
}

// lines returns the line index of the document's text.
func (d *document) lines() *lineIndex {
	if d.index == nil {
		d.index = newLineIndex(d.text)
	}
	return d.index
}

// NewSession starts routing for one editor session. No plugin starts until
// a document of its languages opens.
func (h *Host) NewSession(cfg SessionConfig) *Session {
	log := cfg.Logger
	if log == nil {
		log = h.log
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		h:      h,
		cfg:    cfg,
		enc:    parseEncoding(cfg.Encoding),
		log:    log,
		ctx:    ctx,
		cancel: cancel,
		docs:   make(map[string]*document),
		insts:  make(map[string]*pluginInstance),

		commandsKnown: make(map[string]bool),
	}
	s.clientCaps = clientCapabilities(s.enc, cfg.ClientCapabilities)
	s.diags = newDiagnostics(s)
	h.mu.Lock()
	if h.closed {
		s.closed = true
	} else {
		h.sessions[s] = struct{}{}
	}
	h.mu.Unlock()
	return s
}

// Close stops the session's plugin instances (LSP shutdown, then kill) and
// waits for them to end.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed && len(s.insts) == 0 {
		s.mu.Unlock()
		return
	}
	s.closed = true
	insts := make([]*pluginInstance, 0, len(s.insts))
	for _, pi := range s.insts {
		insts = append(insts, pi)
	}
	s.insts = map[string]*pluginInstance{}
	s.mu.Unlock()
	s.cancel()
	var wg sync.WaitGroup
	for _, pi := range insts {
		wg.Go(pi.close)
	}
	wg.Wait()
	s.wg.Wait()
	s.h.mu.Lock()
	delete(s.h.sessions, s)
	s.h.mu.Unlock()
}

// pluginsFor returns the loaded plugins serving a document: those listing its
// languageId, or with a file glob matching its path.
func (s *Session) pluginsFor(uri, languageID string) []*plugin {
	var name string
	if abs := uriPath(uri); abs != "" {
		name = relativeName(abs, s.cfg.Folders)
	}
	var out []*plugin
	for _, p := range s.h.loaded() {
		langs := p.manifest.Languages
		if slices.Contains(langs.IDs, languageID) {
			out = append(out, p)
			continue
		}
		if name == "" {
			continue
		}
		for _, g := range langs.FileGlobs {
			if matchGlob(g, name) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// instance returns the session's instance of p, starting it if needed (or
// again, when its last start failed long enough ago); nil once the session
// is closed.
func (s *Session) instance(p *plugin) *pluginInstance {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if pi := s.insts[p.name]; pi != nil && !pi.retry() {
		return pi
	}
	pi := newPluginInstance(s, p)
	s.insts[p.name] = pi
	s.wg.Go(pi.run)
	return pi
}

// existing returns the session's instance of the plugin named name, if any.
func (s *Session) existing(name string) *pluginInstance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insts[name]
}

// instances returns every instance of the session, in load order.
func (s *Session) instances() []*pluginInstance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*pluginInstance
	for _, p := range s.h.plugins {
		if pi := s.insts[p.name]; pi != nil {
			out = append(out, pi)
		}
	}
	return out
}

// instanceStatus reports the session's instance of the plugin named name.
func (s *Session) instanceStatus(name string) (InstanceStatus, bool) {
	pi := s.existing(name)
	if pi == nil {
		return InstanceStatus{}, false
	}
	return pi.status(), true
}

// docSnapshot returns a copy of the open document uri, or nil.
func (s *Session) docSnapshot(uri string) *document {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[uri]
	if d == nil {
		return nil
	}
	c := *d
	return &c
}

// lineIndexOf returns the line index of an open document served by plugins,
// or nil.
func (s *Session) lineIndexOf(uri string) *lineIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[uri]
	if d == nil || len(d.plugins) == 0 || d.oversize {
		return nil
	}
	return d.lines()
}
