package launch

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sandbox"
)

// spec builds the sandbox spec of the instance's plugin: its image and
// argv, the manifest's grants with ${variables} expanded, the workspace
// folders readable, its cache directory, limits and network. The socket
// directory is filled in per launch.
func (i *Instance) spec(image *os.File) (sandbox.Spec, error) {
	pl := i.plugin
	m := pl.Manifest
	cfg := pl.set.cfg
	cache := filepath.Join(cfg.CacheDir, m.Name)
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return sandbox.Spec{}, fmt.Errorf("plugin cache directory: %w", err)
	}
	launcher := cfg.Test.Executable
	if launcher == "" {
		exe, err := os.Executable()
		if err != nil {
			return sandbox.Spec{}, fmt.Errorf("find the launcher (this executable): %w", err)
		}
		launcher = exe
	}
	prep, err := pl.prepare()
	if err != nil {
		return sandbox.Spec{}, err
	}
	v := i.vars(cache)
	var env []string
	expand := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			got, name := v.expand(p)
			if name != "" && len(got) > 0 {
				// A plugin granted ${gomodcache} is told where it is: in the
				// sandbox HOME is its cache dir, so defaults would be wrong.
				if k := goEnv[name]; k != "" && !slices.Contains(env, k+"="+got[0]) {
					env = append(env, k+"="+got[0])
				}
			}
			out = append(out, got...)
		}
		return out
	}
	read := expand(m.Permissions.Read)
	for _, f := range i.opts.Folders {
		if !slices.Contains(read, f.Path) {
			read = append(read, f.Path)
		}
	}
	args := []string{m.Name}
	if pl.builtin != nil {
		args = append([]string{"gathering", builtin.RunCommand, m.Name}, prep.Args...)
	}
	env = append(env, prep.Env...)
	exec := append(expand(m.Permissions.Exec), prep.Exec...)
	exec = append(exec, loaders(exec)...)
	return sandbox.Spec{
		Launcher:          launcher,
		Binary:            image,
		SelfImage:         pl.builtin != nil, // the image is the launcher's own program
		Args:              args,
		EnvAllow:          m.Permissions.Env,
		Env:               env,
		Read:              append(read, prep.Read...),
		Write:             append(expand(m.Permissions.Write), prep.Write...),
		Exec:              exec,
		Network:           m.Permissions.Network,
		Limits:            capLimits(m.Limits, cfg.Policy),
		CacheDir:          cache,
		DisableNamespaces: cfg.DisableNamespaces,
		DisableLandlock:   cfg.DisableLandlock,
		DisableSeccomp:    cfg.DisableSeccomp,
	}, nil
}

// goEnv names the variable that tells a plugin where a granted Go
// directory is.
var goEnv = map[string]string{"goroot": "GOROOT", "gomodcache": "GOMODCACHE", "gopath": "GOPATH"}

// pathVars are the values of the ${variables} a manifest's paths may start
// with (manifest's pathVars).
type pathVars map[string][]string

func (i *Instance) vars(cache string) pathVars {
	v := pathVars{"plugin_cache": {cache}, "tmp": {os.TempDir()}}
	for _, f := range i.opts.Folders {
		v["workspace"] = append(v["workspace"], f.Path)
	}
	if !i.plugin.Builtin() {
		v["plugin_dir"] = []string{i.plugin.Source}
	}
	home, _ := os.UserHomeDir()
	if home != "" {
		v["home"] = []string{home}
	}
	goroot := os.Getenv("GOROOT")
	if goroot == "" {
		goroot = runtime.GOROOT() //nolint:staticcheck // the go plugin resolves it the same way, without the go command
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" && home != "" {
		gopath = filepath.Join(home, "go")
	}
	if gopath != "" {
		gopath = filepath.SplitList(gopath)[0]
	}
	modcache := os.Getenv("GOMODCACHE")
	if modcache == "" && gopath != "" {
		modcache = filepath.Join(gopath, "pkg", "mod")
	}
	for k, s := range map[string]string{"goroot": goroot, "gopath": gopath, "gomodcache": modcache} {
		if s != "" {
			v[k] = []string{s}
		}
	}
	return v
}

// expand returns the absolute paths p stands for and the variable it
// started with, if any. A variable with no value (no workspace folder, no
// GOROOT) expands to nothing: the grant is dropped.
func (v pathVars) expand(p string) ([]string, string) {
	if !strings.HasPrefix(p, "${") {
		return []string{filepath.Clean(p)}, ""
	}
	end := strings.IndexByte(p, '}')
	if end < 0 {
		return nil, ""
	}
	name, rest := p[2:end], p[end+1:]
	var out []string
	for _, base := range v[name] {
		out = append(out, filepath.Join(base, filepath.FromSlash(rest)))
	}
	return out, name
}

// capLimits lowers a built-in's limits to the host policy's maxima (a
// directory plugin's manifest was already checked against them).
func capLimits(l manifest.Limits, p *manifest.Policy) manifest.Limits {
	if p == nil {
		return l
	}
	m := p.MaxLimits
	for _, f := range []struct {
		v   *int
		max int
	}{
		{&l.MemoryMB, m.MemoryMB}, {&l.CPUPercent, m.CPUPercent}, {&l.MaxPids, m.MaxPids},
		{&l.MaxOpenFiles, m.MaxOpenFiles}, {&l.MaxFileWriteMB, m.MaxFileWriteMB}, {&l.StartTimeoutMS, m.StartTimeoutMS},
	} {
		if f.max > 0 && *f.v > f.max {
			*f.v = f.max
		}
	}
	return l
}

// loaders returns the dynamic loaders (ELF interpreters) of the programs
// in the exec grants: executing a dynamically linked program opens its
// loader for execution, which Landlock checks like the program itself.
// sandbox.Command adds the loader of a granted file; for a granted
// directory the host does, by reading the ELF header of each regular file
// in it (not below it). Results are cached per directory for the process.
func loaders(exec []string) []string {
	var out []string
	for _, p := range exec {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			continue
		}
		for _, l := range dirLoaders(p) {
			if !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	return out
}

var (
	loaderMu    sync.Mutex
	loaderCache = map[string][]string{}
)

func dirLoaders(dir string) []string {
	loaderMu.Lock()
	defer loaderMu.Unlock()
	if l, ok := loaderCache[dir]; ok {
		return l
	}
	var found []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		interp, err := sandbox.ELFInterpreter(filepath.Join(dir, e.Name()))
		if err == nil && interp != "" && !slices.Contains(found, interp) {
			found = append(found, interp)
		}
	}
	loaderCache[dir] = found
	return found
}
