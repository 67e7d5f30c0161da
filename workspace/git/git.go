package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Defaults for [Config] fields left zero.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultMaxOutputBytes = 64 << 20
)

// Errors callers branch on.
var (
	// ErrNotRepository means the directory is not inside a git work tree.
	ErrNotRepository = errors.New("not a git repository")
	// ErrOutputTooLarge means a command printed more than
	// [Config.MaxOutputBytes]; it was stopped.
	ErrOutputTooLarge = errors.New("git output too large")
	// ErrInvalid means an argument was refused before git ran: a revision
	// that looks like an option, an empty message, a malformed author.
	ErrInvalid = errors.New("invalid git argument")
)

// Config holds the optional settings of a [Repo]. nil means the defaults.
type Config struct {
	// Binary is the git executable, looked up in PATH (default "git").
	Binary string
	// Timeout bounds each git command (default 30 s), within the caller's
	// context.
	Timeout time.Duration
	// MaxOutputBytes bounds what one command may print (default 64 MiB);
	// past it the command is stopped and [ErrOutputTooLarge] returned.
	MaxOutputBytes int64
	// Trusted runs git with the repository's own hooks, filters, diff
	// drivers and signing (see the package documentation). Leave it false
	// for code you did not write.
	Trusted bool
}

// Error is a git command that ran and failed.
type Error struct {
	// Command is the git subcommand ("status", "commit", …).
	Command string
	// ExitCode is git's exit status.
	ExitCode int
	// Stderr is what git printed on standard error, trimmed and cut to
	// 4 KiB.
	Stderr string
}

func (e *Error) Error() string {
	return fmt.Sprintf("git %s: exit status %d: %s", e.Command, e.ExitCode, e.Stderr)
}

// Repo runs git in one directory, which must lie inside a git work tree:
// the work tree's top, or a directory beneath it, whose path from the top is
// [Repo.Prefix]. Every path a Repo takes or returns is relative to that
// directory, not to the top.
//
// Methods are safe for concurrent use; git's own index lock serialises
// commands that change the index.
type Repo struct {
	dir    string
	top    string
	prefix string // "" or "sub/dir/"
	cfg    Config
	git    string // resolved binary
}

// Open returns a Repo for dir, an absolute directory. It fails with
// [ErrNotRepository] when dir is not inside a git work tree, and refuses a
// repository whose configured work tree (core.worktree) does not contain
// dir, since git would then read and write files outside it.
func Open(ctx context.Context, dir string, cfg *Config) (*Repo, error) {
	r := &Repo{dir: filepath.Clean(dir)}
	if cfg != nil {
		r.cfg = *cfg
	}
	if r.cfg.Binary == "" {
		r.cfg.Binary = "git"
	}
	if r.cfg.Timeout <= 0 {
		r.cfg.Timeout = DefaultTimeout
	}
	if r.cfg.MaxOutputBytes <= 0 {
		r.cfg.MaxOutputBytes = DefaultMaxOutputBytes
	}
	bin, err := exec.LookPath(r.cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("git: %w", err)
	}
	r.git = bin
	out, err := r.run(ctx, "rev-parse", nil, "rev-parse", "--show-toplevel", "--show-prefix")
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok && strings.Contains(e.Stderr, "not a git repository") {
			return nil, fmt.Errorf("%w: %s", ErrNotRepository, r.dir)
		}
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) < 1 || lines[0] == "" {
		// A bare repository, or the inside of .git, has no work tree.
		return nil, fmt.Errorf("%w: %s has no work tree", ErrNotRepository, r.dir)
	}
	r.top = filepath.Clean(lines[0])
	if len(lines) > 1 {
		r.prefix = lines[1]
	}
	// The top as git reports it has its links resolved; so must dir, to
	// compare them.
	resolved, err := filepath.EvalSymlinks(r.dir)
	if err != nil {
		return nil, fmt.Errorf("git: %w", err)
	}
	if filepath.Join(r.top, filepath.FromSlash(r.prefix)) != resolved {
		return nil, fmt.Errorf("%w: the repository's work tree %s does not contain %s (core.worktree?)", ErrInvalid, r.top, r.dir)
	}
	return r, nil
}

// Dir returns the directory the Repo runs in.
func (r *Repo) Dir() string { return r.dir }

// Prefix returns the Repo's directory relative to the work tree's top,
// slash-separated with a trailing slash, or "" at the top.
func (r *Repo) Prefix() string { return r.prefix }

// safetyArgs returns the -c options that neutralise what the repository's
// configuration could run (see the package documentation).
func (r *Repo) safetyArgs(ctx context.Context) ([]string, error) {
	args := []string{
		"-c", "core.hooksPath=/dev/null",
		"-c", "core.fsmonitor=false",
		"-c", "commit.gpgSign=false",
		"-c", "tag.gpgSign=false",
		"-c", "log.showSignature=false",
		"-c", "protocol.allow=never",
		"-c", "gc.auto=0",
		"-c", "maintenance.auto=false",
		"-c", "core.pager=cat",
		"-c", "color.ui=false",
	}
	// Filter drivers have names the repository chooses; list them, then
	// empty each one's commands. git config only reads files.
	out, err := r.exec(ctx, "config", nil, r.cfg.MaxOutputBytes, "-c", "core.fsmonitor=false",
		"config", "--null", "--name-only", "--get-regexp", `^filter\.`)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok && e.ExitCode == 1 && e.Stderr == "" {
			return args, nil // no filter configured
		}
		return nil, err
	}
	seen := map[string]bool{}
	for key := range strings.SplitSeq(string(out), "\x00") {
		// filter.<name>.<var>; the name may hold dots.
		name, ok := strings.CutPrefix(key, "filter.")
		i := strings.LastIndexByte(name, '.')
		if !ok || i < 0 {
			continue
		}
		name = name[:i]
		if seen[name] {
			continue
		}
		seen[name] = true
		for _, v := range []string{"clean", "smudge", "process"} {
			args = append(args, "-c", "filter."+name+"."+v+"=")
		}
		args = append(args, "-c", "filter."+name+".required=false")
	}
	return args, nil
}

// run runs a git subcommand with the safety options and returns its
// standard output. stdin may be nil.
func (r *Repo) run(ctx context.Context, name string, stdin []byte, args ...string) ([]byte, error) {
	out, truncated, err := r.runLimited(ctx, name, stdin, r.cfg.MaxOutputBytes, args...)
	if err == nil && truncated {
		err = fmt.Errorf("git %s: %w: more than %d bytes", name, ErrOutputTooLarge, r.cfg.MaxOutputBytes)
	}
	return out, err
}

// runLimited is run that keeps at most limit bytes of output and reports
// whether there was more, stopping git when there is.
func (r *Repo) runLimited(ctx context.Context, name string, stdin []byte, limit int64, args ...string) ([]byte, bool, error) {
	var pre []string
	if !r.cfg.Trusted {
		var err error
		if pre, err = r.safetyArgs(ctx); err != nil {
			return nil, false, err
		}
	}
	full := append(append(pre, "--no-pager", "--literal-pathspecs", "--no-optional-locks"), args...)
	out, err := r.exec(ctx, name, stdin, limit, full...)
	if errors.Is(err, errTruncated) {
		return out, true, nil
	}
	return out, false, err
}

var errTruncated = errors.New("truncated")

// exec runs git with exactly args in r.dir, under the configured timeout,
// with the scrubbed environment, keeping up to limit bytes of output. When
// there is more, it stops git and returns what it kept with errTruncated.
func (r *Repo) exec(ctx context.Context, name string, stdin []byte, limit int64, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.git, args...)
	cmd.Dir = r.dir
	cmd.Env = environ()
	cmd.WaitDelay = 2 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	} // else /dev/null
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{max: 4096, buf: &stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git %s: %w", name, err)
	}
	var out bytes.Buffer
	n, rerr := out.ReadFrom(io.LimitReader(stdout, limit+1))
	truncated := n > limit
	if truncated {
		cmd.Process.Kill()
		out.Truncate(int(limit))
		io.Copy(io.Discard, stdout)
	}
	werr := cmd.Wait()
	switch {
	case truncated:
		return out.Bytes(), errTruncated
	case ctx.Err() != nil:
		return nil, fmt.Errorf("git %s: %w", name, context.Cause(ctx))
	case werr != nil:
		if ee, ok := errors.AsType[*exec.ExitError](werr); ok {
			return nil, &Error{Command: name, ExitCode: ee.ExitCode(), Stderr: strings.TrimSpace(stderr.String())}
		}
		return nil, fmt.Errorf("git %s: %w", name, werr)
	case rerr != nil:
		return nil, fmt.Errorf("git %s: read output: %w", name, rerr)
	}
	return out.Bytes(), nil
}

// environ returns the server's environment without GIT_* variables, with
// the settings that keep git from waiting for a person.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "LC_ALL=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"GIT_EDITOR=true",
		"GIT_SEQUENCE_EDITOR=true",
		"GIT_PAGER=cat",
	)
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	max int
	buf *bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// checkRev refuses a revision or branch name that git could read as an
// option or that holds characters no ref or revision expression has.
func checkRev(what, rev string) error {
	switch {
	case rev == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	case len(rev) > 256:
		return fmt.Errorf("%w: %s is longer than 256 bytes", ErrInvalid, what)
	case rev[0] == '-':
		return fmt.Errorf("%w: %s %q starts with \"-\"", ErrInvalid, what, rev)
	}
	for _, c := range rev {
		if c < 0x20 || c == 0x7f || c == ' ' || c == '\\' {
			return fmt.Errorf("%w: %s %q holds a space, backslash or control character", ErrInvalid, what, rev)
		}
	}
	return nil
}

// pathspecs turns project-relative paths into git pathspec arguments; they
// follow "--" and --literal-pathspecs is always on.
func pathspecs(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		if p == "" {
			p = "."
		}
		out[i] = p
	}
	return out
}

// unprefix turns a path relative to the work tree's top into one relative
// to the Repo's directory, reporting false when it lies outside.
func (r *Repo) unprefix(p string) (string, bool) {
	if r.prefix == "" {
		return p, true
	}
	return strings.CutPrefix(p, r.prefix)
}
