package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"github.com/gathering-dev/gathering/internal/rpc"
	"github.com/gathering-dev/gathering/plugins/host"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/protocol/lsp"
	"github.com/gathering-dev/gathering/workspace/document"
)

// initialize negotiates the position encoding, maps workspace folders to
// projects, and answers the server's capabilities.
func (s *Session) initialize(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var p lsp.InitializeParams
	if err := lsp.Unmarshal(raw, &p); err != nil {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "initialize: %v", err)
	}
	enc := chooseEncoding(lsp.OfferedEncodings(&p))
	s.mu.Lock()
	s.encoding = enc
	s.mu.Unlock()

	if p.ProcessID != nil {
		s.watchParent(int(*p.ProcessID))
	}
	uris, names := lsp.FolderURIs(&p)
	folders := s.addFolders(ctx, uris, names)
	var caps struct {
		Capabilities json.RawMessage `json:"capabilities"`
	}
	if err := json.Unmarshal(raw, &caps); err != nil {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "initialize: %v", err)
	}
	s.startPlugins(ctx, enc, folders, caps.Capabilities)

	methods := make([]string, 0, len(s.srv.methods))
	for name := range s.srv.methods {
		if !s.srv.methods[name].notification && len(name) > 10 && name[:10] == "gathering/" {
			methods = append(methods, name)
		}
	}
	slices.Sort(methods)
	experimental, err := json.Marshal(map[string]any{
		"gathering": map[string]any{"version": s.srv.cfg.Version, "methods": methods},
	})
	if err != nil {
		return nil, err
	}
	res := lsp.InitializeResult{
		Capabilities: lsp.ServerCapabilities{
			PositionEncoding: lsp.PositionEncodingKind(enc),
			TextDocumentSync: &lsp.TextDocumentSyncOptions{
				OpenClose: lsp.Ptr(true),
				Change:    lsp.Ptr(lsp.SyncIncremental),
				Save:      &lsp.SaveOptions{IncludeText: lsp.Ptr(false)},
			},
			Workspace: &lsp.WorkspaceOptions{
				WorkspaceFolders: &lsp.WorkspaceFoldersServerCapabilities{
					Supported:           lsp.Ptr(true),
					ChangeNotifications: lsp.Boolean(true),
				},
			},
			Experimental: lsp.LSPAny(experimental),
		},
		ServerInfo: lsp.ServerInfo{Name: "gathering", Version: lsp.NewOptional(s.srv.cfg.Version)},
	}
	out, err := lsp.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode initialize result: %w", err)
	}
	if out, err = s.pluginCapabilities(out); err != nil {
		return nil, fmt.Errorf("merge plugin capabilities: %w", err)
	}
	s.log.Info("initialized", slog.String("encoding", string(enc)), slog.Int("folders", len(uris)))
	return out, nil
}

// chooseEncoding picks the position encoding: utf-8 when the client offers
// it (the store's native unit, so no conversion), else the first offered
// encoding the server knows, else utf-16, which every client supports.
func chooseEncoding(offered []string) document.Encoding {
	if slices.Contains(offered, string(document.UTF8)) {
		return document.UTF8
	}
	for _, e := range offered {
		switch document.Encoding(e) {
		case document.UTF16, document.UTF32:
			return document.Encoding(e)
		}
	}
	return document.UTF16
}

// addFolders makes each workspace folder a project and returns the ones
// that are, for the plugins to read. A folder that cannot become one is
// reported to the user and skipped; the session goes on.
func (s *Session) addFolders(ctx context.Context, uris, names []string) []host.Folder {
	if p, _ := s.who(); !p.allProjects() && len(uris) > 0 {
		// A folder names a directory of the server's machine; making it a
		// project is an admin's decision, as gathering/project/create is.
		s.log.Info("workspace folders not made projects for a non-admin", slog.Int("folders", len(uris)))
		s.notify(ctx, lsp.MethodShowMessage, lsp.ShowMessageParams{
			Type:    lsp.MessageInfo,
			Message: "gathering: workspace folders become projects only for admins; ask one to add you to the project",
		})
		return nil
	}
	var folders []host.Folder
	for i, uri := range uris {
		pr, err := s.srv.projects.EnsureFolder(ctx, uri, names[i])
		if err == nil {
			folders = append(folders, host.Folder{URI: uri, Path: pr.Root})
			continue
		}
		s.log.Warn("workspace folder is not a project", slog.String("uri", uri), slog.Any("error", err))
		s.notify(ctx, lsp.MethodShowMessage, lsp.ShowMessageParams{
			Type:    lsp.MessageWarning,
			Message: fmt.Sprintf("gathering: workspace folder %s is not available as a project: %v", uri, err),
		})
	}
	return folders
}

func (s *Session) didChangeWorkspaceFolders(ctx context.Context, raw json.RawMessage) error {
	var p lsp.DidChangeWorkspaceFoldersParams
	if err := lsp.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decode params: %w", err)
	}
	var uris, names []string
	for _, f := range p.Event.Added {
		uris = append(uris, string(f.URI))
		names = append(names, f.Name)
	}
	// Removed folders stay projects: they are shared state, not the
	// session's, and may be open in other editors. Plugins keep the grants
	// they started with; an added folder reaches them when they restart.
	s.addFolders(ctx, uris, names)
	return nil
}

func (s *Session) didCancel(_ context.Context, raw json.RawMessage) error {
	var p lsp.CancelParams
	if err := lsp.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decode params: %w", err)
	}
	id, err := lsp.CancelID(&p)
	switch {
	case err != nil:
		return err
	case id.IsString:
		s.cancel(rpc.StringID(id.Str))
	case id.Num >= 0: // no request has a negative id: jsonrpc2 refuses them
		s.cancel(rpc.NumberID(uint64(id.Num)))
	}
	return nil
}
