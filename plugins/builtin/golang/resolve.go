package golang

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// resolver maps import paths to directories without the go command: GOROOT
// for the standard library, go.mod for the module's own packages and its
// requirements in the module cache. Methods are safe for concurrent use.
type resolver struct {
	goroot   string // $GOROOT, or the toolchain's GOROOT
	modcache string // $GOMODCACHE, or $GOPATH/pkg/mod, or ~/go/pkg/mod

	mu      sync.Mutex
	modules map[string]*module // directory holding go.mod → parsed go.mod
}

func newResolver() *resolver {
	goroot := findGoroot()
	modcache := os.Getenv("GOMODCACHE")
	if modcache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			if home, err := os.UserHomeDir(); err == nil {
				gopath = filepath.Join(home, "go")
			}
		}
		if i := strings.IndexByte(gopath, os.PathListSeparator); i >= 0 {
			gopath = gopath[:i]
		}
		if gopath != "" {
			modcache = filepath.Join(gopath, "pkg", "mod")
		}
	}
	return &resolver{goroot: filepath.Clean(goroot), modcache: filepath.Clean(modcache), modules: map[string]*module{}}
}

// findGoroot returns the first of $GOROOT, the GOROOT this binary was built
// with (empty under -trimpath), the directory above the `go` found on PATH
// (looked up, never run), /usr/local/go and /usr/lib/go that holds
// src/runtime.
func findGoroot() string {
	candidates := []string{os.Getenv("GOROOT"), runtime.GOROOT()} //nolint:staticcheck // the go command may not be run to ask
	if goBin, err := exec.LookPath("go"); err == nil {
		if real, err := filepath.EvalSymlinks(goBin); err == nil {
			candidates = append(candidates, filepath.Dir(filepath.Dir(real)))
		}
	}
	candidates = append(candidates, "/usr/local/go", "/usr/lib/go")
	for _, c := range candidates {
		if c != "" && isDir(filepath.Join(c, "src", "runtime")) {
			return c
		}
	}
	return candidates[0]
}

// gorootSrc is the directory of the standard library's sources.
func (r *resolver) gorootSrc() string { return filepath.Join(r.goroot, "src") }

// inGoroot reports whether dir is inside $GOROOT/src.
func (r *resolver) inGoroot(dir string) bool { return within(r.gorootSrc(), dir) }

// inModcache reports whether dir is inside the module cache.
func (r *resolver) inModcache(dir string) bool { return r.modcache != "." && within(r.modcache, dir) }

// within reports whether path is root or below it.
func within(root, path string) bool {
	return path == root || strings.HasPrefix(path, root+string(filepath.Separator))
}

// moduleOf returns the module whose go.mod is nearest above dir, or nil
// outside any module. A go.mod edited on disk is read again.
func (r *resolver) moduleOf(dir string) *module {
	for d := dir; ; {
		if m := r.moduleAt(d); m != nil {
			return m
		}
		parent := filepath.Dir(d)
		if parent == d || r.inGoroot(d) {
			return nil
		}
		d = parent
	}
}

func (r *resolver) moduleAt(dir string) *module {
	st, err := os.Stat(filepath.Join(dir, "go.mod"))
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		delete(r.modules, dir)
		return nil
	}
	if m := r.modules[dir]; m != nil && m.modTime == st.ModTime().UnixNano() {
		return m
	}
	m, err := readModule(dir)
	if err != nil {
		return nil
	}
	r.modules[dir] = m
	return m
}

// resolve returns the directory of the package imported as path from a
// package in fromDir, whose build list is that of main (nil outside a
// module: only the standard library resolves).
func (r *resolver) resolve(path, fromDir string, main *module) (string, error) {
	if r.inGoroot(fromDir) && !strings.HasPrefix(fromDir, filepath.Join(r.gorootSrc(), "cmd")) {
		// The standard library's own vendored golang.org/x packages.
		if d := filepath.Join(r.gorootSrc(), "vendor", filepath.FromSlash(path)); isDir(d) {
			return d, nil
		}
	}
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") {
		if d := filepath.Join(r.gorootSrc(), filepath.FromSlash(path)); isDir(d) {
			return d, nil
		}
	}
	if main == nil {
		return "", fmt.Errorf("package %s is not in std (%s) and no go.mod is above %s", path, r.gorootSrc(), fromDir)
	}
	if rest, ok := cutModule(path, main.path); ok {
		return filepath.Join(main.dir, filepath.FromSlash(rest)), nil
	}
	best := ""
	for mp := range main.requires {
		if _, ok := cutModule(path, mp); ok && len(mp) > len(best) {
			best = mp
		}
	}
	for key, rep := range main.replaces {
		if mp, _, versioned := strings.Cut(key, "@"); !versioned && rep.dir != "" {
			if _, ok := cutModule(path, mp); ok && len(mp) > len(best) {
				best = mp
			}
		}
	}
	if best == "" {
		return "", fmt.Errorf("no required module provides package %s; add it to %s", path, filepath.Join(main.dir, "go.mod"))
	}
	rest, _ := cutModule(path, best)
	version := main.requires[best]
	rep, ok := main.replaces[best+"@"+version]
	if !ok {
		rep, ok = main.replaces[best]
	}
	modPath := best
	if ok {
		if rep.dir != "" {
			return filepath.Join(rep.dir, filepath.FromSlash(rest)), nil
		}
		modPath, version = rep.path, rep.version
	}
	root := filepath.Join(r.modcache, filepath.FromSlash(escapePath(modPath))+"@"+escapePath(version))
	return filepath.Join(root, filepath.FromSlash(rest)), nil
}

// cutModule reports whether path is module mod or inside it, and returns the
// rest of path below the module.
func cutModule(path, mod string) (string, bool) {
	if path == mod {
		return "", true
	}
	if strings.HasPrefix(path, mod+"/") {
		return path[len(mod)+1:], true
	}
	return "", false
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
