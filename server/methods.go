package server

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"

	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/protocol/lsp"
	"github.com/gathering-dev/gathering/workspace/document"
)

// method is one entry of the dispatch table.
type method struct {
	name         string
	notification bool
	access       access
	// inline runs the request on the read goroutine instead of one of its
	// own. Only for methods that never block and finish in microseconds:
	// handing those to another thread costs more than they do (rpcbench
	// measured the hand-off at about 25 µs of a 48 µs round trip).
	inline bool
	// params is the type params decode into; nil for notifications.
	params reflect.Type
	// handle runs the method. snap is nil for notifications, which run
	// inline and may change the session's documents.
	handle func(ctx context.Context, s *Session, snap *document.Snapshot, params json.RawMessage) (any, error)
	// forward, when set, may take a request on the read goroutine and
	// answer it later through reply (exactly once, from any goroutine),
	// instead of handle running on a goroutine of its own; it reports
	// false when it did not take the request, and handle runs as usual.
	// cancel ends a taken request early, with reply getting
	// request_cancelled; ctx bounds only the taking, and params are not
	// kept once it returns. Language requests use it, with the session's
	// plugins: see host.Session.Forward.
	forward func(ctx context.Context, ps *host.Session, params json.RawMessage, reply host.Reply) (cancel host.Canceler, ok bool)
}

// methodTable lists every method the server answers, beyond the lifecycle
// requests (initialize, shutdown, exit) that the session handles itself.
func methodTable(debugMethods bool) map[string]*method {
	// ignore accepts a notification that needs no action from the server.
	ignore := func(*Session, context.Context, json.RawMessage) error { return nil }
	ms := []*method{
		notification(lsp.MethodInitialized, accessAny, ignore),
		notification(lsp.MethodCancelRequest, accessAny, (*Session).didCancel),
		notification(lsp.MethodSetTrace, accessAny, ignore),
		notification(lsp.MethodDidOpen, accessAny, (*Session).didOpen),
		notification(lsp.MethodDidChange, accessAny, (*Session).didChange),
		notification(lsp.MethodDidClose, accessAny, (*Session).didClose),
		notification(lsp.MethodDidSave, accessAny, (*Session).didSave),
		notification(lsp.MethodDidChangeWorkspaceFolders, accessWrite, (*Session).didChangeWorkspaceFolders),
		notification(lsp.MethodDidChangeConfiguration, accessAny, ignore),

		inline(request(protocol.MethodStatus, accessRead, (*Session).status)),
		request(protocol.MethodDocumentGet, accessAny, (*Session).documentGet),
		request(protocol.MethodProjectList, accessRead, (*Session).projectList),
		request(protocol.MethodProjectGet, accessRead, (*Session).projectGet),
		// A project's root is a directory of the server's machine: only
		// admins (and the local owner) choose one.
		request(protocol.MethodProjectCreate, accessAdmin, (*Session).projectCreate),
		request(protocol.MethodProjectUpdate, accessAdmin, (*Session).projectUpdate),
		request(protocol.MethodProjectDelete, accessAdmin, (*Session).projectDelete),
	}
	ms = append(ms, authMethods()...)
	ms = append(ms, workspaceMethods()...)
	ms = append(ms, pluginMethods()...)
	ms = append(ms, request(protocol.MethodPluginList, accessRead, (*Session).pluginList))
	if debugMethods {
		// Admins may call them over TCP: the client suites and benchmarks
		// run there too, on a server started with --debug-methods.
		ms = append(ms,
			inline(request(protocol.MethodDebugEcho, accessAdmin, (*Session).debugEcho)),
			request(protocol.MethodDebugSleep, accessAdmin, (*Session).debugSleep),
		)
	}
	table := make(map[string]*method, len(ms))
	for _, m := range ms {
		table[m.name] = m
	}
	return table
}

// request makes a table entry for a request whose params decode into P.
// gathering/* params are decoded strictly: an unknown field is an error, so
// a misspelt parameter is reported instead of silently ignored. When *P
// implements [protocol.ProjectScoped], the caller must be a member of the
// project it names before fn runs.
func request[P, R any](name string, a access, fn func(*Session, context.Context, *document.Snapshot, *P) (R, error)) *method {
	return &method{
		name:   name,
		access: a,
		params: reflect.TypeFor[P](),
		handle: func(ctx context.Context, s *Session, snap *document.Snapshot, raw json.RawMessage) (any, error) {
			p := new(P)
			if err := decodeStrict(raw, p); err != nil {
				return nil, protocol.Errorf(protocol.ErrInvalidParams, "%s: %v", name, err)
			}
			if scoped, ok := any(p).(protocol.ProjectScoped); ok {
				if err := s.mayProject(ctx, name, scoped.ProjectScope()); err != nil {
					return nil, err
				}
			}
			return fn(s, ctx, snap, p)
		},
	}
}

// inline marks m to run on the read goroutine; see method.inline.
func inline(m *method) *method {
	m.inline = true
	return m
}

// notification makes a table entry for a notification.
func notification(name string, a access, fn func(*Session, context.Context, json.RawMessage) error) *method {
	return &method{
		name:         name,
		notification: true,
		access:       a,
		handle: func(ctx context.Context, s *Session, _ *document.Snapshot, raw json.RawMessage) (any, error) {
			return nil, fn(s, ctx, raw)
		},
	}
}

func decodeStrict(raw json.RawMessage, v any) error {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	return nil
}

var errTrailing = protocol.Errorf(protocol.ErrInvalidParams, "trailing data after params")
