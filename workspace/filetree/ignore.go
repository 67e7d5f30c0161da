package filetree

import (
	"path"
	"strings"
)

// rule is one pattern line of a .gitignore file (gitignore(5)).
type rule struct {
	base     string   // the directory of the .gitignore, "" at the root
	segments []string // the pattern split at "/"
	negate   bool     // "!pattern": re-include
	dirOnly  bool     // "pattern/": directories only
	anchored bool     // holds a slash before its end: relative to base
}

// parseIgnore reads the lines of a .gitignore file in directory base.
func parseIgnore(base string, data []byte) []rule {
	var rules []rule
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		line = trimTrailingSpace(line)
		var r rule
		r.base = base
		if line[0] == '!' {
			r.negate = true
			line = line[1:]
		} else if strings.HasPrefix(line, `\!`) || strings.HasPrefix(line, `\#`) {
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly = true
			line = strings.TrimRight(line, "/")
		}
		if line == "" {
			continue
		}
		if strings.Contains(line, "/") {
			r.anchored = true
			line = strings.TrimPrefix(line, "/")
		}
		// gitignore's "[!x]" is path.Match's "[^x]".
		line = strings.ReplaceAll(line, "[!", "[^")
		r.segments = strings.Split(line, "/")
		if _, err := path.Match(line, ""); err != nil {
			continue // a malformed pattern matches nothing, as in git
		}
		rules = append(rules, r)
	}
	return rules
}

// trimTrailingSpace drops trailing spaces that are not escaped with "\".
func trimTrailingSpace(s string) string {
	for strings.HasSuffix(s, " ") && !strings.HasSuffix(s, `\ `) {
		s = s[:len(s)-1]
	}
	return strings.ReplaceAll(s, `\ `, " ")
}

// match reports whether rule r matches p, a path relative to the tree root
// beneath r.base.
func (r *rule) match(p string, isDir bool) bool {
	if r.dirOnly && !isDir {
		return false
	}
	rel := p
	if r.base != "" {
		var ok bool
		if rel, ok = strings.CutPrefix(p, r.base+"/"); !ok {
			return false
		}
	}
	if !r.anchored {
		// No slash: the pattern matches the name at any depth.
		ok, _ := path.Match(r.segments[0], path.Base(rel))
		return ok
	}
	return matchSegments(r.segments, strings.Split(rel, "/"))
}

// matchSegments matches path segments against pattern segments, where "**"
// matches any number of segments, zero included.
func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return len(segs) > 0 // "dir/**" matches what is inside dir
			}
			for i := 0; i <= len(segs); i++ {
				if matchSegments(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// ignored reports whether p is ignored by rules, the rules of p's directory
// and every directory above it, outermost first: the last rule that matches
// decides.
func ignored(rules []rule, p string, isDir bool) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		if rules[i].match(p, isDir) {
			return !rules[i].negate
		}
	}
	return false
}

// Glob is a compiled path filter: gitignore-style patterns, where a pattern
// without a slash matches an entry's name and one with a slash matches its
// path from the root, "**" spanning directories. The zero Glob matches
// everything.
type Glob struct {
	rules []rule
}

// CompileGlob compiles patterns; an entry matches when any pattern does.
// It reports the first malformed pattern.
func CompileGlob(patterns []string) (Glob, error) {
	var g Glob
	for _, p := range patterns {
		if p == "" {
			continue
		}
		clean := strings.ReplaceAll(p, "[!", "[^")
		if _, err := path.Match(clean, ""); err != nil || p[0] == '!' || p[0] == '#' || len(p) > 1024 {
			return Glob{}, &GlobError{Pattern: p}
		}
		rs := parseIgnore("", []byte(p))
		g.rules = append(g.rules, rs...)
	}
	return g, nil
}

// GlobError reports a malformed pattern.
type GlobError struct{ Pattern string }

func (e *GlobError) Error() string { return "malformed glob pattern " + `"` + e.Pattern + `"` }

// Empty reports whether g has no patterns and so matches everything.
func (g Glob) Empty() bool { return len(g.rules) == 0 }

// Match reports whether any of g's patterns matches p (relative to the
// root); the empty Glob matches everything.
func (g Glob) Match(p string, isDir bool) bool {
	if len(g.rules) == 0 {
		return true
	}
	for i := range g.rules {
		if g.rules[i].match(p, isDir) {
			return true
		}
	}
	return false
}
