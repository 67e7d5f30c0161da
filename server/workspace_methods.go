package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace"
	"github.com/gathering-dev/gathering/workspace/document"
	"github.com/gathering-dev/gathering/workspace/git"
	"github.com/gathering-dev/gathering/workspace/search"
)

// workspaceMethods are the gathering/workspace/* and gathering/git/*
// methods. Their params implement protocol.ProjectScoped, so request has
// checked the caller's membership of the project before a handler runs.
func workspaceMethods() []*method {
	return []*method{
		request(protocol.MethodWorkspaceTree, accessRead, (*Session).workspaceTree),
		request(protocol.MethodWorkspaceRead, accessRead, (*Session).workspaceRead),
		request(protocol.MethodWorkspaceSearch, accessRead, (*Session).workspaceSearch),
		request(protocol.MethodWorkspaceWrite, accessWrite, (*Session).workspaceWrite),
		request(protocol.MethodWorkspaceDelete, accessWrite, (*Session).workspaceDelete),
		request(protocol.MethodWorkspaceRename, accessWrite, (*Session).workspaceRename),
		request(protocol.MethodWorkspaceMkdir, accessWrite, (*Session).workspaceMkdir),
		request(protocol.MethodGitStatus, accessRead, (*Session).gitStatus),
		request(protocol.MethodGitDiff, accessRead, (*Session).gitDiff),
		request(protocol.MethodGitLog, accessRead, (*Session).gitLog),
		request(protocol.MethodGitBranches, accessRead, (*Session).gitBranches),
		request(protocol.MethodGitStage, accessWrite, (*Session).gitStage),
		request(protocol.MethodGitUnstage, accessWrite, (*Session).gitUnstage),
		request(protocol.MethodGitCommit, accessWrite, (*Session).gitCommit),
	}
}

// project resolves a workspace method's project. Every workspace and git
// handler goes through it, so a per-project rule beyond membership belongs
// here.
func (s *Session) project(ctx context.Context, id string) (*workspace.Project, error) {
	p, err := s.srv.files.Project(ctx, id)
	if err != nil {
		return nil, workspaceError(err)
	}
	return p, nil
}

// workspaceTree answers the page's JSON as it is, written without
// reflection (see protocol.WorkspaceTreeResult): a page of 10,000 entries
// is most of a full listing's cost.
func (s *Session) workspaceTree(ctx context.Context, _ *document.Snapshot, p *protocol.WorkspaceTreeParams) (json.RawMessage, error) {
	fields, err := treeFields(p.Fields)
	if err != nil {
		return nil, err
	}
	proj, err := s.project(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	page, err := proj.Tree(ctx, workspace.TreeOptions{
		Under: p.Path, Glob: p.Glob, Exclude: p.Exclude, Cursor: p.Cursor, Limit: p.Limit,
		NoGitStatus: !fields.gitStatus,
	})
	if err != nil {
		return nil, workspaceError(err)
	}
	// Each entry is made as it is encoded, and the JSON's size is
	// reckoned first, so that the page is not copied on the way.
	size := 64 + len(page.Cursor)
	for i, e := range page.Entries {
		size += len(`{"path":"","type":"symlink"},`) + len(e.Path)
		if fields.size || fields.mtime || page.GitStatus(i) != "" {
			size += len(`,"size":1000000,"mtime":1764217293000,"gitStatus":" M"`)
		}
	}
	entries := func(yield func(protocol.TreeEntry) bool) {
		for i, e := range page.Entries {
			te := protocol.TreeEntry{Path: e.Path, GitStatus: page.GitStatus(i)}
			if fields.typ {
				te.Type = "file"
				switch {
				case e.Dir:
					te.Type = "dir"
				case e.Link:
					te.Type = "symlink"
				}
			}
			if fields.size {
				te.Size = e.Size
			}
			if fields.mtime {
				te.Mtime = e.ModTime / int64(time.Millisecond)
			}
			if !yield(te) {
				return
			}
		}
	}
	return protocol.AppendTreeResult(make([]byte, 0, size), entries, page.Cursor, page.Git), nil
}

// entryFields are the fields of tree entries a listing asked for.
type entryFields struct{ typ, size, mtime, gitStatus bool }

// treeFields reads gathering/workspace/tree's fields param; absent means
// every field.
func treeFields(names []string) (entryFields, error) {
	if names == nil {
		return entryFields{true, true, true, true}, nil
	}
	var f entryFields
	for _, n := range names {
		switch n {
		case protocol.TreeFieldPath:
		case protocol.TreeFieldType:
			f.typ = true
		case protocol.TreeFieldSize:
			f.size = true
		case protocol.TreeFieldMtime:
			f.mtime = true
		case protocol.TreeFieldGitStatus:
			f.gitStatus = true
		default:
			return f, protocol.Errorf(protocol.ErrInvalidParams, "fields: unknown field %q (path, type, size, mtime, gitStatus)", n)
		}
	}
	return f, nil
}

func (s *Session) workspaceRead(ctx context.Context, _ *document.Snapshot, p *protocol.WorkspaceReadParams) (*protocol.WorkspaceReadResult, error) {
	if p.MaxBytes < 0 {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "maxBytes must not be negative")
	}
	proj, err := s.project(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	f, err := proj.Read(ctx, p.Path, p.MaxBytes)
	if err != nil {
		return nil, workspaceError(err)
	}
	return &protocol.WorkspaceReadResult{Path: f.Path, Content: string(f.Content), Binary: f.Binary, Size: f.Size, Mtime: f.ModTime, Version: f.Version}, nil
}

func (s *Session) workspaceWrite(ctx context.Context, _ *document.Snapshot, p *protocol.WorkspaceWriteParams) (*protocol.WorkspaceWriteResult, error) {
	if p.ExpectedVersion == nil {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, `expectedVersion is required: the version read returned, or "" for a new file`)
	}
	proj, err := s.project(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	f, changes, err := proj.Write(ctx, p.Path, []byte(p.Content), workspace.WriteOptions{ExpectedVersion: *p.ExpectedVersion, MakeParents: p.CreateParents})
	if err != nil {
		return nil, workspaceError(err)
	}
	s.srv.announce(ctx, proj, changes)
	return &protocol.WorkspaceWriteResult{Path: f.Path, Size: f.Size, Mtime: f.ModTime, Version: f.Version}, nil
}

func (s *Session) workspaceDelete(ctx context.Context, _ *document.Snapshot, p *protocol.WorkspaceDeleteParams) (*protocol.WorkspaceChangeResult, error) {
	proj, err := s.project(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	changes, err := proj.Delete(ctx, p.Path, workspace.DeleteOptions{ExpectedVersion: p.ExpectedVersion, Recursive: p.Recursive})
	return s.changed(ctx, proj, changes, err)
}

func (s *Session) workspaceRename(ctx context.Context, _ *document.Snapshot, p *protocol.WorkspaceRenameParams) (*protocol.WorkspaceChangeResult, error) {
	proj, err := s.project(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	changes, err := proj.Rename(ctx, p.From, p.To, p.Overwrite)
	return s.changed(ctx, proj, changes, err)
}

func (s *Session) workspaceMkdir(ctx context.Context, _ *document.Snapshot, p *protocol.WorkspacePathParams) (*protocol.WorkspaceChangeResult, error) {
	proj, err := s.project(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	changes, err := proj.Mkdir(ctx, p.Path)
	return s.changed(ctx, proj, changes, err)
}

// changed answers a method that changed files, and tells every session.
func (s *Session) changed(ctx context.Context, proj *workspace.Project, changes []workspace.Change, err error) (*protocol.WorkspaceChangeResult, error) {
	if err != nil {
		return nil, workspaceError(err)
	}
	s.srv.announce(ctx, proj, changes)
	return &protocol.WorkspaceChangeResult{Changes: fileEvents(proj, changes)}, nil
}

func fileEvents(proj *workspace.Project, changes []workspace.Change) []protocol.FileEvent {
	out := make([]protocol.FileEvent, len(changes))
	for i, c := range changes {
		out[i] = protocol.FileEvent{URI: proj.URI(c.Path), Path: c.Path, Type: int(c.Type)}
	}
	return out
}

// announce sends gathering/workspace/didChange to every session whose
// caller may see the project, the one that made the change included.
func (srv *Server) announce(ctx context.Context, proj *workspace.Project, changes []workspace.Change) {
	if len(changes) == 0 {
		return
	}
	params := protocol.WorkspaceDidChangeParams{ProjectID: proj.ID(), Changes: fileEvents(proj, changes)}
	ctx = context.WithoutCancel(ctx)
	for _, sess := range srv.snapshotSessions() {
		sess.mu.Lock()
		ready := sess.state == stateInitialized && sess.conn != nil
		sess.mu.Unlock()
		if !ready || !sess.seesProject(ctx, proj.ID()) {
			continue
		}
		sess.notify(ctx, protocol.MethodWorkspaceDidChange, params)
	}
}

// seesProject reports whether the session's caller may read the project.
func (s *Session) seesProject(ctx context.Context, id string) bool {
	p, _ := s.who()
	if p.may(accessRead) != nil {
		return false
	}
	if p.allProjects() {
		return true
	}
	if p.UserID == "" || s.srv.cfg.Auth == nil {
		return false
	}
	ok, err := s.srv.cfg.Auth.MemberOf(ctx, p.UserID, id)
	if err != nil {
		s.log.Warn("membership check for a change notification failed", slog.Any("error", err))
	}
	return ok
}

// maxSearchTimeout bounds a search's timeoutMs.
const maxSearchTimeout = 60 * time.Second

func (s *Session) workspaceSearch(ctx context.Context, _ *document.Snapshot, p *protocol.WorkspaceSearchParams) (*protocol.WorkspaceSearchResult, error) {
	timeout := time.Duration(p.TimeoutMs) * time.Millisecond
	if p.TimeoutMs < 0 || timeout > maxSearchTimeout || p.MaxBytes < 0 {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "timeoutMs must be between 0 and %d, maxBytes not negative", maxSearchTimeout.Milliseconds())
	}
	proj, err := s.project(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	opt := workspace.SearchOptions{
		Options: search.Options{Query: p.Query, Regex: p.Regex, CaseSensitive: p.CaseSensitive, MaxMatches: p.MaxMatches, MaxBytes: p.MaxBytes, Timeout: timeout},
		Under:   p.Path, Include: p.Include, Exclude: p.Exclude,
	}
	streamed := len(p.PartialResultToken) > 0
	if streamed {
		nctx := context.WithoutCancel(ctx)
		opt.Progress = func(ms []search.Match) {
			s.notify(nctx, "$/progress", protocol.ProgressParams{Token: p.PartialResultToken, Value: protocol.SearchPartialResult{Matches: wireMatches(ms)}})
		}
	}
	res, err := proj.Search(ctx, opt)
	if err != nil {
		return nil, workspaceError(err)
	}
	out := &protocol.WorkspaceSearchResult{Matches: []protocol.SearchMatch{}, FilesSearched: res.FilesSearched, BytesSearched: res.BytesSearched, Stopped: res.Stopped}
	if !streamed {
		out.Matches = wireMatches(res.Matches)
	}
	return out, nil
}

func wireMatches(ms []search.Match) []protocol.SearchMatch {
	out := make([]protocol.SearchMatch, len(ms))
	for i, m := range ms {
		out[i] = protocol.SearchMatch{Path: m.Path, Line: m.Line, Column: m.Column, Length: m.Length, Text: m.Text}
	}
	return out
}

// repo resolves a git method's project and its repository.
func (s *Session) repo(ctx context.Context, id string) (*workspace.Project, *git.Repo, error) {
	proj, err := s.project(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	r, err := proj.Git(ctx)
	if err != nil {
		return nil, nil, workspaceError(err)
	}
	return proj, r, nil
}

func (s *Session) gitStatus(ctx context.Context, _ *document.Snapshot, p *protocol.GitParams) (*protocol.GitStatusResult, error) {
	proj, err := s.project(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	st, err := proj.GitStatus(ctx)
	if err != nil {
		return nil, workspaceError(err)
	}
	return wireStatus(st), nil
}

func wireStatus(st *git.Status) *protocol.GitStatusResult {
	out := &protocol.GitStatusResult{
		Branch: st.Branch, Head: st.Head, Upstream: st.Upstream, Ahead: st.Ahead, Behind: st.Behind,
		Staged: []protocol.GitChange{}, Unstaged: []protocol.GitChange{}, Untracked: []string{}, Conflicted: []string{},
	}
	for _, e := range st.Entries {
		switch {
		case e.Conflicted:
			out.Conflicted = append(out.Conflicted, e.Path)
		case e.Untracked():
			out.Untracked = append(out.Untracked, e.Path)
		default:
			if e.Staged() {
				out.Staged = append(out.Staged, protocol.GitChange{Path: e.Path, OrigPath: e.OrigPath, Status: e.Index})
			}
			if e.Unstaged() {
				out.Unstaged = append(out.Unstaged, protocol.GitChange{Path: e.Path, Status: e.WorkTree})
			}
		}
	}
	out.Clean = len(st.Entries) == 0
	return out
}

// maxDiffBytes bounds a diff's maxBytes.
const maxDiffBytes = 16 << 20

func (s *Session) gitDiff(ctx context.Context, _ *document.Snapshot, p *protocol.GitDiffParams) (*protocol.GitDiffResult, error) {
	if p.MaxBytes < 0 || p.MaxBytes > maxDiffBytes {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "maxBytes must be between 0 and %d", maxDiffBytes)
	}
	proj, r, err := s.repo(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	var paths []string
	if p.Path != "" {
		if paths, err = proj.GitPaths([]string{p.Path}); err != nil {
			return nil, workspaceError(err)
		}
	}
	d, err := r.Diff(ctx, git.DiffOptions{Commit: p.Commit, Staged: p.Staged, Paths: paths, MaxBytes: p.MaxBytes})
	if err != nil {
		return nil, workspaceError(err)
	}
	return &protocol.GitDiffResult{Diff: d.Text, Truncated: d.Truncated}, nil
}

func (s *Session) gitLog(ctx context.Context, _ *document.Snapshot, p *protocol.GitLogParams) (*protocol.GitLogResult, error) {
	if p.Skip < 0 || p.Limit < 0 || p.Limit > 500 {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "skip must not be negative and limit must be between 0 and 500")
	}
	proj, r, err := s.repo(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	path := ""
	if p.Path != "" {
		paths, err := proj.GitPaths([]string{p.Path})
		if err != nil {
			return nil, workspaceError(err)
		}
		path = paths[0]
	}
	commits, err := r.Log(ctx, git.LogOptions{Rev: p.Rev, Path: path, Skip: p.Skip, Limit: p.Limit})
	if err != nil {
		return nil, workspaceError(err)
	}
	out := &protocol.GitLogResult{Commits: make([]protocol.GitCommit, len(commits))}
	for i, c := range commits {
		files := make([]protocol.GitFileStat, len(c.Files))
		for j, f := range c.Files {
			files[j] = protocol.GitFileStat{Path: f.Path, OrigPath: f.OrigPath, Added: f.Added, Deleted: f.Deleted, Binary: f.Binary}
		}
		parents := c.Parents
		if parents == nil {
			parents = []string{}
		}
		out.Commits[i] = protocol.GitCommit{Hash: c.Hash, Parents: parents, AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail,
			Date: c.AuthorTime, Subject: c.Subject, Body: c.Body, Files: files}
	}
	return out, nil
}

func (s *Session) gitBranches(ctx context.Context, _ *document.Snapshot, p *protocol.GitParams) (*protocol.GitBranchesResult, error) {
	_, r, err := s.repo(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	bs, err := r.Branches(ctx)
	if err != nil {
		return nil, workspaceError(err)
	}
	out := &protocol.GitBranchesResult{Branches: make([]protocol.GitBranch, len(bs))}
	for i, b := range bs {
		out.Branches[i] = protocol.GitBranch{Name: b.Name, Remote: b.Remote, Current: b.Current, Commit: b.Commit, Upstream: b.Upstream,
			Ahead: b.Ahead, Behind: b.Behind, Gone: b.Gone, Date: b.CommitTime, Subject: b.Subject}
	}
	return out, nil
}

func (s *Session) gitStage(ctx context.Context, _ *document.Snapshot, p *protocol.GitPathsParams) (*protocol.GitStatusResult, error) {
	return s.gitPaths(ctx, p, (*git.Repo).Stage)
}

func (s *Session) gitUnstage(ctx context.Context, _ *document.Snapshot, p *protocol.GitPathsParams) (*protocol.GitStatusResult, error) {
	return s.gitPaths(ctx, p, (*git.Repo).Unstage)
}

// gitPaths runs a git command on paths and answers the status after it.
func (s *Session) gitPaths(ctx context.Context, p *protocol.GitPathsParams, run func(*git.Repo, context.Context, []string) error) (*protocol.GitStatusResult, error) {
	proj, r, err := s.repo(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	paths, err := proj.GitPaths(p.Paths)
	if err != nil {
		return nil, workspaceError(err)
	}
	err = run(r, ctx, paths)
	proj.GitChanged()
	if err != nil {
		return nil, workspaceError(err)
	}
	st, err := proj.GitStatus(ctx)
	if err != nil {
		return nil, workspaceError(err)
	}
	return wireStatus(st), nil
}

func (s *Session) gitCommit(ctx context.Context, _ *document.Snapshot, p *protocol.GitCommitParams) (*protocol.GitCommitResult, error) {
	proj, r, err := s.repo(ctx, p.ProjectID)
	if err != nil {
		return nil, err
	}
	hash, err := r.Commit(ctx, p.Message, git.Author{Name: p.AuthorName, Email: p.AuthorEmail})
	proj.GitChanged()
	if err != nil {
		return nil, workspaceError(err)
	}
	return &protocol.GitCommitResult{Hash: hash}, nil
}

// workspaceError translates the workspace's and git's errors into coded
// protocol errors, keeping the message. A git command that ran and failed
// (nothing to commit, a lock held, a dubious owner) is a conflict with the
// repository's state; git's own words are in the message.
func workspaceError(err error) error {
	if _, ok := errors.AsType[*protocol.Error](err); ok {
		return err
	}
	var sentinel *protocol.Error
	switch {
	case errors.Is(err, workspace.ErrInvalidPath), errors.Is(err, workspace.ErrPathEscapes),
		errors.Is(err, workspace.ErrInvalid), errors.Is(err, git.ErrInvalid):
		sentinel = protocol.ErrInvalidParams
	case errors.Is(err, workspace.ErrNotFound), errors.Is(err, git.ErrNotRepository):
		sentinel = protocol.ErrNotFound
	case errors.Is(err, workspace.ErrConflict):
		sentinel = protocol.ErrConflict
	case errors.Is(err, workspace.ErrTooLarge), errors.Is(err, git.ErrOutputTooLarge):
		sentinel = protocol.ErrTooLarge
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrConflict):
		return storeError(err)
	default:
		if _, ok := errors.AsType[*git.Error](err); ok {
			sentinel = protocol.ErrConflict
		} else {
			return err
		}
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
