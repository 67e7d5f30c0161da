package git

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// gitCmd runs the git CLI directly in dir, as a person would, and fails the
// test if it fails.
func gitCmd(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func write(t testing.TB, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setup makes a repository with one commit (a.txt, dir/b.txt) and opens it.
func setup(t *testing.T, cfg *Config) (*Repo, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	gitCmd(t, dir, "init", "-q", "-b", "main")
	write(t, dir, "a.txt", "one\n")
	write(t, dir, "dir/b.txt", "two\n")
	gitCmd(t, dir, "add", "-A")
	gitCmd(t, dir, "commit", "-q", "-m", "first")
	r, err := Open(t.Context(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

func TestStatus(t *testing.T) {
	r, dir := setup(t, nil)
	write(t, dir, "a.txt", "changed\n")     // unstaged
	write(t, dir, "new.txt", "new\n")       // staged addition
	write(t, dir, "untracked/x.txt", "x\n") // untracked directory
	write(t, dir, "loose.txt", "loose\n")   // untracked file
	gitCmd(t, dir, "add", "new.txt")
	gitCmd(t, dir, "mv", "dir/b.txt", "dir/c.txt") // staged rename

	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Branch != "main" || len(st.Head) != 40 {
		t.Errorf("branch %q head %q, want main and a hash", st.Branch, st.Head)
	}
	got := map[string]string{}
	for _, e := range st.Entries {
		got[e.Path] = e.Code() + " " + e.OrigPath
	}
	want := map[string]string{
		"a.txt":      " M ",
		"new.txt":    "A  ",
		"dir/c.txt":  "R  dir/b.txt",
		"untracked/": "?? ",
		"loose.txt":  "?? ",
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("status of %s = %q, want %q (all: %v)", p, got[p], w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("status = %v, want %v", got, want)
	}
}

func TestStatusFromASubdirectory(t *testing.T) {
	_, dir := setup(t, nil)
	write(t, dir, "a.txt", "changed\n")
	write(t, dir, "dir/b.txt", "changed\n")
	sub, err := Open(t.Context(), filepath.Join(dir, "dir"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Prefix() != "dir/" {
		t.Errorf("Prefix = %q, want dir/", sub.Prefix())
	}
	st, err := sub.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Entries) != 1 || st.Entries[0].Path != "b.txt" {
		t.Errorf("status from dir/ = %+v, want only b.txt", st.Entries)
	}
	if err := sub.Stage(t.Context(), []string{"b.txt"}); err != nil {
		t.Fatal(err)
	}
	if out := gitCmd(t, dir, "diff", "--cached", "--name-only"); out != "dir/b.txt\n" {
		t.Errorf("staged from dir/: %q, want dir/b.txt", out)
	}
}

func TestOpenRefuses(t *testing.T) {
	if _, err := Open(t.Context(), t.TempDir(), nil); !errors.Is(err, ErrNotRepository) {
		t.Errorf("Open(plain directory) = %v, want ErrNotRepository", err)
	}
	// A repository whose core.worktree points elsewhere would have git
	// touch files outside the project.
	_, dir := setup(t, nil)
	elsewhere := t.TempDir()
	gitCmd(t, dir, "config", "core.worktree", elsewhere)
	if _, err := Open(t.Context(), dir, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open(core.worktree elsewhere) = %v, want ErrInvalid", err)
	}
}

func TestStageUnstageCommitLog(t *testing.T) {
	r, dir := setup(t, nil)
	ctx := t.Context()
	write(t, dir, "a.txt", "one\nmore\n")
	if err := os.Remove(filepath.Join(dir, "dir/b.txt")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "-rf", "a file named like an option\n")
	write(t, dir, "*.txt", "a file named like a glob\n")
	if err := r.Stage(ctx, []string{"a.txt", "dir/b.txt", "-rf", "*.txt"}); err != nil {
		t.Fatal(err)
	}
	staged := gitCmd(t, dir, "diff", "--cached", "--name-status")
	for _, want := range []string{"M\ta.txt", "D\tdir/b.txt", "A\t-rf", "A\t*.txt"} {
		if !strings.Contains(staged, want) {
			t.Errorf("staged = %q, want it to hold %q", staged, want)
		}
	}
	// "*.txt" is literal: a.txt stays staged after unstaging it.
	if err := r.Unstage(ctx, []string{"*.txt", "-rf"}); err != nil {
		t.Fatal(err)
	}
	staged = gitCmd(t, dir, "diff", "--cached", "--name-only")
	if staged != "a.txt\ndir/b.txt\n" {
		t.Errorf("after unstage, staged = %q, want a.txt and dir/b.txt", staged)
	}

	hash, err := r.Commit(ctx, "second\n\nwith a body", Author{Name: "Ada", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(gitCmd(t, dir, "log", "-1", "--format=%H %an <%ae> %cn")); got != hash+" Ada <ada@example.com> Ada" {
		t.Errorf("HEAD = %q, want %s by Ada", got, hash)
	}
	commits, err := r.Log(ctx, LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 2 || commits[0].Hash != hash || commits[0].Subject != "second" || commits[0].Body != "with a body" {
		t.Fatalf("log = %+v", commits)
	}
	files := map[string]FileStat{}
	for _, f := range commits[0].Files {
		files[f.Path] = f
	}
	if f := files["a.txt"]; f.Added != 1 || f.Deleted != 0 {
		t.Errorf("a.txt stat = %+v, want +1 -0", f)
	}
	if f := files["dir/b.txt"]; f.Deleted != 1 {
		t.Errorf("dir/b.txt stat = %+v, want -1", f)
	}
	if commits[1].AuthorName != "Test" || len(commits[1].Parents) != 0 || time.Since(commits[1].AuthorTime) > time.Hour {
		t.Errorf("first commit = %+v", commits[1])
	}
	page, err := r.Log(ctx, LogOptions{Skip: 1, Limit: 1, Path: "a.txt"})
	if err != nil || len(page) != 1 || page[0].Subject != "first" {
		t.Errorf("log skip 1 limit 1 a.txt = %+v, %v", page, err)
	}

	if _, err := r.Commit(ctx, "  \n", Author{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty message: %v, want ErrInvalid", err)
	}
	if _, err := r.Commit(ctx, "x", Author{Name: "Eve", Email: "e>--exec=sh"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("author with >: %v, want ErrInvalid", err)
	}
}

func TestUnstageBeforeFirstCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	gitCmd(t, dir, "init", "-q")
	write(t, dir, "a.txt", "a\n")
	gitCmd(t, dir, "add", "a.txt")
	r, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Unstage(t.Context(), []string{"a.txt"}); err != nil {
		t.Fatal(err)
	}
	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Head != "" || len(st.Entries) != 1 || !st.Entries[0].Untracked() {
		t.Errorf("status = %+v, want a.txt untracked before the first commit", st)
	}
	if commits, err := r.Log(t.Context(), LogOptions{}); err != nil || len(commits) != 0 {
		t.Errorf("log before the first commit = %v, %v; want none", commits, err)
	}
}

func TestDiff(t *testing.T) {
	r, dir := setup(t, nil)
	ctx := t.Context()
	write(t, dir, "a.txt", "one\ntwo\n")
	d, err := r.Diff(ctx, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Text, "diff --git a/a.txt b/a.txt") || !strings.Contains(d.Text, "+two") || d.Truncated {
		t.Errorf("work tree diff = %+v", d)
	}
	if d, err := r.Diff(ctx, DiffOptions{Staged: true}); err != nil || d.Text != "" {
		t.Errorf("staged diff with nothing staged = %+v, %v", d, err)
	}
	head := strings.TrimSpace(gitCmd(t, dir, "rev-parse", "HEAD"))
	d, err = r.Diff(ctx, DiffOptions{Commit: head, Paths: []string{"dir"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Text, "+++ b/dir/b.txt") || strings.Contains(d.Text, "a.txt") {
		t.Errorf("root commit diff limited to dir = %q", d.Text)
	}
	d, err = r.Diff(ctx, DiffOptions{MaxBytes: 10})
	if err != nil || !d.Truncated || len(d.Text) != 10 {
		t.Errorf("diff cut at 10 bytes = %+v, %v", d, err)
	}
	for _, rev := range []string{"--output=/tmp/x", "-p", "no-such-rev", "a b"} {
		if _, err := r.Diff(ctx, DiffOptions{Commit: rev}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Diff(commit %q) = %v, want ErrInvalid", rev, err)
		}
	}
	if _, err := r.Log(ctx, LogOptions{Rev: "--all"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Log(rev --all) = %v, want ErrInvalid", err)
	}
}

func TestBranches(t *testing.T) {
	r, dir := setup(t, nil)
	gitCmd(t, dir, "branch", "feature")
	// A remote of our own, on disk, with main pushed then advanced here.
	remote := t.TempDir()
	gitCmd(t, remote, "init", "-q", "--bare")
	gitCmd(t, dir, "remote", "add", "origin", remote)
	gitCmd(t, dir, "push", "-q", "-u", "origin", "main")
	write(t, dir, "a.txt", "ahead\n")
	gitCmd(t, dir, "commit", "-q", "-am", "ahead")

	bs, err := r.Branches(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
		if b.Name == "main" && (!b.Current || b.Upstream != "origin/main" || b.Ahead != 1 || b.Behind != 0 || b.Subject != "ahead") {
			t.Errorf("main = %+v, want current, origin/main, ahead 1", b)
		}
	}
	if want := []string{"feature", "main", "origin/main"}; !slices.Equal(names, want) {
		t.Errorf("branches = %v, want %v", names, want)
	}
	st, err := r.Status(t.Context())
	if err != nil || st.Upstream != "origin/main" || st.Ahead != 1 || st.Behind != 0 {
		t.Errorf("status = %+v, %v; want ahead 1 of origin/main", st, err)
	}
}

// TestUntrustedRepositoryRunsNothing arms a repository with every way its
// configuration can name a program, each of which would leave a marker file,
// then runs every Repo method. Nothing may run. The same repository, trusted,
// runs its hooks, which shows the traps are armed.
func TestUntrustedRepositoryRunsNothing(t *testing.T) {
	r, dir := setup(t, nil)
	marks := t.TempDir()
	trap := func(name string) string {
		p := filepath.Join(marks, name+".sh")
		script := "#!/bin/sh\ntouch " + filepath.Join(marks, name) + "\ncat\n"
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, hook := range []string{"pre-commit", "commit-msg", "post-commit", "prepare-commit-msg", "post-index-change", "pre-auto-gc"} {
		p := filepath.Join(dir, ".git", "hooks", hook)
		if err := os.WriteFile(p, []byte("#!/bin/sh\ntouch "+filepath.Join(marks, hook)+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gitCmd(t, dir, "config", "core.fsmonitor", trap("fsmonitor"))
	gitCmd(t, dir, "config", "filter.evil.clean", trap("clean"))
	gitCmd(t, dir, "config", "filter.evil.smudge", trap("smudge"))
	gitCmd(t, dir, "config", "filter.ev.il.process", trap("process"))
	gitCmd(t, dir, "config", "diff.external", trap("extdiff"))
	gitCmd(t, dir, "config", "diff.evil.textconv", trap("textconv"))
	gitCmd(t, dir, "config", "diff.evil.command", trap("diffcommand"))
	gitCmd(t, dir, "config", "commit.gpgSign", "true")
	gitCmd(t, dir, "config", "gpg.program", trap("gpg"))
	gitCmd(t, dir, "config", "log.showSignature", "true")
	gitCmd(t, dir, "config", "core.pager", trap("pager"))
	gitCmd(t, dir, "config", "core.editor", trap("editor"))
	write(t, dir, ".gitattributes", "*.txt filter=evil diff=evil\n*.dat filter=ev.il\n")
	write(t, dir, "a.txt", "changed\n")
	write(t, dir, "c.dat", "data\n")

	ctx := t.Context()
	mustNot := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.Status(ctx)
	mustNot(err)
	_, err = r.Diff(ctx, DiffOptions{})
	mustNot(err)
	mustNot(r.Stage(ctx, []string{"."}))
	_, err = r.Diff(ctx, DiffOptions{Staged: true})
	mustNot(err)
	hash, err := r.Commit(ctx, "armed", Author{Name: "A", Email: "a@example.com"})
	mustNot(err)
	_, err = r.Diff(ctx, DiffOptions{Commit: hash})
	mustNot(err)
	_, err = r.Log(ctx, LogOptions{})
	mustNot(err)
	_, err = r.Branches(ctx)
	mustNot(err)
	mustNot(r.Unstage(ctx, []string{"a.txt"}))

	if ran, _ := os.ReadDir(marks); len(ran) > 0 {
		var names []string
		for _, e := range ran {
			if !strings.HasSuffix(e.Name(), ".sh") {
				names = append(names, e.Name())
			}
		}
		if len(names) > 0 {
			t.Errorf("untrusted repository ran: %v", names)
		}
	}

	trusted, err := Open(ctx, dir, &Config{Trusted: true})
	mustNot(err)
	write(t, dir, "a.txt", "again\n")
	gitCmd(t, dir, "config", "--unset", "commit.gpgSign")
	gitCmd(t, dir, "config", "--unset", "core.fsmonitor")
	mustNot(trusted.Stage(ctx, []string{"a.txt"}))
	if _, err := trusted.Commit(ctx, "trusted", Author{Name: "A", Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(marks, "pre-commit")); err != nil {
		t.Errorf("trusted repository did not run its pre-commit hook: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	r, _ := setup(t, nil)
	r.cfg.Timeout = time.Nanosecond
	_, err := r.Status(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Status with a 1ns timeout = %v, want deadline exceeded", err)
	}
}
