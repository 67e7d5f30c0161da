package golang

import (
	"context"
	"encoding/json"
)

// requestFunc answers one LSP request.
type requestFunc func(ctx context.Context, raw json.RawMessage) (any, error)

// notificationFunc handles one LSP notification; n sends notifications back.
type notificationFunc func(ctx context.Context, n notifier, raw json.RawMessage) error

// requests returns the session's request handlers by LSP method.
func (s *session) requests() map[string]requestFunc {
	return map[string]requestFunc{
		"initialize": func(_ context.Context, raw json.RawMessage) (any, error) { return s.initialize(raw) },
		"shutdown": func(context.Context, json.RawMessage) (any, error) {
			s.shutdown()
			return nil, nil
		},
		"textDocument/hover":          s.hover,
		"textDocument/definition":     s.definition,
		"textDocument/references":     s.references,
		"textDocument/documentSymbol": s.documentSymbol,
		"textDocument/formatting":     s.formatting,
		"textDocument/completion":     s.completion,
	}
}

// notifications returns the session's notification handlers by LSP method.
func (s *session) notifications() map[string]notificationFunc {
	return map[string]notificationFunc{
		"initialized": func(context.Context, notifier, json.RawMessage) error { return nil },
		"textDocument/didOpen": func(_ context.Context, n notifier, raw json.RawMessage) error {
			return s.didOpen(n, raw)
		},
		"textDocument/didChange": func(_ context.Context, n notifier, raw json.RawMessage) error {
			return s.didChange(n, raw)
		},
		"textDocument/didSave": func(_ context.Context, n notifier, raw json.RawMessage) error {
			return s.didSave(n, raw)
		},
		"textDocument/didClose": s.didClose,
		"exit": func(context.Context, notifier, json.RawMessage) error {
			s.shutdown()
			return nil
		},
	}
}
