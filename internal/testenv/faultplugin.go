package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// FaultPluginRoot builds the fault plugin (plugins/internal/faultplugin:
// it hangs, crashes, floods or misbehaves as the document it is asked about
// says) and lays it out as an unsigned plugin directory named "fault",
// serving languageId "fault" with hover. It returns the directory's parent,
// for a host's dev overrides. A test process that starts it must dispatch
// the sandbox launcher command in its TestMain, as cmd/gathering does.
func FaultPluginRoot(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	bin := filepath.Join(t.TempDir(), "faultplugin")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/gathering-dev/gathering/plugins/internal/faultplugin")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build faultplugin: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	PluginDir(t, root, "fault", "1.0.0", data, "\n[capabilities]\nlsp = [\"hover\"]\n")
	return root
}

// PluginDir lays out root/name as an unsigned plugin directory: data as
// bin/name, and a plugin.toml for it (publisher "acme", languageId name)
// with extra appended. It returns the directory and the manifest's bytes,
// which a test may sign.
func PluginDir(t testing.TB, root, name, version string, data []byte, extra string) (string, []byte) {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", name), data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	m := fmt.Appendf(nil, `schema = 1
name = %q
version = %q
publisher = "acme"

[protocol]
plugin_api = [1]

[[binary]]
os = "linux"
arch = %q
path = "bin/%s"
sha256 = %q
size = %d

[languages]
ids = [%q]
%s`, name, version, runtime.GOARCH, name, hex.EncodeToString(sum[:]), len(data), name, extra)
	if err := os.WriteFile(filepath.Join(dir, "plugin.toml"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, m
}
