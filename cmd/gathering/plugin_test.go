package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// runCmd runs the command in process and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// writePlugin writes an unsigned plugin directory and returns it.
func writePlugin(t *testing.T, bin []byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugins", "demo")
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "demo"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	m := fmt.Sprintf(`schema = 1
name = "demo"
version = "0.1.0"
publisher = "acme"
description = "round trip"

[protocol]
plugin_api = [1]

[[binary]]
os = %q
arch = %q
path = "bin/demo"
sha256 = "%x"
size = %d

[languages]
ids = ["go"]
file_globs = ["**/*.go"]

[permissions]
read = ["${workspace}"]
`, runtime.GOOS, runtime.GOARCH, sha256.Sum256(bin), len(bin))
	if err := os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

const verifiedLine = "verified: serve loads this plugin from a plugin directory (--plugin-dirs) trusting this key"

func TestPluginRoundTrip(t *testing.T) {
	bin := []byte("pretend this is a plugin binary\n")
	dir := writePlugin(t, bin)
	keys := filepath.Join(t.TempDir(), "acme")

	code, out, errOut := runCmd(t, "plugin", "keygen", "--out", keys, "--publisher", "acme")
	if code != 0 {
		t.Fatalf("keygen = %d\n%s%s", code, out, errOut)
	}
	if fi, err := os.Stat(keys + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	if _, err := os.Stat(keys + ".pub"); err != nil {
		t.Fatal(err)
	}
	i := strings.Index(out, "[[trusted_key]]")
	if !strings.HasPrefix(out, "key id ") || i < 0 {
		t.Fatalf("keygen printed %q, want a key id and a trust entry", out)
	}
	trust := filepath.Join(t.TempDir(), "trust.toml")
	if err := os.WriteFile(trust, []byte(out[i:]), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, "plugin", "keygen", "--out", keys); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("keygen over an existing key = %d, %q; want a refusal", code, errOut)
	}

	// Unsigned: refused, unless --dev.
	code, out, _ = runCmd(t, "plugin", "verify", "--trust", trust, dir)
	if code != 1 || !strings.Contains(out, "FAIL signature") || lastLine(out) != "refused: serve will not load this plugin" {
		t.Errorf("verify unsigned = %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "plugin", "verify", dir, "--dev")
	if code != 0 || !strings.Contains(out, "warn signature") || !strings.Contains(out, "warning: unsigned plugin") {
		t.Errorf("verify --dev unsigned = %d\n%s", code, out)
	}

	code, out, errOut = runCmd(t, "plugin", "sign", "--key", keys+".key", dir)
	if code != 0 || !strings.Contains(out, "signed") {
		t.Fatalf("sign = %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "plugin", "verify", "--trust", trust, dir)
	if code != 0 {
		t.Fatalf("verify signed = %d\n%s", code, out)
	}
	for _, want := range []string{"ok   location", "ok   signature    key ", "ok   publisher    acme", "ok   digest", "plugin       demo 0.1.0 by acme", "network      none"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if lastLine(out) != verifiedLine {
		t.Errorf("verify's last line = %q", lastLine(out))
	}
	if code, out, _ := runCmd(t, "plugin", "verify", dir); code != 1 || !strings.Contains(out, "FAIL signature") || !strings.Contains(out, "not trusted") {
		t.Errorf("verify without a trust file = %d\n%s", code, out)
	}

	// Tampering with the manifest, then the binary.
	manifestPath := filepath.Join(dir, "plugin.toml")
	orig, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifestPath, bytes.Replace(orig, []byte(`"${workspace}"`), []byte(`"${home}"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(t, "plugin", "verify", "--trust", trust, dir)
	if code != 1 || !strings.Contains(out, "FAIL signature") || !strings.Contains(out, "--   digest       not checked") {
		t.Errorf("verify tampered manifest = %d\n%s", code, out)
	}
	if err := os.WriteFile(manifestPath, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "demo"), bytes.ToUpper(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(t, "plugin", "verify", "--trust", trust, dir)
	if code != 1 || !strings.Contains(out, "ok   binary") || !strings.Contains(out, "FAIL digest") {
		t.Errorf("verify tampered binary = %d\n%s", code, out)
	}
}

func TestPluginSignRefusals(t *testing.T) {
	dir := writePlugin(t, []byte("bin"))
	keys := filepath.Join(t.TempDir(), "k")
	if code, out, errOut := runCmd(t, "plugin", "keygen", "--out", keys); code != 0 {
		t.Fatalf("keygen = %d\n%s%s", code, out, errOut)
	}
	if err := os.Chmod(keys+".key", 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, "plugin", "sign", "--key", keys+".key", dir); code != 1 || !strings.Contains(errOut, "chmod 600") {
		t.Errorf("sign with a readable key = %d, %q", code, errOut)
	}
	if err := os.Chmod(keys+".key", 0o600); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "plugin.toml")
	data, _ := os.ReadFile(m)
	if err := os.WriteFile(m, append(data, "surprise = 1\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, "plugin", "sign", "--key", keys+".key", dir)
	if code != 1 || !strings.Contains(errOut, "unknown keys: permissions.surprise") {
		t.Errorf("sign an invalid manifest = %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "plugin.toml.sig")); !os.IsNotExist(err) {
		t.Errorf("a signature was written for an invalid manifest: %v", err)
	}
}

func TestPluginUsage(t *testing.T) {
	for _, args := range [][]string{{"plugin"}, {"plugin", "keygen"}, {"plugin", "sign", "dir"}, {"plugin", "verify"}, {"plugin", "verify", "a", "b"}, {"plugin", "verify", "--bogus", "a"}} {
		if code, _, errOut := runCmd(t, args...); code != 2 || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%q = %d, %q; want 2 and the usage", args, code, errOut)
		}
	}
	if code, out, _ := runCmd(t, "help"); code != 0 || !strings.Contains(out, "gathering plugin list|keygen|sign|verify") {
		t.Errorf("help = %d; lacks the plugin line:\n%s", code, out)
	}
}

// TestPluginList lists the built-in go plugin, verified as serve would load
// it, and a plugin directory refused with the step that failed.
func TestPluginList(t *testing.T) {
	data := t.TempDir()
	bad := filepath.Join(data, "plugins", "broken")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "plugin.toml"), []byte("schema = 1\nname = \"broken\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "plugin", "list", "--plugins", "go", "--data-dir", data)
	if code != 0 {
		t.Fatalf("plugin list = %d\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "NAME") || !slices.ContainsFunc(lines, func(l string) bool {
		f := strings.Fields(l)
		return len(f) >= 7 && f[0] == "go" && f[2] == "gathering" && f[4] == "go" && f[6] == "builtin"
	}) {
		t.Errorf("plugin list lacks the go built-in:\n%s", out)
	}
	if !strings.Contains(out, "broken") || !strings.Contains(out, "refused") {
		t.Errorf("plugin list does not show the broken plugin refused:\n%s", out)
	}
}

// TestLanguageServersSetting: a configured language server is the only
// place looked, and a malformed pair is refused with the setting's name.
func TestLanguageServersSetting(t *testing.T) {
	data := t.TempDir()
	missing := filepath.Join(data, "no-such-gopls")
	code, out, errOut := runCmd(t, "plugin", "list", "--plugins", "gopls", "--language-servers", "gopls="+missing, "--data-dir", data)
	if code != 0 || !strings.Contains(out, "configured gopls path "+missing) || !strings.Contains(out, "refused") {
		t.Errorf("plugin list with a missing configured gopls = %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = runCmd(t, "plugin", "list", "--language-servers", "gopls", "--data-dir", data)
	if code == 0 || !strings.Contains(errOut, "language-servers") {
		t.Errorf("a pair without a path = %d, %q; want a refusal naming the setting", code, errOut)
	}
}
