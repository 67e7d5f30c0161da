package protocol

import (
	"bytes"
	"encoding/json"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	// Fields names the entry fields to answer besides path: any of
	// "type", "size", "mtime" and "gitStatus" ("path" is allowed and
	// always answered). All of them when absent. A listing without
	// "gitStatus" does not run git status.
	Fields []string `json:"fields,omitempty"`
}

// The fields of a [TreeEntry], as [WorkspaceTreeParams.Fields] names them.
const (
	TreeFieldPath      = "path"
	TreeFieldType      = "type"
	TreeFieldSize      = "size"
	TreeFieldMtime     = "mtime"
	TreeFieldGitStatus = "gitStatus"
)

// TreeEntry is a file, directory or symbolic link in a tree. A field the
// listing did not ask for is absent (zero), and so are size, mtime and
// gitStatus when zero.
type TreeEntry struct {
	Path string `json:"path"`
	// Type is "file", "dir" or "symlink" (never followed).
	Type string `json:"type,omitempty"`
	// Size is in bytes; absent for directories and empty files.
	Size int64 `json:"size,omitempty"`
	// Mtime is the modification time in milliseconds since the Unix
	// epoch, as VS Code's FileStat.mtime.
	Mtime int64 `json:"mtime,omitempty"`
	// GitStatus is git's two-letter short status ("??", " M", "A ", …);
	// absent for unchanged files and outside git.
	GitStatus string `json:"gitStatus,omitempty"`
}

// WorkspaceTreeResult is one page; Cursor is absent on the last.
//
// A page can hold 10,000 entries and a full listing a hundred times more,
// so it encodes and decodes itself by hand, several times faster than
// encoding/json's reflection; the JSON is the same either way. See
// [WorkspaceTreeResult.MarshalJSON] and [WorkspaceTreeResult.UnmarshalJSON].
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

// MarshalJSON encodes the page exactly as encoding/json would encode its
// fields, without reflection.
func (r *WorkspaceTreeResult) MarshalJSON() ([]byte, error) {
	n := 40 + len(r.Cursor)
	for i := range r.Entries {
		n += 32 + len(r.Entries[i].Path)
	}
	var entries iter.Seq[TreeEntry]
	if r.Entries != nil {
		entries = slices.Values(r.Entries)
	}
	return AppendTreeResult(make([]byte, 0, n), entries, r.Cursor, r.Git), nil
}

// AppendTreeResult appends the JSON of a [WorkspaceTreeResult] with the
// given entries, cursor and git to b, as its MarshalJSON does, without
// holding the entries in a slice: a server can make each from its own
// listing as it goes. A nil entries is encoded as null.
func AppendTreeResult(b []byte, entries iter.Seq[TreeEntry], cursor string, git bool) []byte {
	b = append(b, `{"entries":`...)
	if entries == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		first := true
		for e := range entries {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = e.appendJSON(b)
		}
		b = append(b, ']')
	}
	if cursor != "" {
		b = append(b, `,"cursor":`...)
		b = appendJSONString(b, cursor)
	}
	b = append(b, `,"git":`...)
	b = strconv.AppendBool(b, git)
	return append(b, '}')
}

func (e *TreeEntry) appendJSON(b []byte) []byte {
	b = append(b, `{"path":`...)
	b = appendJSONString(b, e.Path)
	if e.Type != "" {
		b = append(b, `,"type":`...)
		b = appendJSONString(b, e.Type)
	}
	if e.Size != 0 {
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, e.Size, 10)
	}
	if e.Mtime != 0 {
		b = append(b, `,"mtime":`...)
		b = strconv.AppendInt(b, e.Mtime, 10)
	}
	if e.GitStatus != "" {
		b = append(b, `,"gitStatus":`...)
		b = appendJSONString(b, e.GitStatus)
	}
	return append(b, '}')
}

// plainByte marks the bytes that encoding/json writes as they are inside
// a string: printable ASCII but for the quote, the backslash and the HTML
// characters it escapes.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// appendJSONString appends s as encoding/json writes it: as it is when
// every byte is plain, else through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// UnmarshalJSON decodes a page. The JSON a server writes is read by a
// strict hand-written parser that accepts only valid JSON, so a client
// that holds an answer's bytes may call it directly instead of through
// json.Unmarshal, whose own validating scan costs as much again. Anything
// else it cannot read (unknown members, null, numbers that are not
// integers, keys spelt in another case) is decoded by encoding/json, with
// its errors. Unlike encoding/json, it replaces Entries rather than
// decoding into the elements it already has.
//
// The paths of one call share one allocation, which stays in memory while
// any of them is kept.
func (r *WorkspaceTreeResult) UnmarshalJSON(data []byte) error {
	if fastDecodeTree(data, r) {
		return nil
	}
	type plain WorkspaceTreeResult // without these methods
	return json.Unmarshal(data, (*plain)(r))
}

// treeDecoder reads the JSON of a [WorkspaceTreeResult]. Each method
// reports false for anything the fast path leaves to encoding/json.
type treeDecoder struct {
	data []byte
	i    int
}

// fastDecodeTree decodes data into r and reports whether it could; when it
// could not, r is unchanged.
func fastDecodeTree(data []byte, r *WorkspaceTreeResult) bool {
	if len(data) > math.MaxInt32 {
		return false // see span
	}
	d := &treeDecoder{data: data}
	var (
		out     WorkspaceTreeResult
		entries bool // seen, so replace r.Entries
		cursor  bool
		git     bool
	)
	if !d.byte('{') {
		return false
	}
	if !d.byte('}') {
		for {
			key, ok := d.key()
			if !ok {
				return false
			}
			switch key {
			case "entries":
				if out.Entries, ok = d.entries(); !ok {
					return false
				}
				entries = true
			case "cursor":
				s, ok := d.string()
				if !ok {
					return false
				}
				out.Cursor, cursor = string(s), true
			case "git":
				if out.Git, ok = d.bool(); !ok {
					return false
				}
				git = true
			default:
				return false
			}
			if d.byte(',') {
				continue
			}
			if !d.byte('}') {
				return false
			}
			break
		}
	}
	if d.space(); d.i != len(d.data) {
		return false
	}
	if entries {
		r.Entries = out.Entries
	}
	if cursor {
		r.Cursor = out.Cursor
	}
	if git {
		r.Git = out.Git
	}
	return true
}

// entries reads an array of entries, or null.
func (d *treeDecoder) entries() ([]TreeEntry, bool) {
	if d.literal("null") {
		return nil, true
	}
	if !d.byte('[') {
		return nil, false
	}
	// Every entry is an object: count them, about, to allocate once.
	// Each path is noted as where it lies in data, then all are copied
	// into one string.
	n := bytes.Count(d.data[d.i:], []byte{'{'})
	out := make([]TreeEntry, 0, n)
	spans := make([]span, 0, n)
	total := 0
	if !d.byte(']') {
		for {
			if !d.byte('{') {
				return nil, false
			}
			if len(out) < cap(out) {
				out = out[:len(out)+1]
			} else {
				out = append(out, TreeEntry{})
			}
			e := &out[len(out)-1]
			var path span
			for {
				key, ok := d.key()
				if !ok {
					return nil, false
				}
				switch key {
				case "path":
					s, ok := d.string()
					if !ok {
						return nil, false
					}
					// A later path wins, as in encoding/json.
					path = span{int32(d.i - 1 - len(s)), int32(d.i - 1)}
				case "type":
					if e.Type, ok = d.treeType(); !ok {
						return nil, false
					}
				case "size":
					if e.Size, ok = d.int(); !ok {
						return nil, false
					}
				case "mtime":
					if e.Mtime, ok = d.int(); !ok {
						return nil, false
					}
				case "gitStatus":
					s, ok := d.string()
					if !ok {
						return nil, false
					}
					e.GitStatus = string(s)
				default:
					return nil, false
				}
				if d.byte(',') {
					continue
				}
				if !d.byte('}') {
					return nil, false
				}
				break
			}
			spans = append(spans, path)
			total += int(path.end - path.start)
			if d.byte(',') {
				continue
			}
			if !d.byte(']') {
				return nil, false
			}
			break
		}
	}
	var sb strings.Builder
	sb.Grow(total)
	for _, p := range spans {
		sb.Write(d.data[p.start:p.end])
	}
	all, start := sb.String(), 0
	for i, p := range spans {
		end := start + int(p.end-p.start)
		out[i].Path = all[start:end]
		start = end
	}
	return out, true
}

// span is where a string's contents lie in the input: a page is far
// smaller than 2 GiB.
type span struct{ start, end int32 }

// treeType reads an entry's type, without allocating for the three there
// are.
func (d *treeDecoder) treeType() (string, bool) {
	for _, t := range [...]string{"file", "dir", "symlink"} {
		if d.quoted(t) {
			return t, true
		}
	}
	s, ok := d.string()
	return string(s), ok
}

// quoted reads the string s, when it is next, written without escapes.
func (d *treeDecoder) quoted(s string) bool {
	rest := d.data[d.i:]
	if len(rest) >= len(s)+2 && rest[0] == '"' && string(rest[1:1+len(s)]) == s && rest[1+len(s)] == '"' {
		d.i += len(s) + 2
		return true
	}
	return false
}

func (d *treeDecoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// byte skips white space and then c, and reports whether c was there.
func (d *treeDecoder) byte(c byte) bool {
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	d.space()
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *treeDecoder) literal(s string) bool {
	d.space()
	if bytes.HasPrefix(d.data[d.i:], []byte(s)) {
		d.i += len(s)
		return true
	}
	return false
}

func (d *treeDecoder) bool() (bool, bool) {
	if d.literal("true") {
		return true, true
	}
	return false, d.literal("false")
}

// key reads a member's name and its colon, and returns the name if it is
// one a page has, written without escapes.
func (d *treeDecoder) key() (string, bool) {
	d.space()
	if d.i+1 >= len(d.data) || d.data[d.i] != '"' {
		return "", false
	}
	var k string
	switch d.data[d.i+1] {
	case 'p':
		k = "path"
	case 't':
		k = "type"
	case 's':
		k = "size"
	case 'm':
		k = "mtime"
	case 'g':
		k = "gitStatus"
		if d.quoted("git") {
			return "git", d.byte(':')
		}
	case 'e':
		k = "entries"
	case 'c':
		k = "cursor"
	default:
		return "", false
	}
	if !d.quoted(k) {
		return "", false
	}
	return k, d.byte(':')
}

// stringByte classifies the bytes of a string: 0 plain, 1 its closing
// quote, 2 the start of an escape or a control character, which the fast
// path leaves to encoding/json, and 3 outside ASCII.
var stringByte = func() (t [256]uint8) {
	t['"'] = 1
	t['\\'] = 2
	for c := range 0x20 {
		t[c] = 2
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = 3
	}
	return t
}()

// string reads a string with no escapes, valid UTF-8, and returns its
// bytes, which alias the input.
func (d *treeDecoder) string() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	ascii := true
	for i := d.i; i < len(d.data); i++ {
		switch stringByte[d.data[i]] {
		case 0:
			continue
		case 1:
			s := d.data[d.i:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false // encoding/json replaces bad bytes
			}
			d.i = i + 1
			return s, true
		case 2:
			return nil, false
		case 3:
			ascii = false
		}
	}
	return nil, false
}

// int reads an integer of at most 18 digits, which cannot overflow.
func (d *treeDecoder) int() (int64, bool) {
	d.space()
	i, neg := d.i, false
	if i < len(d.data) && d.data[i] == '-' {
		i, neg = i+1, true
	}
	start := i
	var n int64
	for ; i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9'; i++ {
		n = n*10 + int64(d.data[i]-'0')
	}
	digits := i - start
	switch {
	case digits == 0 || digits > 18 || digits > 1 && d.data[start] == '0':
		return 0, false
	case i < len(d.data) && (d.data[i] == '.' || d.data[i] == 'e' || d.data[i] == 'E'):
		return 0, false
	}
	d.i = i
	if neg {
		n = -n
	}
	return n, true
}
