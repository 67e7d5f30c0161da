package server

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/gathering-dev/gathering/internal/rpc"
	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/protocol/lsp"
	"github.com/gathering-dev/gathering/workspace/document"
)

// languageMethods are the LSP requests the server answers through the
// session's language plugins: exactly those the plugin host routes. A
// request for a document no plugin serves is answered null, as LSP expects
// of a feature with nothing to show.
var languageMethods = host.Methods()

// pluginMethods makes a table entry for each language request. They are
// open to any authenticated session: they read only the session's own
// documents and the folders its plugins were granted (see pluginFolders).
func pluginMethods() []*method {
	ms := make([]*method, len(languageMethods))
	for i, name := range languageMethods {
		m := &method{
			name:   name,
			access: accessAny,
			handle: func(ctx context.Context, s *Session, _ *document.Snapshot, raw json.RawMessage) (any, error) {
				ps := s.pluginSession()
				if ps == nil {
					return json.RawMessage("null"), nil
				}
				res, err := ps.Request(ctx, name, raw)
				if err != nil {
					return nil, err
				}
				if len(res) == 0 {
					return json.RawMessage("null"), nil
				}
				return res, nil
			},
		}
		if fm, ok := host.ForwardMethodOf(name); ok {
			m.forward = func(ctx context.Context, ps *host.Session, raw json.RawMessage, reply host.Reply) (host.Canceler, bool) {
				return ps.Forward(ctx, fm, raw, reply)
			}
		}
		ms[i] = m
	}
	return ms
}

// pluginSession returns the session's language plugins, or nil when the
// server runs none.
func (s *Session) pluginSession() *host.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plugins
}

// startPlugins gives the session its plugin session, once initialize has
// chosen the encoding and the folders. folders are the projects the
// caller may read; they become the plugins' read grants.
func (s *Session) startPlugins(ctx context.Context, enc document.Encoding, folders []host.Folder, clientCaps json.RawMessage) {
	h := s.srv.cfg.Plugins
	if h == nil {
		return
	}
	ps := h.NewSession(host.SessionConfig{
		Client:             pluginClient{s},
		Folders:            folders,
		Encoding:           string(enc),
		ClientCapabilities: clientCaps,
		Logger:             s.log,
	})
	s.mu.Lock()
	s.plugins = ps
	s.mu.Unlock()
}

// stopPlugins ends the session's plugins; it is safe to call more than once.
func (s *Session) stopPlugins() {
	s.mu.Lock()
	ps := s.plugins
	s.plugins = nil
	s.mu.Unlock()
	if ps != nil {
		ps.Close()
	}
}

// pluginCapabilities merges the plugins' capabilities into the answer to
// initialize. The server's own (sync, workspace folders, encoding,
// experimental) win over a plugin's.
func (s *Session) pluginCapabilities(res []byte) ([]byte, error) {
	ps := s.pluginSession()
	if ps == nil {
		return res, nil
	}
	caps := ps.ServerCapabilities()
	if len(caps) == 0 {
		return res, nil
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, err
	}
	var own map[string]json.RawMessage
	if err := json.Unmarshal(out["capabilities"], &own); err != nil {
		return nil, err
	}
	for k, v := range caps {
		if _, taken := own[k]; taken {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		own[k] = b
	}
	b, err := json.Marshal(own)
	if err != nil {
		return nil, err
	}
	out["capabilities"] = b
	return json.Marshal(out)
}

// pluginClient is how plugins reach the editor: notifications such as
// publishDiagnostics, and requests such as workspace/applyEdit.
type pluginClient struct{ s *Session }

func (c pluginClient) Notify(ctx context.Context, method string, params any) error {
	conn, err := c.conn()
	if err != nil {
		return err
	}
	return conn.Notify(ctx, method, params)
}

func (c pluginClient) Call(ctx context.Context, method string, params, result any) error {
	conn, err := c.conn()
	if err != nil {
		return err
	}
	return conn.Call(ctx, method, params, result)
}

// conn returns the editor's connection, or an error once it is gone.
func (c pluginClient) conn() (*rpc.Conn, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.conn == nil {
		return nil, protocol.Errorf(protocol.ErrShuttingDown, "the editor is gone")
	}
	return c.s.conn, nil
}

// forwardOpen, forwardChange, forwardSave and forwardClose hand the
// document notifications to the plugins, after the session's own store
// has applied them, on the read goroutine so the plugins see wire order.
func (s *Session) forwardOpen(ctx context.Context, uri, languageID string, version int32, text string) {
	if ps := s.pluginSession(); ps != nil {
		ps.DidOpen(ctx, uri, languageID, version, text)
	}
}

func (s *Session) forwardChange(ctx context.Context, uri string, version int32, changes []document.Change) {
	ps := s.pluginSession()
	if ps == nil {
		return
	}
	hc := make([]host.Change, len(changes))
	for i, c := range changes {
		hc[i].Text = c.Text
		if c.Range != nil {
			hc[i].Range = &host.Range{
				Start: host.Position{Line: c.Range.Start.Line, Character: c.Range.Start.Character},
				End:   host.Position{Line: c.Range.End.Line, Character: c.Range.End.Character},
			}
		}
	}
	ps.DidChange(ctx, uri, version, hc, func() string {
		snap := s.docs.Snapshot()
		if d, ok := snap.Get(uri); ok {
			return d.Text.String()
		}
		return ""
	})
}

func (s *Session) didSave(ctx context.Context, raw json.RawMessage) error {
	var p lsp.DidSaveTextDocumentParams
	if err := lsp.Unmarshal(raw, &p); err != nil {
		return err
	}
	if ps := s.pluginSession(); ps != nil {
		ps.DidSave(ctx, string(p.TextDocument.URI))
	}
	return nil
}

func (s *Session) forwardClose(ctx context.Context, uri string) {
	if ps := s.pluginSession(); ps != nil {
		ps.DidClose(ctx, uri)
	}
}

// pluginList answers gathering/plugin/list: every plugin the server knows,
// with its state and the sandbox it runs in.
func (s *Session) pluginList(_ context.Context, _ *document.Snapshot, _ *protocol.PluginListParams) (*protocol.PluginListResult, error) {
	out := &protocol.PluginListResult{Plugins: []protocol.Plugin{}}
	h := s.srv.cfg.Plugins
	if h == nil {
		return out, nil
	}
	for _, st := range h.Plugins() {
		out.Plugins = append(out.Plugins, wirePlugin(st))
	}
	s.log.Debug("plugin list", slog.Int("plugins", len(out.Plugins)))
	return out, nil
}

func wirePlugin(st host.Status) protocol.Plugin {
	p := protocol.Plugin{
		Name: st.Name, Version: st.Version, Publisher: st.Publisher, KeyID: st.KeyID,
		Languages: st.Languages, Source: st.Source, State: st.State, Reason: st.Reason,
		Sandbox: st.Sandbox, Restarts: st.Restarts, Warnings: st.Warnings,
	}
	if p.Languages == nil {
		p.Languages = []string{}
	}
	for _, is := range st.Instances {
		if is.State != host.StateRunning {
			continue
		}
		p.Running++
		if started := is.Started.UTC(); p.StartedAt == nil || started.After(*p.StartedAt) {
			p.StartedAt = &started
		}
	}
	return p
}
