package golang

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// module is what the plugin reads from one go.mod: the module path, its
// directory, the go version, the required versions and the replacements.
type module struct {
	path      string
	dir       string
	goVersion string            // "go1.22", or "" when go.mod has no go line
	requires  map[string]string // module path → version
	replaces  map[string]replacement
	modTime   int64 // go.mod's mtime in ns when read, to notice edits
}

// replacement is the right-hand side of a replace directive: a local
// directory (dir) or another module version (path, version).
type replacement struct {
	dir           string
	path, version string
}

// parseGoMod reads the module, go, require and replace directives of a go.mod
// (single lines and blocks); other directives are skipped. dir is the
// directory that holds the file, against which relative replacements are
// resolved.
func parseGoMod(data []byte, dir string) (*module, error) {
	m := &module{dir: dir, requires: map[string]string{}, replaces: map[string]replacement{}}
	block := ""
	for n, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f, err := modFields(line)
		if err != nil {
			return nil, fmt.Errorf("go.mod line %d: %w", n+1, err)
		}
		if len(f) == 0 {
			continue
		}
		if block != "" {
			if f[0] == ")" {
				block = ""
				continue
			}
			f = append([]string{block}, f...)
		} else if len(f) == 2 && f[1] == "(" {
			block = f[0]
			continue
		}
		switch f[0] {
		case "module":
			if len(f) >= 2 {
				m.path = f[1]
			}
		case "go":
			if len(f) >= 2 {
				m.goVersion = "go" + f[1]
			}
		case "require":
			if len(f) >= 3 {
				m.requires[f[1]] = f[2]
			}
		case "replace":
			m.addReplace(f[1:])
		}
	}
	if m.path == "" {
		return nil, fmt.Errorf("go.mod in %s has no module directive", dir)
	}
	return m, nil
}

// addReplace records "old [v] => new [v]"; a replacement without a version
// is a directory, relative to the module's directory unless absolute.
func (m *module) addReplace(f []string) {
	arrow := -1
	for i, s := range f {
		if s == "=>" {
			arrow = i
		}
	}
	if arrow < 1 || arrow+1 >= len(f) {
		return
	}
	old := f[0]
	if arrow == 2 {
		old += "@" + f[1]
	}
	rhs := f[arrow+1:]
	var r replacement
	if len(rhs) >= 2 {
		r = replacement{path: rhs[0], version: rhs[1]}
	} else {
		r.dir = rhs[0]
		if !filepath.IsAbs(r.dir) {
			r.dir = filepath.Join(m.dir, r.dir)
		}
	}
	m.replaces[old] = r
}

// modFields splits a go.mod line into fields, unquoting "…" and `…` strings.
func modFields(line string) ([]string, error) {
	var out []string
	for {
		line = strings.TrimLeftFunc(line, unicode.IsSpace)
		if line == "" {
			return out, nil
		}
		switch line[0] {
		case '"', '`':
			end := strings.IndexByte(line[1:], line[0])
			if end < 0 {
				return nil, fmt.Errorf("unterminated string %s", line)
			}
			s, err := strconv.Unquote(line[:end+2])
			if err != nil {
				return nil, fmt.Errorf("bad string %s: %w", line[:end+2], err)
			}
			out = append(out, s)
			line = line[end+2:]
		default:
			end := strings.IndexFunc(line, unicode.IsSpace)
			if end < 0 {
				end = len(line)
			}
			out = append(out, line[:end])
			line = line[end:]
		}
	}
}

// escapePath applies the module cache's case encoding (golang.org/x/mod's
// module.EscapePath and EscapeVersion): each upper-case letter becomes '!'
// followed by its lower-case form, so paths differing in case stay distinct
// on case-insensitive file systems.
func escapePath(p string) string {
	if strings.IndexFunc(p, unicode.IsUpper) < 0 {
		return p
	}
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// readModule parses dir/go.mod.
func readModule(dir string) (*module, error) {
	name := filepath.Join(dir, "go.mod")
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	m, err := parseGoMod(data, dir)
	if err != nil {
		return nil, err
	}
	m.modTime = st.ModTime().UnixNano()
	return m, nil
}
