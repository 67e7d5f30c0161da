package git

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Status is the state of the work tree and index, as
// `git status --porcelain=v2 --branch` reports it.
type Status struct {
	// Branch is the checked-out branch, or "" when HEAD is detached.
	Branch string
	// Head is the commit HEAD names, or "" before the first commit.
	Head string
	// Upstream is the branch's upstream ("origin/main"), or "".
	Upstream string
	// Ahead and Behind count commits against the upstream.
	Ahead, Behind int
	// Entries are the paths that differ from HEAD or are untracked, in
	// git's order. Untracked directories with nothing tracked inside are
	// listed once, with a trailing slash.
	Entries []StatusEntry
}

// StatusEntry is one changed path. Index and WorkTree are git's XY letters
// ("M" modified, "A" added, "D" deleted, "R" renamed, "C" copied, "T" type
// changed, "U" unmerged, "." unchanged, "?" untracked).
type StatusEntry struct {
	Path string
	// OrigPath is where a renamed or copied path came from.
	OrigPath string
	Index    string
	WorkTree string
	// Conflicted marks an unmerged path.
	Conflicted bool
}

// Staged reports whether the entry has a change in the index.
func (e StatusEntry) Staged() bool { return e.Index != "." && e.Index != "?" }

// Unstaged reports whether the work tree differs from the index.
func (e StatusEntry) Unstaged() bool { return e.WorkTree != "." && e.WorkTree != "?" }

// Untracked reports whether git does not track the path.
func (e StatusEntry) Untracked() bool { return e.Index == "?" }

// Code is the two-letter XY code, as `git status --short` shows it.
func (e StatusEntry) Code() string {
	x, y := e.Index, e.WorkTree
	if x == "." {
		x = " "
	}
	if y == "." {
		y = " "
	}
	return x + y
}

// Status runs git status. Paths outside the Repo's directory are left out.
func (r *Repo) Status(ctx context.Context) (*Status, error) {
	args := []string{"status", "--porcelain=v2", "-z", "--branch", "--ignore-submodules=all", "--untracked-files=normal", "--"}
	if r.prefix != "" {
		args = append(args, ".")
	}
	out, err := r.run(ctx, "status", nil, args...)
	if err != nil {
		return nil, err
	}
	return r.parseStatus(out)
}

// parseStatus reads porcelain v2 -z output.
func (r *Repo) parseStatus(out []byte) (*Status, error) {
	st := &Status{}
	fields := bytes.Split(out, []byte{0})
	for i := 0; i < len(fields); i++ {
		line := string(fields[i])
		if line == "" {
			continue
		}
		var e StatusEntry
		switch line[0] {
		case '#':
			parseBranchHeader(st, line)
			continue
		case '1':
			// 1 XY sub mH mI mW hH hI path
			f := strings.SplitN(line, " ", 9)
			if len(f) < 9 {
				return nil, fmt.Errorf("git status: malformed line %q", line)
			}
			e = StatusEntry{Path: f[8], Index: f[1][:1], WorkTree: f[1][1:]}
		case '2':
			// 2 XY sub mH mI mW hH hI Xscore path NUL origPath
			f := strings.SplitN(line, " ", 10)
			if len(f) < 10 || i+1 >= len(fields) {
				return nil, fmt.Errorf("git status: malformed line %q", line)
			}
			i++
			e = StatusEntry{Path: f[9], OrigPath: string(fields[i]), Index: f[1][:1], WorkTree: f[1][1:]}
		case 'u':
			// u XY sub m1 m2 m3 mW h1 h2 h3 path
			f := strings.SplitN(line, " ", 11)
			if len(f) < 11 {
				return nil, fmt.Errorf("git status: malformed line %q", line)
			}
			e = StatusEntry{Path: f[10], Index: f[1][:1], WorkTree: f[1][1:], Conflicted: true}
		case '?':
			e = StatusEntry{Path: strings.TrimPrefix(line, "? "), Index: "?", WorkTree: "?"}
		default:
			continue // "!" ignored entries are not asked for
		}
		p, ok := r.unprefix(e.Path)
		if !ok {
			continue
		}
		e.Path = p
		if e.OrigPath != "" {
			if o, ok := r.unprefix(e.OrigPath); ok {
				e.OrigPath = o
			} else {
				e.OrigPath = "/" + e.OrigPath // outside: shown from the top
			}
		}
		st.Entries = append(st.Entries, e)
	}
	return st, nil
}

func parseBranchHeader(st *Status, line string) {
	key, val, _ := strings.Cut(strings.TrimPrefix(line, "# "), " ")
	switch key {
	case "branch.oid":
		if val != "(initial)" {
			st.Head = val
		}
	case "branch.head":
		if val != "(detached)" {
			st.Branch = val
		}
	case "branch.upstream":
		st.Upstream = val
	case "branch.ab":
		a, b, _ := strings.Cut(val, " ")
		st.Ahead, _ = strconv.Atoi(strings.TrimPrefix(a, "+"))
		st.Behind, _ = strconv.Atoi(strings.TrimPrefix(b, "-"))
	}
}
