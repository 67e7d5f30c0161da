package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gathering-dev/gathering/protocol/lsp"
	"github.com/gathering-dev/gathering/workspace/document"
)

func (s *Session) didOpen(ctx context.Context, raw json.RawMessage) error {
	var p lsp.DidOpenTextDocumentParams
	if err := lsp.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decode params: %w", err)
	}
	d := p.TextDocument
	u, err := s.docs.Open(string(d.URI), string(d.LanguageID), d.Version, d.Text)
	if err != nil {
		return err
	}
	s.warnOversize(ctx, u)
	s.forwardOpen(ctx, string(d.URI), string(d.LanguageID), d.Version, d.Text)
	return nil
}

func (s *Session) didChange(ctx context.Context, raw json.RawMessage) error {
	var p lsp.DidChangeTextDocumentParams
	if err := lsp.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decode params: %w", err)
	}
	changes := make([]document.Change, len(p.ContentChanges))
	for i, c := range p.ContentChanges {
		r, text, err := lsp.ChangeText(c)
		if err != nil {
			return err
		}
		changes[i].Text = text
		if r != nil {
			changes[i].Range = &document.Range{
				Start: document.Position{Line: r.Start.Line, Character: r.Start.Character},
				End:   document.Position{Line: r.End.Line, Character: r.End.Character},
			}
		}
	}
	s.mu.Lock()
	enc := s.encoding
	s.mu.Unlock()
	u, err := s.docs.Change(string(p.TextDocument.URI), p.TextDocument.Version, enc, changes)
	if err != nil {
		return err
	}
	s.warnOversize(ctx, u)
	s.forwardChange(ctx, string(p.TextDocument.URI), p.TextDocument.Version, changes)
	return nil
}

func (s *Session) didClose(ctx context.Context, raw json.RawMessage) error {
	var p lsp.DidCloseTextDocumentParams
	if err := lsp.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decode params: %w", err)
	}
	if err := s.docs.Close(string(p.TextDocument.URI)); err != nil {
		return err
	}
	s.forwardClose(ctx, string(p.TextDocument.URI))
	return nil
}

// warnOversize tells the client, once per opening of a document, that it is
// over the size limit and language features are off for it.
func (s *Session) warnOversize(ctx context.Context, u document.Update) {
	if !u.BecameOversize {
		return
	}
	s.notify(ctx, lsp.MethodShowMessage, lsp.ShowMessageParams{
		Type: lsp.MessageWarning,
		Message: fmt.Sprintf("gathering: %s is larger than %d bytes; it is kept in sync but language features are off for it",
			u.URI, s.srv.cfg.MaxDocumentBytes),
	})
}
