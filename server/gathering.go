package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace/document"
)

// status answers gathering/status: the server, its store, its plugins and
// the caller's session. It runs inline, so it only reads what is at hand.
func (s *Session) status(_ context.Context, snap *document.Snapshot, _ *protocol.StatusParams) (*protocol.StatusResult, error) {
	s.mu.Lock()
	enc := s.encoding
	s.mu.Unlock()
	// The plugins as gathering/plugin/list reports them, cut to a summary.
	plugins := []protocol.PluginSummary{}
	if h := s.srv.cfg.Plugins; h != nil {
		for _, st := range h.Plugins() {
			p := wirePlugin(st)
			plugins = append(plugins, protocol.PluginSummary{Name: p.Name, State: p.State, Sandbox: p.Sandbox})
		}
	}
	return &protocol.StatusResult{
		Version:    s.srv.cfg.Version,
		InstanceID: s.srv.cfg.InstanceID,
		StartedAt:  s.srv.startedAt.UTC(),
		Store:      s.srv.cfg.Store,
		Clients:    s.srv.sessionCount(),
		Session: protocol.SessionStatus{
			ID:               s.id,
			Transport:        s.transport,
			PositionEncoding: string(enc),
			OpenDocuments:    snap.Len(),
		},
		Plugins: plugins,
	}, nil
}

func (s *Session) documentGet(_ context.Context, snap *document.Snapshot, p *protocol.DocumentGetParams) (*protocol.Document, error) {
	if p.URI == "" {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "uri is required")
	}
	d, ok := snap.Get(p.URI)
	if !ok {
		return nil, protocol.Errorf(protocol.ErrNotFound, "document %s is not open in this session", p.URI)
	}
	return &protocol.Document{URI: d.URI, Version: d.Version, LanguageID: d.LanguageID, Text: d.Text.String(), Oversize: d.Oversize}, nil
}

func (s *Session) projectList(ctx context.Context, _ *document.Snapshot, p *protocol.ProjectListParams) (*protocol.ProjectListResult, error) {
	if p.Limit < 0 {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "limit must not be negative")
	}
	opt := store.ListOptions{After: p.After, Limit: p.Limit}
	if who, _ := s.who(); !who.allProjects() {
		opt.MemberOf = who.UserID // only the projects the caller is a member of
	}
	ps, next, err := s.srv.projects.List(ctx, opt)
	if err != nil {
		return nil, storeError(err)
	}
	out := &protocol.ProjectListResult{Projects: make([]protocol.Project, len(ps)), Next: next}
	for i, pr := range ps {
		out.Projects[i] = wireProject(pr)
	}
	return out, nil
}

func (s *Session) projectGet(ctx context.Context, _ *document.Snapshot, p *protocol.ProjectIDParams) (*protocol.Project, error) {
	pr, err := s.srv.projects.Get(ctx, p.ID)
	if err != nil {
		return nil, storeError(err)
	}
	w := wireProject(pr)
	return &w, nil
}

func (s *Session) projectCreate(ctx context.Context, _ *document.Snapshot, p *protocol.ProjectCreateParams) (*protocol.Project, error) {
	pr, err := s.srv.projects.Create(ctx, p.Name, p.Root)
	if err != nil {
		return nil, storeError(err)
	}
	w := wireProject(pr)
	return &w, nil
}

func (s *Session) projectUpdate(ctx context.Context, _ *document.Snapshot, p *protocol.ProjectUpdateParams) (*protocol.Project, error) {
	pr, err := s.srv.projects.Update(ctx, p.ID, store.ProjectUpdate{Name: p.Name, Root: p.Root})
	if err != nil {
		return nil, storeError(err)
	}
	w := wireProject(pr)
	return &w, nil
}

func (s *Session) projectDelete(ctx context.Context, _ *document.Snapshot, p *protocol.ProjectIDParams) (*protocol.ProjectDeleteResult, error) {
	if err := s.srv.projects.Delete(ctx, p.ID); err != nil {
		return nil, storeError(err)
	}
	return &protocol.ProjectDeleteResult{ID: p.ID}, nil
}

func (s *Session) debugEcho(_ context.Context, _ *document.Snapshot, p *protocol.DebugEchoParams) (*protocol.DebugEchoParams, error) {
	return p, nil
}

func (s *Session) debugSleep(ctx context.Context, _ *document.Snapshot, p *protocol.DebugSleepParams) (*protocol.DebugSleepResult, error) {
	if p.MS < 0 || p.MS > 60_000 {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "ms must be between 0 and 60000")
	}
	start := time.Now()
	t := time.NewTimer(time.Duration(p.MS) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return &protocol.DebugSleepResult{SleptMS: time.Since(start).Milliseconds()}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func wireProject(p store.Project) protocol.Project {
	return protocol.Project{ID: p.ID, Name: p.Name, Root: p.Root, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

// storeError translates the store's sentinels into coded protocol errors,
// keeping the message.
func storeError(err error) error {
	var sentinel *protocol.Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		sentinel = protocol.ErrNotFound
	case errors.Is(err, store.ErrConflict):
		sentinel = protocol.ErrConflict
	case errors.Is(err, store.ErrInvalid):
		sentinel = protocol.ErrInvalidParams
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
