//go:build linux

package sandbox

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// langServers is where this machine's language servers are installed (the
// lspbridge's cache); the test skips the ones that are missing.
var langServers = filepath.Join(os.Getenv("HOME"), ".cache", "gathering", "langservers")

// TestLanguageServersRun starts real language servers and runtimes as the
// sandboxed plugin's children, with only SystemReadPaths and the grants an
// lspbridge entry would give: this is what checks that the system list is
// enough for node, pyright and gopls (and, through node, that clone3 →
// ENOSYS and io_uring → EPERM leave a working libuv).
func TestLanguageServersRun(t *testing.T) {
	e := newTestEnv(t)
	if err := os.WriteFile(filepath.Join(e.workspace, "go.mod"), []byte("module example.com/ws\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.workspace, "main.go"), []byte("package main\n\nfunc main() { var unused int }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	node, _ := exec.LookPath("node")
	goroot := runtime.GOROOT()
	for _, c := range []struct {
		name        string
		argv        []string
		read, exec_ []string
		want        string
	}{
		{"node", []string{node, "-e", "const fs=require('fs'),os=require('os');console.log(os.cpus().length>0, fs.readFileSync(process.argv[1],'utf8').length)", filepath.Join(e.workspace, "go.mod")},
			nil, []string{node}, "ok true 31"},
		{"pyright", []string{node, filepath.Join(langServers, "npm", "node_modules", "pyright", "index.js"), "--version"},
			[]string{filepath.Join(langServers, "npm")}, []string{node}, "ok pyright "},
		{"gopls", []string{filepath.Join(langServers, "bin", "gopls"), "check", filepath.Join(e.workspace, "main.go")},
			[]string{goroot}, []string{filepath.Join(langServers, "bin", "gopls"), filepath.Join(goroot, "bin"), filepath.Join(goroot, "pkg", "tool")},
			"ok " + filepath.Join(e.workspace, "main.go") + ":3:19-25: declared and not used: unused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			if _, err := os.Stat(c.argv[0]); c.argv[0] == "" || err != nil {
				t.Skipf("%s not installed", c.name)
			}
			if _, err := os.Stat(c.argv[1]); strings.HasPrefix(c.argv[1], "/") && err != nil {
				t.Skipf("%s not installed", c.name)
			}
			argv, _ := json.Marshal(c.argv)
			spec := e.spec("run")
			spec.Read = append(spec.Read, c.read...)
			spec.Exec = c.exec_
			spec.Dir = e.workspace // gopls check roots its view at the working directory
			spec.Env = append(spec.Env, "PROBE_RUN="+string(argv), "PATH="+filepath.Join(goroot, "bin")+":/usr/bin:/bin")
			got, _ := e.run(spec)
			if !strings.HasPrefix(got["run"], c.want) {
				t.Errorf("%s in the sandbox: %q, want %q…", c.name, got["run"], c.want)
			}
		})
	}
}
