package lspbridge

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gathering-dev/gathering/internal/testenv"
)

// langserversScript is scripts/langservers, from this package's directory.
var langserversScript = filepath.Join("..", "..", "..", "scripts", "langservers")

// TestLangserversScriptAgreesWithDefaultBinDir: the directory the script
// installs into and prints is the one DefaultBinDir names, with and without
// GATHERING_LANGSERVERS; --check fails, naming what is missing, on an empty
// cache.
func TestLangserversScriptAgreesWithDefaultBinDir(t *testing.T) {
	out, err := exec.Command(langserversScript, "--check").Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		if testenv.InCI() {
			t.Fatalf("scripts/langservers --check: %s; CI must run scripts/langservers first", exit.Stderr)
		}
		t.Logf("servers not installed (%s); checking only the empty-cache case", bytes.TrimSpace(exit.Stderr))
	case err != nil:
		t.Fatalf("scripts/langservers --check: %v", err)
	default:
		if got := strings.TrimSpace(string(out)); got != DefaultBinDir() {
			t.Errorf("scripts/langservers printed %q, DefaultBinDir is %q", got, DefaultBinDir())
		}
	}

	empty := t.TempDir()
	t.Setenv("GATHERING_LANGSERVERS", empty)
	if want := filepath.Join(empty, "bin"); DefaultBinDir() != want {
		t.Errorf("DefaultBinDir with GATHERING_LANGSERVERS=%s is %q, want %q", empty, DefaultBinDir(), want)
	}
	cmd := exec.Command(langserversScript, "--check")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), "missing or stale in "+empty+": gopls npm") {
		t.Errorf("--check on an empty cache = %v, stderr %q; want exit 1 naming gopls and npm", err, stderr.String())
	}
}
