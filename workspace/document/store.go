package document

import (
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
)

// Errors that [Store] methods wrap; match them with [errors.Is].
var (
	// ErrNotOpen means the URI has no open document: the client sent
	// didChange or didClose without a didOpen, or after the Store refused
	// the didOpen.
	ErrNotOpen = errors.New("document not open")
	// ErrTooManyDocuments means Open would exceed [Config.MaxDocuments].
	ErrTooManyDocuments = errors.New("too many open documents")
)

// Defaults for [Config].
const (
	DefaultMaxBytes     = 8 << 20
	DefaultMaxDocuments = 10_000
)

// Config configures a [Store]. The zero value, like a nil *Config, means
// every default.
type Config struct {
	// MaxBytes is the size above which a document is Oversize: still
	// tracked exactly, but not to be sent to plugins. Zero or less means
	// DefaultMaxBytes (8 MiB).
	MaxBytes int64
	// MaxDocuments bounds how many documents may be open at once. Zero
	// or less means DefaultMaxDocuments (10,000).
	MaxDocuments int
	// Logger receives a warning for each protocol violation the Store
	// tolerates: a didOpen of an open document and a didChange whose
	// version does not increase. nil means discard.
	Logger *slog.Logger
}

// Document is one open document as of one moment. It is a value: later
// changes to the document make new Documents and leave this one as it is.
type Document struct {
	URI        string
	LanguageID string
	// Version is the version the client gave with the latest didOpen or
	// didChange.
	Version int32
	Text    Text
	// Oversize reports that Text is longer than [Config.MaxBytes].
	Oversize bool
}

// Change is one TextDocumentContentChangeEvent of didChange.
type Change struct {
	// Range is the span to replace, in the session's [Encoding]. nil
	// means the whole document, as a client that syncs in full sends.
	Range *Range
	Text  string
}

// Update is what [Store.Open] and [Store.Change] return: the document after
// the call and what the caller should tell the user about it.
type Update struct {
	Document
	// BecameOversize reports that this call left the document Oversize
	// for the first time since it was opened, so that the caller can
	// tell the client once. It is false on every later call, even if the
	// document shrinks below the limit and grows past it again.
	BecameOversize bool
}

// Store holds the open documents of one session and applies the client's
// text synchronisation notifications to them. Methods are safe for
// concurrent use; reads never wait for writes.
type Store struct {
	maxBytes int64
	maxDocs  int
	log      *slog.Logger

	mu   sync.Mutex // serialises writers
	root atomic.Pointer[docNode]
}

// NewStore returns an empty Store. If cfg is nil, defaults are used.
func NewStore(cfg *Config) *Store {
	if cfg == nil {
		cfg = &Config{}
	}
	s := &Store{maxBytes: cfg.MaxBytes, maxDocs: cfg.MaxDocuments, log: cfg.Logger}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxBytes
	}
	if s.maxDocs <= 0 {
		s.maxDocs = DefaultMaxDocuments
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Open starts tracking uri with the given text, as textDocument/didOpen asks.
//
// LSP forbids opening a document twice without closing it in between. If uri
// is already open, Open logs a warning and replaces it, as if it had been
// closed first: the client's latest word on the text is the one to keep. It
// returns an error wrapping [ErrTooManyDocuments] if uri is not open and
// [Config.MaxDocuments] are.
func (s *Store) Open(uri, languageID string, version int32, text string) (Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	root := s.root.Load()
	if _, ok := find(root, uri); ok {
		s.log.Warn("document opened twice; replacing it", slog.String("uri", uri), slog.Int("version", int(version)))
	} else if root.size() >= s.maxDocs {
		return Update{}, fmt.Errorf("open %s: %w (limit %d)", uri, ErrTooManyDocuments, s.maxDocs)
	}
	e := s.entry(Document{URI: uri, LanguageID: languageID, Version: version, Text: NewText(text)}, false)
	s.root.Store(put(root, e))
	return Update{Document: e.doc, BecameOversize: e.toldOversize}, nil
}

// Change applies changes to the open document uri in order, each to the
// result of the one before, and gives the document version, as
// textDocument/didChange asks. Ranges count characters in enc. A change
// cannot fail: out-of-range positions are clamped (see [Text.Replace]).
//
// LSP requires versions to increase. If version does not, Change logs a
// warning and applies the changes anyway: the client has made them whatever
// it numbered them, and refusing would leave the Store's text out of step
// with the client's for good. The document then carries the version given.
//
// It returns an error wrapping [ErrNotOpen] if uri is not open.
func (s *Store) Change(uri string, version int32, enc Encoding, changes []Change) (Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	root := s.root.Load()
	e, ok := find(root, uri)
	if !ok {
		return Update{}, fmt.Errorf("change %s: %w", uri, ErrNotOpen)
	}
	if version <= e.doc.Version {
		s.log.Warn("document version did not increase; applying the change anyway",
			slog.String("uri", uri), slog.Int("version", int(version)), slog.Int("previous", int(e.doc.Version)))
	}
	doc := e.doc
	doc.Version = version
	for _, c := range changes {
		if c.Range == nil {
			doc.Text = NewText(c.Text)
		} else {
			doc.Text = doc.Text.Replace(enc, *c.Range, c.Text)
		}
	}
	told := e.toldOversize
	e = s.entry(doc, told)
	s.root.Store(put(root, e))
	return Update{Document: e.doc, BecameOversize: e.toldOversize && !told}, nil
}

// entry returns the entry for doc, setting doc.Oversize, given whether the
// client has been told it is oversize already.
func (s *Store) entry(doc Document, told bool) entry {
	doc.Oversize = int64(doc.Text.Len()) > s.maxBytes
	return entry{doc: doc, toldOversize: told || doc.Oversize}
}

// Close stops tracking uri, as textDocument/didClose asks. It returns an
// error wrapping [ErrNotOpen] if uri is not open.
func (s *Store) Close(uri string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	root, ok := del(s.root.Load(), uri)
	if !ok {
		return fmt.Errorf("close %s: %w", uri, ErrNotOpen)
	}
	s.root.Store(root)
	return nil
}

// Get returns the open document uri and true, or the zero Document and false
// if uri is not open.
func (s *Store) Get(uri string) (Document, bool) {
	return s.Snapshot().Get(uri)
}

// Len returns how many documents are open.
func (s *Store) Len() int {
	return s.root.Load().size()
}

// Snapshot returns the open documents as of now. It takes O(1) time and
// later calls to the Store do not change it.
func (s *Store) Snapshot() Snapshot {
	return Snapshot{s.root.Load()}
}

// Snapshot is an immutable set of open documents, keyed by URI. The zero
// value holds none. It is safe for concurrent use.
type Snapshot struct {
	root *docNode
}

// Get returns the document uri and true, or the zero Document and false if
// the snapshot does not hold uri. It takes O(log n) time.
func (s Snapshot) Get(uri string) (Document, bool) {
	e, ok := find(s.root, uri)
	return e.doc, ok
}

// Len returns how many documents the snapshot holds.
func (s Snapshot) Len() int {
	return s.root.size()
}

// All returns an iterator over the documents in order of URI.
func (s Snapshot) All() iter.Seq[Document] {
	return func(yield func(Document) bool) {
		walkDocs(s.root, yield)
	}
}

// entry is what the Store keeps for an open document.
type entry struct {
	doc Document
	// toldOversize is set once a call has returned BecameOversize.
	toldOversize bool
}

// docNode is a persistent treap of entries ordered by URI, the Store's
// counterpart of node: never modified once published, and changed by
// copying one path. The nil *docNode is the empty tree.
type docNode struct {
	left, right *docNode
	prio        uint32
	n           int // entries in this subtree
	e           entry
}

func (n *docNode) size() int {
	if n == nil {
		return 0
	}
	return n.n
}

func mkDoc(left *docNode, e entry, prio uint32, right *docNode) *docNode {
	return &docNode{left: left, right: right, prio: prio, n: left.size() + 1 + right.size(), e: e}
}

func find(n *docNode, uri string) (entry, bool) {
	for n != nil {
		switch c := strings.Compare(uri, n.e.doc.URI); {
		case c < 0:
			n = n.left
		case c > 0:
			n = n.right
		default:
			return n.e, true
		}
	}
	return entry{}, false
}

// put returns n with e added, or in place of the entry with the same URI.
func put(n *docNode, e entry) *docNode {
	if _, ok := find(n, e.doc.URI); ok {
		return replaceDoc(n, e)
	}
	return insertDoc(n, e, rand.Uint32())
}

// replaceDoc returns n with the entry for e's URI, which must exist,
// replaced by e.
func replaceDoc(n *docNode, e entry) *docNode {
	switch c := strings.Compare(e.doc.URI, n.e.doc.URI); {
	case c < 0:
		return mkDoc(replaceDoc(n.left, e), n.e, n.prio, n.right)
	case c > 0:
		return mkDoc(n.left, n.e, n.prio, replaceDoc(n.right, e))
	default:
		return mkDoc(n.left, e, n.prio, n.right)
	}
}

// insertDoc returns n with e added; n must not hold e's URI.
func insertDoc(n *docNode, e entry, prio uint32) *docNode {
	if n == nil {
		return mkDoc(nil, e, prio, nil)
	}
	if prio > n.prio {
		a, b := splitDocs(n, e.doc.URI)
		return mkDoc(a, e, prio, b)
	}
	if e.doc.URI < n.e.doc.URI {
		return mkDoc(insertDoc(n.left, e, prio), n.e, n.prio, n.right)
	}
	return mkDoc(n.left, n.e, n.prio, insertDoc(n.right, e, prio))
}

// splitDocs returns the entries of n before uri and those after it; n must
// not hold uri.
func splitDocs(n *docNode, uri string) (*docNode, *docNode) {
	if n == nil {
		return nil, nil
	}
	if uri < n.e.doc.URI {
		a, b := splitDocs(n.left, uri)
		return a, mkDoc(b, n.e, n.prio, n.right)
	}
	a, b := splitDocs(n.right, uri)
	return mkDoc(n.left, n.e, n.prio, a), b
}

func mergeDocs(a, b *docNode) *docNode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio >= b.prio:
		return mkDoc(a.left, a.e, a.prio, mergeDocs(a.right, b))
	default:
		return mkDoc(mergeDocs(a, b.left), b.e, b.prio, b.right)
	}
}

// del returns n without uri's entry and whether there was one.
func del(n *docNode, uri string) (*docNode, bool) {
	if n == nil {
		return nil, false
	}
	switch c := strings.Compare(uri, n.e.doc.URI); {
	case c < 0:
		left, ok := del(n.left, uri)
		if !ok {
			return n, false
		}
		return mkDoc(left, n.e, n.prio, n.right), true
	case c > 0:
		right, ok := del(n.right, uri)
		if !ok {
			return n, false
		}
		return mkDoc(n.left, n.e, n.prio, right), true
	default:
		return mergeDocs(n.left, n.right), true
	}
}

func walkDocs(n *docNode, yield func(Document) bool) bool {
	for n != nil {
		if !walkDocs(n.left, yield) || !yield(n.e.doc) {
			return false
		}
		n = n.right
	}
	return true
}
