package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DiffOptions choose what [Repo.Diff] compares.
type DiffOptions struct {
	// Commit, when set, shows that commit's changes against its first
	// parent (everything, for a root commit). Otherwise the work tree is
	// compared with the index, or with Staged the index with HEAD.
	Commit string
	Staged bool
	// Paths limit the diff; empty means the Repo's whole directory.
	Paths []string
	// MaxBytes cuts the diff text (default 1 MiB); Diff.Truncated says so.
	MaxBytes int64
}

// Diff is a unified diff.
type Diff struct {
	Text      string
	Truncated bool
}

// Diff returns a unified diff. It never runs an external diff program or a
// textconv filter.
func (r *Repo) Diff(ctx context.Context, opt DiffOptions) (*Diff, error) {
	limit := opt.MaxBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	var args []string
	if opt.Commit != "" {
		if err := checkRev("commit", opt.Commit); err != nil {
			return nil, err
		}
		if opt.Staged {
			return nil, fmt.Errorf("%w: staged and commit are exclusive", ErrInvalid)
		}
		args = []string{"show", "--format=", "--patch", "--diff-merges=first-parent", "-M"}
	} else {
		args = []string{"diff", "--patch", "-M"}
		if opt.Staged {
			args = append(args, "--cached")
		}
	}
	args = append(args, "--no-ext-diff", "--no-textconv", "--no-color", "--ignore-submodules=all", "--relative")
	if opt.Commit != "" {
		args = append(args, "--end-of-options", opt.Commit)
	}
	args = append(args, "--")
	args = append(args, pathspecs(opt.Paths)...)
	out, truncated, err := r.runLimited(ctx, args[0], nil, limit, args...)
	if err != nil {
		return nil, revError(err)
	}
	return &Diff{Text: strings.ToValidUTF8(string(out), "\uFFFD"), Truncated: truncated}, nil
}

// LogOptions choose the commits [Repo.Log] lists.
type LogOptions struct {
	// Rev is where to start (a branch, tag or commit); "" means HEAD.
	Rev string
	// Path limits the log to commits touching it.
	Path string
	// Skip and Limit page through the log; Limit 0 means 50.
	Skip, Limit int
}

// Commit is one commit with the files it changed against its first parent.
type Commit struct {
	Hash        string
	Parents     []string
	AuthorName  string
	AuthorEmail string
	AuthorTime  time.Time
	Subject     string
	Body        string
	Files       []FileStat
}

// FileStat is one file a commit changed. Binary files count no lines.
type FileStat struct {
	Path     string
	OrigPath string
	Added    int
	Deleted  int
	Binary   bool
}

// Log lists commits, newest first, with the files each changed and their
// line counts, in one git process.
func (r *Repo) Log(ctx context.Context, opt LogOptions) ([]Commit, error) {
	if opt.Limit <= 0 {
		opt.Limit = 50
	}
	args := []string{"log", "-z", "--numstat", "-M", "--relative", "--no-ext-diff", "--no-textconv", "--no-color",
		"--no-show-signature", "--diff-merges=first-parent",
		"--format=%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%s%x1f%b",
		"-n", strconv.Itoa(opt.Limit), "--skip=" + strconv.Itoa(max(opt.Skip, 0))}
	if opt.Rev != "" {
		if err := checkRev("rev", opt.Rev); err != nil {
			return nil, err
		}
		args = append(args, "--end-of-options", opt.Rev)
	}
	args = append(args, "--")
	if opt.Path != "" {
		args = append(args, opt.Path)
	}
	out, err := r.run(ctx, "log", nil, args...)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok && opt.Rev == "" && strings.Contains(e.Stderr, "does not have any commits") {
			return nil, nil
		}
		return nil, revError(err)
	}
	var commits []Commit
	for rec := range bytes.SplitSeq(out, []byte{0x1e}) {
		if len(rec) == 0 {
			continue
		}
		head, stats, _ := bytes.Cut(rec, []byte{0})
		f := strings.Split(string(head), "\x1f")
		if len(f) < 7 {
			return nil, fmt.Errorf("git log: malformed record %q", head)
		}
		secs, _ := strconv.ParseInt(f[4], 10, 64)
		c := Commit{
			Hash: f[0], Parents: strings.Fields(f[1]), AuthorName: f[2], AuthorEmail: f[3],
			AuthorTime: time.Unix(secs, 0).UTC(), Subject: f[5], Body: strings.TrimSpace(strings.Join(f[6:], "\x1f")),
		}
		c.Files = parseNumstat(bytes.TrimLeft(stats, "\n"))
		commits = append(commits, c)
	}
	return commits, nil
}

// parseNumstat reads `--numstat -z` entries: "added\tdeleted\tpath\0", or
// for a rename "added\tdeleted\t\0from\0to\0".
func parseNumstat(b []byte) []FileStat {
	var files []FileStat
	fields := bytes.Split(b, []byte{0})
	for i := 0; i < len(fields); i++ {
		a, rest, ok := bytes.Cut(fields[i], []byte{'\t'})
		if !ok {
			continue
		}
		d, p, ok := bytes.Cut(rest, []byte{'\t'})
		if !ok {
			continue
		}
		fs := FileStat{Path: string(p)}
		if string(a) == "-" {
			fs.Binary = true
		} else {
			fs.Added, _ = strconv.Atoi(string(a))
			fs.Deleted, _ = strconv.Atoi(string(d))
		}
		if len(p) == 0 && i+2 < len(fields) {
			fs.OrigPath, fs.Path = string(fields[i+1]), string(fields[i+2])
			i += 2
		}
		files = append(files, fs)
	}
	return files
}

// Branch is a local or remote-tracking branch.
type Branch struct {
	// Name is short: "main", or "origin/main" for a remote branch.
	Name   string
	Remote bool
	// Current marks the checked-out branch.
	Current  bool
	Commit   string
	Upstream string
	// Ahead and Behind count commits against Upstream; Gone says the
	// upstream no longer exists.
	Ahead, Behind int
	Gone          bool
	CommitTime    time.Time
	Subject       string
}

// Branches lists local branches, then remote-tracking ones, by name.
func (r *Repo) Branches(ctx context.Context) ([]Branch, error) {
	out, err := r.run(ctx, "for-each-ref", nil, "for-each-ref",
		"--format=%(refname)%00%(objectname)%00%(upstream:short)%00%(upstream:track,nobracket)%00%(HEAD)%00%(committerdate:unix)%00%(subject)%00",
		"refs/heads", "refs/remotes")
	if err != nil {
		return nil, err
	}
	var bs []Branch
	for line := range strings.SplitSeq(strings.TrimSuffix(string(out), "\n"), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) < 7 {
			continue
		}
		b := Branch{Commit: f[1], Upstream: f[2], Current: f[4] == "*", Subject: f[6]}
		switch {
		case strings.HasPrefix(f[0], "refs/heads/"):
			b.Name = strings.TrimPrefix(f[0], "refs/heads/")
		case strings.HasPrefix(f[0], "refs/remotes/"):
			b.Name, b.Remote = strings.TrimPrefix(f[0], "refs/remotes/"), true
			if strings.HasSuffix(b.Name, "/HEAD") {
				continue // a symbolic pointer, not a branch
			}
		}
		for part := range strings.SplitSeq(f[3], ", ") {
			switch {
			case part == "gone":
				b.Gone = true
			case strings.HasPrefix(part, "ahead "):
				b.Ahead, _ = strconv.Atoi(strings.TrimPrefix(part, "ahead "))
			case strings.HasPrefix(part, "behind "):
				b.Behind, _ = strconv.Atoi(strings.TrimPrefix(part, "behind "))
			}
		}
		if secs, err := strconv.ParseInt(f[5], 10, 64); err == nil {
			b.CommitTime = time.Unix(secs, 0).UTC()
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// Stage adds the paths' current contents, deletions included, to the index.
func (r *Repo) Stage(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("%w: no paths to stage", ErrInvalid)
	}
	_, err := r.run(ctx, "add", nil, append([]string{"add", "--all", "--"}, pathspecs(paths)...)...)
	return err
}

// Unstage resets the paths in the index to HEAD, leaving the work tree
// alone. Before the first commit it removes them from the index.
func (r *Repo) Unstage(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("%w: no paths to unstage", ErrInvalid)
	}
	if _, err := r.run(ctx, "rev-parse", nil, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"); err != nil {
		if _, ok := errors.AsType[*Error](err); !ok {
			return err
		}
		_, err = r.run(ctx, "rm", nil, append([]string{"rm", "--cached", "-r", "-q", "--ignore-unmatch", "--"}, pathspecs(paths)...)...)
		return err
	}
	_, err := r.run(ctx, "reset", nil, append([]string{"reset", "-q", "HEAD", "--"}, pathspecs(paths)...)...)
	return err
}

// Author names who wrote a commit. Empty fields fall back to git's
// configuration (user.name, user.email).
type Author struct {
	Name  string
	Email string
}

// MaxMessageBytes bounds a commit message.
const MaxMessageBytes = 64 << 10

// Commit records the index as a new commit with message and returns its
// hash. When author is set it is also the committer, so that a machine
// without user.name configured can still commit. Hooks never run unless
// the Repo is trusted.
func (r *Repo) Commit(ctx context.Context, message string, author Author) (string, error) {
	switch {
	case strings.TrimSpace(message) == "":
		return "", fmt.Errorf("%w: commit message is empty", ErrInvalid)
	case len(message) > MaxMessageBytes:
		return "", fmt.Errorf("%w: commit message is %d bytes, longer than the limit of %d", ErrInvalid, len(message), MaxMessageBytes)
	case !utf8.ValidString(message) || strings.IndexByte(message, 0) >= 0:
		return "", fmt.Errorf("%w: commit message is not valid UTF-8 text", ErrInvalid)
	}
	args := []string{"commit", "--quiet", "--no-gpg-sign", "--cleanup=strip", "--file=-"}
	if author.Name != "" || author.Email != "" {
		for _, v := range []string{author.Name, author.Email} {
			if v == "" || len(v) > 256 || strings.ContainsAny(v, "<>\n\r\x00") {
				return "", fmt.Errorf("%w: author %q <%q>: both name and email are needed, without <, > or line breaks, at most 256 bytes each", ErrInvalid, author.Name, author.Email)
			}
		}
		ident := author.Name + " <" + author.Email + ">"
		args = append([]string{"-c", "user.name=" + author.Name, "-c", "user.email=" + author.Email}, args...)
		args = append(args, "--author="+ident)
	}
	if _, err := r.run(ctx, "commit", []byte(message), args...); err != nil {
		return "", err
	}
	out, err := r.run(ctx, "rev-parse", nil, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// revError turns git's complaint about a revision that does not exist into
// an error wrapping [ErrInvalid], so callers can tell a bad argument from a
// broken repository.
func revError(err error) error {
	if e, ok := errors.AsType[*Error](err); ok && e.ExitCode == 128 &&
		(strings.Contains(e.Stderr, "unknown revision") || strings.Contains(e.Stderr, "bad revision") || strings.Contains(e.Stderr, "ambiguous argument")) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}
