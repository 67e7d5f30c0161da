package protocol

import (
	"encoding/json"
	"time"
)

// The gathering/workspace/* and gathering/git/* methods act on the files and
// repository of one project, named by projectId, with paths relative to the
// project's root ("." is the root itself).
const (
	MethodWorkspaceTree   = "gathering/workspace/tree"
	MethodWorkspaceRead   = "gathering/workspace/read"
	MethodWorkspaceWrite  = "gathering/workspace/write"
	MethodWorkspaceDelete = "gathering/workspace/delete"
	MethodWorkspaceRename = "gathering/workspace/rename"
	MethodWorkspaceMkdir  = "gathering/workspace/mkdir"
	MethodWorkspaceSearch = "gathering/workspace/search"

	MethodGitStatus   = "gathering/git/status"
	MethodGitDiff     = "gathering/git/diff"
	MethodGitLog      = "gathering/git/log"
	MethodGitBranches = "gathering/git/branches"
	MethodGitStage    = "gathering/git/stage"
	MethodGitUnstage  = "gathering/git/unstage"
	MethodGitCommit   = "gathering/git/commit"

	// MethodWorkspaceDidChange is a notification from the server to every
	// session: files of a project changed through gathering.
	MethodWorkspaceDidChange = "gathering/workspace/didChange"
)

// WorkspaceTreeParams ask for a page of a project's tree.
type WorkspaceTreeParams struct {
	ProjectID string `json:"projectId"`
	// Path is a directory to list beneath; the root when absent.
	Path string `json:"path,omitempty"`
	// Glob keeps entries one of whose patterns matches (gitignore syntax:
	// "*.go" matches names, "src/**/*.ts" paths); Exclude drops entries
	// and whole directories.
	Glob    []string `json:"glob,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// Cursor is the previous page's cursor.
	Cursor string `json:"cursor,omitempty"`
	// Limit is 1000 when absent, at most 10,000.
	Limit int `json:"limit,omitempty"`
}

// TreeEntry is a file, directory or symbolic link in a tree.
type TreeEntry struct {
	Path string `json:"path"`
	// Type is "file", "dir" or "symlink" (never followed).
	Type  string    `json:"type"`
	Size  int64     `json:"size"`
	Mtime time.Time `json:"mtime"`
	// GitStatus is git's two-letter short status ("??", " M", "A ", …);
	// absent for unchanged files and outside git.
	GitStatus string `json:"gitStatus,omitempty"`
}

// WorkspaceTreeResult is one page; Cursor is absent on the last.
type WorkspaceTreeResult struct {
	Entries []TreeEntry `json:"entries"`
	Cursor  string      `json:"cursor,omitempty"`
	// Git is true when the project lies in a git work tree.
	Git bool `json:"git"`
}

// WorkspacePathParams name one path in a project.
type WorkspacePathParams struct {
	ProjectID string `json:"projectId"`
	Path      string `json:"path"`
}

// WorkspaceReadParams ask for a file's text.
type WorkspaceReadParams struct {
	ProjectID string `json:"projectId"`
	Path      string `json:"path"`
	// MaxBytes refuses bigger files with too_large; the server's limit
	// (8 MiB by default) when absent or larger.
	MaxBytes int64 `json:"maxBytes,omitempty"`
}

// WorkspaceReadResult is a file's text, or only its facts when binary.
type WorkspaceReadResult struct {
	Path    string    `json:"path"`
	Content string    `json:"content,omitempty"`
	Binary  bool      `json:"binary"`
	Size    int64     `json:"size"`
	Mtime   time.Time `json:"mtime"`
	// Version identifies the contents ("sha256:…"); pass it to write.
	Version string `json:"version"`
}

// WorkspaceWriteParams replace a file's contents.
type WorkspaceWriteParams struct {
	ProjectID string `json:"projectId"`
	Path      string `json:"path"`
	Content   string `json:"content"`
	// ExpectedVersion is required: the version read returned, or "" for a
	// file that must not exist yet. Anything else is a conflict.
	ExpectedVersion *string `json:"expectedVersion"`
	// CreateParents makes missing parent directories.
	CreateParents bool `json:"createParents,omitempty"`
}

// WorkspaceWriteResult describes the file written.
type WorkspaceWriteResult struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	Mtime   time.Time `json:"mtime"`
	Version string    `json:"version"`
}

// WorkspaceDeleteParams remove a file, link or directory.
type WorkspaceDeleteParams struct {
	ProjectID string `json:"projectId"`
	Path      string `json:"path"`
	// ExpectedVersion, when set, must be a file's current version.
	ExpectedVersion string `json:"expectedVersion,omitempty"`
	// Recursive removes a directory with its contents.
	Recursive bool `json:"recursive,omitempty"`
}

// WorkspaceRenameParams move a file or directory.
type WorkspaceRenameParams struct {
	ProjectID string `json:"projectId"`
	From      string `json:"from"`
	To        string `json:"to"`
	// Overwrite replaces an existing file at To; without it that is a
	// conflict.
	Overwrite bool `json:"overwrite,omitempty"`
}

// WorkspaceChangeResult lists the changes a method made.
type WorkspaceChangeResult struct {
	Changes []FileEvent `json:"changes"`
}

// FileEvent is a change to a file, as LSP's FileEvent, with the path too.
type FileEvent struct {
	URI  string `json:"uri"`
	Path string `json:"path"`
	// Type is 1 created, 2 changed, 3 deleted (LSP FileChangeType).
	Type int `json:"type"`
}

// WorkspaceDidChangeParams are sent with gathering/workspace/didChange.
type WorkspaceDidChangeParams struct {
	ProjectID string      `json:"projectId"`
	Changes   []FileEvent `json:"changes"`
}

// WorkspaceSearchParams search a project's files (those the tree lists:
// nothing ignored or excluded).
type WorkspaceSearchParams struct {
	ProjectID string `json:"projectId"`
	Query     string `json:"query"`
	// Regex reads Query as a Go regular expression (RE2 syntax: no
	// backreferences or lookaround), ^ and $ matching at line ends.
	Regex         bool     `json:"regex,omitempty"`
	CaseSensitive bool     `json:"caseSensitive,omitempty"`
	Path          string   `json:"path,omitempty"`
	Include       []string `json:"include,omitempty"`
	Exclude       []string `json:"exclude,omitempty"`
	// MaxMatches is 1000 when absent, at most 100,000.
	MaxMatches int `json:"maxMatches,omitempty"`
	// MaxBytes bounds the bytes read (1 GiB when absent).
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// TimeoutMs is 10,000 when absent, at most 60,000.
	TimeoutMs int `json:"timeoutMs,omitempty"`
	// PartialResultToken, when set, streams matches in $/progress
	// notifications with this token; the answer then has no matches.
	PartialResultToken json.RawMessage `json:"partialResultToken,omitempty"`
}

// SearchMatch is one occurrence. Line is 1-based; column is the 0-based
// byte offset of the match in the line, length its length in bytes.
type SearchMatch struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Length int    `json:"length"`
	Text   string `json:"text"`
}

// WorkspaceSearchResult is what a search found. Stopped is "matches",
// "bytes" or "time" when a bound ended it early.
type WorkspaceSearchResult struct {
	Matches       []SearchMatch `json:"matches"`
	FilesSearched int           `json:"filesSearched"`
	BytesSearched int64         `json:"bytesSearched"`
	Stopped       string        `json:"stopped,omitempty"`
}

// SearchPartialResult is the value of each $/progress notification of a
// streamed search.
type SearchPartialResult struct {
	Matches []SearchMatch `json:"matches"`
}

// ProgressParams are the params of $/progress.
type ProgressParams struct {
	Token json.RawMessage `json:"token"`
	Value any             `json:"value"`
}

// GitParams name the project of a git method that takes nothing else.
type GitParams struct {
	ProjectID string `json:"projectId"`
}

// GitChange is a path that differs, with git's letter for how ("M", "A",
// "D", "R", "C", "T", "U").
type GitChange struct {
	Path     string `json:"path"`
	OrigPath string `json:"origPath,omitempty"`
	Status   string `json:"status"`
}

// GitStatusResult is the branch and the changes of the work tree.
type GitStatusResult struct {
	// Branch is absent when HEAD is detached; Head before the first commit.
	Branch     string      `json:"branch,omitempty"`
	Head       string      `json:"head,omitempty"`
	Upstream   string      `json:"upstream,omitempty"`
	Ahead      int         `json:"ahead"`
	Behind     int         `json:"behind"`
	Staged     []GitChange `json:"staged"`
	Unstaged   []GitChange `json:"unstaged"`
	Untracked  []string    `json:"untracked"`
	Conflicted []string    `json:"conflicted"`
	// Clean is true when nothing is staged, unstaged or untracked.
	Clean bool `json:"clean"`
}

// GitDiffParams choose a diff: the work tree against the index, the index
// against HEAD (staged), or one commit against its first parent.
type GitDiffParams struct {
	ProjectID string `json:"projectId"`
	Path      string `json:"path,omitempty"`
	Commit    string `json:"commit,omitempty"`
	Staged    bool   `json:"staged,omitempty"`
	// MaxBytes cuts the diff (1 MiB when absent, at most 16 MiB).
	MaxBytes int64 `json:"maxBytes,omitempty"`
}

// GitDiffResult is a unified diff.
type GitDiffResult struct {
	Diff      string `json:"diff"`
	Truncated bool   `json:"truncated"`
}

// GitLogParams page through commits, newest first.
type GitLogParams struct {
	ProjectID string `json:"projectId"`
	// Rev is a branch, tag or commit to start from; HEAD when absent.
	Rev  string `json:"rev,omitempty"`
	Path string `json:"path,omitempty"`
	Skip int    `json:"skip,omitempty"`
	// Limit is 50 when absent, at most 500.
	Limit int `json:"limit,omitempty"`
}

// GitFileStat is a file a commit changed.
type GitFileStat struct {
	Path     string `json:"path"`
	OrigPath string `json:"origPath,omitempty"`
	Added    int    `json:"added"`
	Deleted  int    `json:"deleted"`
	Binary   bool   `json:"binary,omitempty"`
}

// GitCommit is one commit of a log.
type GitCommit struct {
	Hash        string        `json:"hash"`
	Parents     []string      `json:"parents"`
	AuthorName  string        `json:"authorName"`
	AuthorEmail string        `json:"authorEmail"`
	Date        time.Time     `json:"date"`
	Subject     string        `json:"subject"`
	Body        string        `json:"body,omitempty"`
	Files       []GitFileStat `json:"files"`
}

// GitLogResult is a page of commits.
type GitLogResult struct {
	Commits []GitCommit `json:"commits"`
}

// GitBranch is a local or remote-tracking branch.
type GitBranch struct {
	Name     string    `json:"name"`
	Remote   bool      `json:"remote"`
	Current  bool      `json:"current"`
	Commit   string    `json:"commit"`
	Upstream string    `json:"upstream,omitempty"`
	Ahead    int       `json:"ahead"`
	Behind   int       `json:"behind"`
	Gone     bool      `json:"gone,omitempty"`
	Date     time.Time `json:"date"`
	Subject  string    `json:"subject"`
}

// GitBranchesResult lists branches, local first.
type GitBranchesResult struct {
	Branches []GitBranch `json:"branches"`
}

// GitPathsParams name paths to stage or unstage (1 to 10,000).
type GitPathsParams struct {
	ProjectID string   `json:"projectId"`
	Paths     []string `json:"paths"`
}

// GitCommitParams commit the index. The author, when given, needs both
// fields and is also the committer.
type GitCommitParams struct {
	ProjectID   string `json:"projectId"`
	Message     string `json:"message"`
	AuthorName  string `json:"authorName,omitempty"`
	AuthorEmail string `json:"authorEmail,omitempty"`
}

// GitCommitResult names the new commit.
type GitCommitResult struct {
	Hash string `json:"hash"`
}

// ProjectScope implements [ProjectScoped].
func (p *WorkspaceTreeParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *WorkspacePathParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *WorkspaceReadParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *WorkspaceWriteParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *WorkspaceDeleteParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *WorkspaceRenameParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *WorkspaceSearchParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *GitParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *GitDiffParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *GitLogParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *GitPathsParams) ProjectScope() string { return p.ProjectID }

// ProjectScope implements [ProjectScoped].
func (p *GitCommitParams) ProjectScope() string { return p.ProjectID }
