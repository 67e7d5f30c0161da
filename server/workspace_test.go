package server

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/store"
	"github.com/gathering-dev/gathering/workspace/filetree/filetreetest"
)

// waitNote returns the next notification named method, skipping others.
func (c *client) waitNote(method string) json.RawMessage {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-c.notes:
			if n.method == method {
				return n.params
			}
		case <-timeout:
			c.t.Fatalf("no %s notification within 10s", method)
		}
	}
}

// setupWorkspace starts a server whose one project is a fresh git
// repository, and returns two initialized clients and the project.
func setupWorkspace(t *testing.T) (*client, *client, protocol.Project, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	srv, c, b := setup(t, nil)
	c.initialize(nil)
	other := connect(t, srv, LocalOwner("other"))
	other.initialize(nil)
	if err := filetreetest.Git(b.dir, "init", "-q", "-b", "main"); err != nil {
		t.Fatal(err)
	}
	var p protocol.Project
	c.mustCall(protocol.MethodProjectCreate, protocol.ProjectCreateParams{Name: "app", Root: b.dir}, &p)
	return c, other, p, b.dir
}

func str(s string) *string { return &s }

// TestWorkspaceAndGitEndToEnd drives a real repository through the methods
// as an editor would: write, read, a conflicting write, the change
// notification, tree with git status, stage, commit, log, diff, branches,
// rename, mkdir, delete, and a streamed search.
func TestWorkspaceAndGitEndToEnd(t *testing.T) {
	c, other, p, dir := setupWorkspace(t)
	id := p.ID

	var w protocol.WorkspaceWriteResult
	c.mustCall(protocol.MethodWorkspaceWrite, protocol.WorkspaceWriteParams{ProjectID: id, Path: "src/main.go", Content: "package main\n", ExpectedVersion: str(""), CreateParents: true}, &w)
	var change protocol.WorkspaceDidChangeParams
	if err := json.Unmarshal(other.waitNote(protocol.MethodWorkspaceDidChange), &change); err != nil {
		t.Fatal(err)
	}
	if change.ProjectID != id || len(change.Changes) != 2 || change.Changes[1].Path != "src/main.go" || change.Changes[1].Type != 1 ||
		change.Changes[1].URI != "file://"+filepath.ToSlash(filepath.Join(dir, "src/main.go")) {
		t.Errorf("didChange = %+v", change)
	}
	wantCode(t, c.call(protocol.MethodWorkspaceWrite, protocol.WorkspaceWriteParams{ProjectID: id, Path: "src/main.go", Content: "x"}, nil), protocol.CodeInvalidParams, protocol.InvalidParams)
	wantCode(t, c.call(protocol.MethodWorkspaceWrite, protocol.WorkspaceWriteParams{ProjectID: id, Path: "src/main.go", Content: "x", ExpectedVersion: str("sha256:0")}, nil), protocol.CodeConflict, protocol.Conflict)

	var r protocol.WorkspaceReadResult
	c.mustCall(protocol.MethodWorkspaceRead, protocol.WorkspaceReadParams{ProjectID: id, Path: "src/main.go"}, &r)
	if r.Content != "package main\n" || r.Version != w.Version || r.Binary {
		t.Errorf("read = %+v, want the content written at version %s", r, w.Version)
	}
	wantCode(t, c.call(protocol.MethodWorkspaceRead, protocol.WorkspaceReadParams{ProjectID: id, Path: "src/main.go", MaxBytes: 3}, nil), protocol.CodeTooLarge, protocol.TooLarge)
	wantCode(t, c.call(protocol.MethodWorkspaceRead, protocol.WorkspaceReadParams{ProjectID: id, Path: "nope"}, nil), protocol.CodeNotFound, protocol.NotFound)
	wantCode(t, c.call(protocol.MethodWorkspaceRead, protocol.WorkspaceReadParams{ProjectID: "no-such-project", Path: "x"}, nil), protocol.CodeNotFound, protocol.NotFound)

	var tree protocol.WorkspaceTreeResult
	c.mustCall(protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: id}, &tree)
	if !tree.Git || len(tree.Entries) != 2 || tree.Entries[1].Path != "src/main.go" || tree.Entries[1].GitStatus != "??" || tree.Entries[1].Type != "file" || tree.Entries[1].Size != 13 {
		t.Errorf("tree = %+v", tree)
	}

	var st protocol.GitStatusResult
	c.mustCall(protocol.MethodGitStage, protocol.GitPathsParams{ProjectID: id, Paths: []string{"src/main.go"}}, &st)
	if len(st.Staged) != 1 || st.Staged[0].Status != "A" || st.Branch != "main" {
		t.Errorf("status after staging = %+v", st)
	}
	c.mustCall(protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: id, Glob: []string{"*.go"}}, &tree)
	if len(tree.Entries) != 1 || tree.Entries[0].GitStatus != "A " {
		t.Errorf("tree after staging = %+v, want src/main.go staged", tree)
	}
	wantCode(t, c.call(protocol.MethodGitCommit, protocol.GitCommitParams{ProjectID: id, Message: "first", AuthorName: "Ada"}, nil), protocol.CodeInvalidParams, protocol.InvalidParams)
	var commit protocol.GitCommitResult
	c.mustCall(protocol.MethodGitCommit, protocol.GitCommitParams{ProjectID: id, Message: "first", AuthorName: "Ada", AuthorEmail: "ada@example.com"}, &commit)
	wantCode(t, c.call(protocol.MethodGitCommit, protocol.GitCommitParams{ProjectID: id, Message: "nothing staged", AuthorName: "Ada", AuthorEmail: "ada@example.com"}, nil), protocol.CodeConflict, protocol.Conflict)

	c.mustCall(protocol.MethodWorkspaceWrite, protocol.WorkspaceWriteParams{ProjectID: id, Path: "src/main.go", Content: "package main\n\nfunc main() {}\n", ExpectedVersion: str(w.Version)}, &w)
	c.mustCall(protocol.MethodGitStatus, protocol.GitParams{ProjectID: id}, &st)
	if len(st.Unstaged) != 1 || st.Unstaged[0].Path != "src/main.go" || st.Unstaged[0].Status != "M" || st.Head != commit.Hash || st.Clean {
		t.Errorf("status after a write = %+v", st)
	}
	c.mustCall(protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: id, Path: "src"}, &tree)
	if len(tree.Entries) != 1 || tree.Entries[0].GitStatus != " M" {
		t.Errorf("tree of src after a write = %+v, want main.go modified", tree)
	}
	var diff protocol.GitDiffResult
	c.mustCall(protocol.MethodGitDiff, protocol.GitDiffParams{ProjectID: id, Path: "src/main.go"}, &diff)
	if !strings.Contains(diff.Diff, "+func main() {}") {
		t.Errorf("diff = %q", diff.Diff)
	}
	c.mustCall(protocol.MethodGitDiff, protocol.GitDiffParams{ProjectID: id, Commit: commit.Hash}, &diff)
	if !strings.Contains(diff.Diff, "+package main") {
		t.Errorf("commit diff = %q", diff.Diff)
	}
	wantCode(t, c.call(protocol.MethodGitDiff, protocol.GitDiffParams{ProjectID: id, Commit: "--output=/tmp/pwned"}, nil), protocol.CodeInvalidParams, protocol.InvalidParams)
	var log protocol.GitLogResult
	c.mustCall(protocol.MethodGitLog, protocol.GitLogParams{ProjectID: id}, &log)
	if len(log.Commits) != 1 || log.Commits[0].Hash != commit.Hash || log.Commits[0].AuthorName != "Ada" || len(log.Commits[0].Files) != 1 || log.Commits[0].Files[0].Added != 1 {
		t.Errorf("log = %+v", log)
	}
	var branches protocol.GitBranchesResult
	c.mustCall(protocol.MethodGitBranches, protocol.GitParams{ProjectID: id}, &branches)
	if len(branches.Branches) != 1 || branches.Branches[0].Name != "main" || !branches.Branches[0].Current {
		t.Errorf("branches = %+v", branches)
	}
	c.mustCall(protocol.MethodGitStage, protocol.GitPathsParams{ProjectID: id, Paths: []string{"src"}}, &st)
	c.mustCall(protocol.MethodGitUnstage, protocol.GitPathsParams{ProjectID: id, Paths: []string{"src/main.go"}}, &st)
	if len(st.Staged) != 0 || len(st.Unstaged) != 1 {
		t.Errorf("status after unstaging = %+v", st)
	}

	var changes protocol.WorkspaceChangeResult
	c.mustCall(protocol.MethodWorkspaceMkdir, protocol.WorkspacePathParams{ProjectID: id, Path: "docs/notes"}, &changes)
	if len(changes.Changes) != 2 {
		t.Errorf("mkdir changes = %+v", changes)
	}
	c.mustCall(protocol.MethodWorkspaceRename, protocol.WorkspaceRenameParams{ProjectID: id, From: "src/main.go", To: "docs/notes/main.go"}, &changes)
	if len(changes.Changes) != 2 || changes.Changes[0].Type != 3 || changes.Changes[1].Type != 1 {
		t.Errorf("rename changes = %+v", changes)
	}
	wantCode(t, c.call(protocol.MethodWorkspaceDelete, protocol.WorkspaceDeleteParams{ProjectID: id, Path: "docs"}, nil), protocol.CodeConflict, protocol.Conflict)
	c.mustCall(protocol.MethodWorkspaceDelete, protocol.WorkspaceDeleteParams{ProjectID: id, Path: "docs", Recursive: true}, &changes)
	c.mustCall(protocol.MethodGitStatus, protocol.GitParams{ProjectID: id}, &st)
	if len(st.Unstaged) != 1 || st.Unstaged[0].Status != "D" {
		t.Errorf("status after deleting the committed file = %+v", st)
	}

	for i := range 30 {
		c.mustCall(protocol.MethodWorkspaceWrite, protocol.WorkspaceWriteParams{ProjectID: id, Path: filepath.Join("pkg", string(rune('a'+i%26))+strings.Repeat("x", i/26), "f.txt"), Content: "find me\n", ExpectedVersion: str(""), CreateParents: true}, nil)
	}
	c.drain()
	var res protocol.WorkspaceSearchResult
	c.mustCall(protocol.MethodWorkspaceSearch, protocol.WorkspaceSearchParams{ProjectID: id, Query: "FIND me", MaxMatches: 5}, &res)
	if len(res.Matches) != 5 || res.Stopped != "matches" || res.Matches[0].Text != "find me" {
		t.Errorf("bounded search = %+v", res)
	}
	c.mustCall(protocol.MethodWorkspaceSearch, protocol.WorkspaceSearchParams{ProjectID: id, Query: "find", PartialResultToken: json.RawMessage(`"tok-1"`)}, &res)
	if len(res.Matches) != 0 || res.FilesSearched != 30 {
		t.Errorf("streamed search answer = %+v, want no matches and 30 files", res)
	}
	streamed := 0
	for streamed < 30 {
		var prog struct {
			Token string                       `json:"token"`
			Value protocol.SearchPartialResult `json:"value"`
		}
		if err := json.Unmarshal(c.waitNote("$/progress"), &prog); err != nil {
			t.Fatal(err)
		}
		if prog.Token != "tok-1" {
			t.Fatalf("progress token %q", prog.Token)
		}
		streamed += len(prog.Value.Matches)
	}
	wantCode(t, c.call(protocol.MethodWorkspaceSearch, protocol.WorkspaceSearchParams{ProjectID: id, Query: "(", Regex: true}, nil), protocol.CodeInvalidParams, protocol.InvalidParams)
}

// TestWorkspaceTreeFields checks the fields param: every field when it is
// absent, the ones named otherwise (path always), and an
// error for a name that is not a field; and the lean entries: no size for
// a directory, mtime in milliseconds, gitStatus only when not clean.
func TestWorkspaceTreeFields(t *testing.T) {
	c, _, p, _ := setupWorkspace(t)
	id := p.ID
	before := time.Now()
	var w protocol.WorkspaceWriteResult
	c.mustCall(protocol.MethodWorkspaceWrite, protocol.WorkspaceWriteParams{ProjectID: id, Path: "src/main.go", Content: "package main\n", ExpectedVersion: str(""), CreateParents: true}, &w)

	var tree protocol.WorkspaceTreeResult
	c.mustCall(protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: id}, &tree)
	if len(tree.Entries) != 2 || !tree.Git {
		t.Fatalf("tree = %+v, want src and src/main.go in git", tree)
	}
	dir, file := tree.Entries[0], tree.Entries[1]
	if dir.Path != "src" || dir.Type != "dir" || dir.Size != 0 || dir.GitStatus != "??" {
		t.Errorf("src = %+v, want an untracked directory", dir)
	}
	if ms := before.Add(-time.Second).UnixMilli(); dir.Mtime < ms || file.Mtime < ms || file.Mtime > time.Now().UnixMilli()+1000 {
		t.Errorf("mtimes %d and %d, want about %d (milliseconds)", dir.Mtime, file.Mtime, before.UnixMilli())
	}
	if file.Path != "src/main.go" || file.Type != "file" || file.Size != 13 || file.GitStatus != "??" {
		t.Errorf("src/main.go = %+v, want an untracked file of 13 bytes", file)
	}

	for _, test := range []struct {
		fields []string
		want   []protocol.TreeEntry
	}{
		{[]string{"path"}, []protocol.TreeEntry{{Path: "src"}, {Path: "src/main.go"}}},
		{[]string{"path", "type"}, []protocol.TreeEntry{{Path: "src", Type: "dir"}, {Path: "src/main.go", Type: "file"}}},
		{[]string{"size", "gitStatus"}, []protocol.TreeEntry{{Path: "src", GitStatus: "??"}, {Path: "src/main.go", Size: 13, GitStatus: "??"}}},
	} {
		var got protocol.WorkspaceTreeResult
		c.mustCall(protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: id, Fields: test.fields}, &got)
		if !slices.Equal(got.Entries, test.want) || !got.Git {
			t.Errorf("tree with fields %q = %+v, want %+v in git", test.fields, got, test.want)
		}
	}
	// The answer carries no member the fields did not ask for.
	var raw json.RawMessage
	c.mustCall(protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: id, Fields: []string{"type"}}, &raw)
	if want := `{"entries":[{"path":"src","type":"dir"},{"path":"src/main.go","type":"file"}],"git":true}`; string(raw) != want {
		t.Errorf("tree with fields [type] = %s, want %s", raw, want)
	}
	// An empty list asks for paths alone.
	c.mustCall(protocol.MethodWorkspaceTree, map[string]any{"projectId": id, "fields": []string{}}, &raw)
	if want := `{"entries":[{"path":"src"},{"path":"src/main.go"}],"git":true}`; string(raw) != want {
		t.Errorf("tree with fields [] = %s, want %s", raw, want)
	}
	wantCode(t, c.call(protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: id, Fields: []string{"owner"}}, nil), protocol.CodeInvalidParams, protocol.InvalidParams)
}

// TestWorkspaceTraversal is the foundation's traversal table run through
// every workspace and git method that takes a path: each hostile path is
// invalid_params, and nothing changes inside the project or outside it.
func TestWorkspaceTraversal(t *testing.T) {
	c, _, p, dir := setupWorkspace(t)
	outside := filepath.Join(filepath.Dir(dir), "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("top secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inside.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"dirlink": "../outside", "absdirlink": outside} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	id := p.ID
	methods := map[string]func(path string) any{
		protocol.MethodWorkspaceTree: func(x string) any { return protocol.WorkspaceTreeParams{ProjectID: id, Path: x} },
		protocol.MethodWorkspaceRead: func(x string) any { return protocol.WorkspaceReadParams{ProjectID: id, Path: x} },
		protocol.MethodWorkspaceWrite: func(x string) any {
			return protocol.WorkspaceWriteParams{ProjectID: id, Path: x, Content: "pwned", ExpectedVersion: str(""), CreateParents: true}
		},
		protocol.MethodWorkspaceDelete: func(x string) any {
			return protocol.WorkspaceDeleteParams{ProjectID: id, Path: x, Recursive: true}
		},
		"rename from": func(x string) any { return protocol.WorkspaceRenameParams{ProjectID: id, From: x, To: "moved.txt"} },
		"rename to": func(x string) any {
			return protocol.WorkspaceRenameParams{ProjectID: id, From: "inside.txt", To: x, Overwrite: true}
		},
		protocol.MethodWorkspaceMkdir: func(x string) any { return protocol.WorkspacePathParams{ProjectID: id, Path: x} },
		protocol.MethodWorkspaceSearch: func(x string) any {
			return protocol.WorkspaceSearchParams{ProjectID: id, Query: "secret", Path: x}
		},
		protocol.MethodGitDiff:    func(x string) any { return protocol.GitDiffParams{ProjectID: id, Path: x} },
		protocol.MethodGitLog:     func(x string) any { return protocol.GitLogParams{ProjectID: id, Path: x} },
		protocol.MethodGitStage:   func(x string) any { return protocol.GitPathsParams{ProjectID: id, Paths: []string{"inside.txt", x}} },
		protocol.MethodGitUnstage: func(x string) any { return protocol.GitPathsParams{ProjectID: id, Paths: []string{x}} },
	}
	wire := map[string]string{"rename from": protocol.MethodWorkspaceRename, "rename to": protocol.MethodWorkspaceRename}
	for _, hostile := range []string{
		"..", "../outside/secret", "sub/../../outside/secret", "../../../../../../../../etc/passwd",
		outside + "/secret", "%2e%2e/outside/secret", "%252E%252e/outside/secret", "%2e%2e%2foutside%2fsecret",
		"C:/Windows/win.ini", "dirlink/secret", "absdirlink/secret", "dirlink/new",
		"inside.txt\x00.png", `..\outside\secret`, `\\server\share\secret`, "sub/%2e/x", strings.Repeat("a/", 2100) + "x",
	} {
		for name, params := range methods {
			method := name
			if m, ok := wire[name]; ok {
				method = m
			}
			beforeIn, beforeOut := snapshotDir(t, dir), snapshotDir(t, outside)
			var res json.RawMessage
			err := c.call(method, params(hostile), &res)
			if e, ok := errors.AsType[*protocol.Error](err); !ok || e.Data.Code != protocol.InvalidParams {
				t.Errorf("%s(%q) = %v, %s; want invalid_params", name, shortPath(hostile), err, res)
			}
			c.drain()
			if strings.Contains(string(res), "top secret") {
				t.Errorf("%s(%q) leaked the secret: %s", name, hostile, res)
			}
			if after := snapshotDir(t, dir); !maps.Equal(after, beforeIn) {
				t.Errorf("%s(%q) changed the project", name, hostile)
			}
			if after := snapshotDir(t, outside); !maps.Equal(after, beforeOut) {
				t.Errorf("%s(%q) changed the directory outside: %v", name, hostile, after)
			}
		}
	}
	// The index is part of "inside": nothing was staged.
	out, err := exec.Command("git", "-C", dir, "diff", "--cached", "--name-only").Output()
	if err != nil || len(out) != 0 {
		t.Errorf("staged after the table: %q, %v", out, err)
	}
	// The tree never lists what a link leads to.
	var tree protocol.WorkspaceTreeResult
	c.mustCall(protocol.MethodWorkspaceTree, protocol.WorkspaceTreeParams{ProjectID: id}, &tree)
	var paths []string
	for _, e := range tree.Entries {
		paths = append(paths, e.Path+":"+e.Type)
	}
	if want := []string{"absdirlink:symlink", "dirlink:symlink", "inside.txt:file"}; !slices.Equal(paths, want) {
		t.Errorf("tree = %v, want %v", paths, want)
	}
}

func shortPath(p string) string {
	if len(p) > 60 {
		return p[:60] + "…"
	}
	return p
}

// drain drops the notifications received so far.
func (c *client) drain() {
	for {
		select {
		case <-c.notes:
		default:
			return
		}
	}
}

// snapshotDir maps every path beneath dir (but .git) to its contents, a
// link's target, or "dir", without following links.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			tree[rel] = "dir"
		case d.Type() == os.ModeSymlink:
			target, err := os.Readlink(p)
			tree[rel] = "link to " + target
			return err
		default:
			data, err := os.ReadFile(p)
			tree[rel] = string(data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// TestDidChangeOnlyToThoseWhoMaySee checks that gathering/workspace/didChange
// reaches the sessions of the project's members and admins, and not those
// of a user who is not a member. The outsider is a member of a second
// project, changed after the first: since each session gets its
// notifications in order, the first one it receives must be the second
// project's.
func TestDidChangeOnlyToThoseWhoMaySee(t *testing.T) {
	srv, b := setupAuth(t, nil, nil)
	second, err := b.st.CreateProject(t.Context(), store.Project{Name: "second", Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.auth.AddMember(t.Context(), second.ID, "outsider@example.com", b.admin); err != nil {
		t.Fatal(err)
	}
	sessions := map[string]*client{}
	for _, email := range []string{"member@example.com", "viewer@example.com", "outsider@example.com", "admin@example.com"} {
		c := connect(t, srv, Principal{})
		c.initialize(initParams(b.token(t, email)))
		sessions[email] = c
	}
	writer := connect(t, srv, LocalOwner("me"))
	writer.initialize(nil)
	for _, id := range []string{b.project.ID, second.ID} {
		writer.mustCall(protocol.MethodWorkspaceWrite, protocol.WorkspaceWriteParams{ProjectID: id, Path: "new.txt", Content: "x", ExpectedVersion: str("")}, nil)
	}
	for email, want := range map[string]string{
		"member@example.com": b.project.ID, "viewer@example.com": b.project.ID, "admin@example.com": b.project.ID,
		"outsider@example.com": second.ID,
	} {
		var change protocol.WorkspaceDidChangeParams
		if err := json.Unmarshal(sessions[email].waitNote(protocol.MethodWorkspaceDidChange), &change); err != nil {
			t.Fatal(err)
		}
		if change.ProjectID != want || len(change.Changes) != 1 || change.Changes[0].Path != "new.txt" {
			t.Errorf("%s's first didChange = %+v, want new.txt in project %s", email, change, want)
		}
	}
}
