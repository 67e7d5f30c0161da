package acceptance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/internal/testenv"
)

// clientTimeout bounds each client run. The runs take seconds to minutes
// (the Node suite's language scenarios wait for language servers, and for
// the built-in go plugin, race-instrumented under -race, to load a module);
// this only turns a hang into a failure.
const clientTimeout = 8 * time.Minute

// TestAcceptance builds the server once and drives it with each real client
// over each transport. Under -race the server is built with the race
// detector too, so races the clients provoke fail the run.
func TestAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance tests build the binary and run real clients; skipped in -short mode")
	}
	// Built on first use, so that a run whose clients are all missing
	// skips without building.
	dir := t.TempDir()
	build := sync.OnceValues(func() (string, error) { return buildServer(t.Context(), dir) })
	server := func(t *testing.T) string {
		t.Helper()
		bin, err := build()
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}

	t.Run("node", func(t *testing.T) {
		t.Parallel()
		runNode(t, server)
	})
	for _, transport := range []string{"stdio", "tcp"} {
		t.Run("nvim/"+transport, func(t *testing.T) {
			t.Parallel()
			runNvim(t, server, transport)
		})
	}
}

// buildServer builds cmd/gathering into dir and returns the binary's path.
func buildServer(ctx context.Context, dir string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the server: %w", err)
	}
	bin := filepath.Join(dir, "gathering")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/gathering")
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// missing skips the test for want of a client, or fails it in CI, where
// every client must be present.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if testenv.InCI() {
		t.Fatalf("CI=true and "+format, args...)
	}
	t.Skipf(format, args...)
}

func runNode(t *testing.T, server func(*testing.T) string) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed (Node 20+ runs acceptance/node)")
	}
	if v, err := exec.Command(node, "--version").Output(); err != nil {
		t.Fatalf("node --version: %v", err)
	} else if major := nodeMajor(string(v)); major < 20 {
		missing(t, "node %s is too old; acceptance/node needs Node 20+ (--test-concurrency, a stable node:test)", strings.TrimSpace(string(v)))
	}
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "vscode-languageserver-protocol", "package.json")); err != nil {
		missing(t, "acceptance/node/node_modules is not installed; run: (cd acceptance/node && npm ci)")
	}
	// Most of a test is waiting on the server, so run more files at once than
	// node's default of one per core less one.
	env := []string{"GATHERING_BIN=" + server(t)}
	if bin := langserversBin(); bin != "" {
		// The language scenarios run gopls, pyright and
		// typescript-language-server from here through the server's PATH.
		env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	} else {
		t.Log("no language servers installed (run scripts/langservers); their scenarios skip, or fail under CI=true")
	}
	out := run(t, dir, env, node, "--test", "--test-reporter=spec", "--test-concurrency=4")
	// The spec reporter ends with "ℹ pass N" and "ℹ fail N".
	if n := count(out, `(?m)^ℹ pass (\d+)$`); n == 0 {
		t.Errorf("node --test reported no passing tests")
	}
}

// langserversBin returns the directory scripts/langservers installs the
// pinned language servers into, or "" when it does not exist.
func langserversBin() string {
	dir := os.Getenv("GATHERING_LANGSERVERS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".cache", "gathering", "langservers")
	}
	bin := filepath.Join(dir, "bin")
	if fi, err := os.Stat(bin); err != nil || !fi.IsDir() {
		return ""
	}
	return bin
}

func runNvim(t *testing.T, server func(*testing.T) string, transport string) {
	nvim, err := exec.LookPath("nvim")
	if err != nil {
		missing(t, "nvim is not installed (apt-get install neovim)")
	}
	if transport == "tcp" {
		if _, err := exec.LookPath("nc"); err != nil {
			missing(t, "nc is not installed (apt-get install netcat-openbsd); Neovim 0.7 reaches TCP servers through it")
		}
	}
	script, err := filepath.Abs(filepath.Join("nvim", "sync.lua"))
	if err != nil {
		t.Fatal(err)
	}
	// Keep Neovim's state, cache and LSP log out of the user's home.
	home := t.TempDir()
	env := []string{
		"GATHERING_BIN=" + server(t),
		"GATHERING_TRANSPORT=" + transport,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
	}
	out := run(t, filepath.Dir(script), env, nvim, "--headless", "--clean", "-n", "-c", "luafile "+script)
	if n := count(out, `(?m)^(\d+) passed, 0 failed$`); n == 0 {
		t.Errorf("the Neovim script did not report any passing check")
	}
}

// run runs a client with extra environment in dir, streaming its output to
// the test log line by line, and fails the test if it exits non-zero. It
// returns the output. The client and everything it started run in a
// process group of their own, which is killed when the client is done.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// TMPDIR: whatever a client leaves behind goes when the test ends.
	cmd.Env = append(clientEnv(), append(env, "TMPDIR="+t.TempDir())...)
	log := &logWriter{t: t}
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.WaitDelay = 5 * time.Second
	ownProcessGroup(cmd)
	t.Logf("running %s %v", name, args)
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
		killProcessGroup(cmd)
	}
	log.flush()
	switch {
	case ctx.Err() != nil && t.Context().Err() == nil:
		t.Errorf("%s did not finish within %v", name, clientTimeout)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Errorf("%s exited with code %d", name, exit.ExitCode())
		} else {
			t.Errorf("%s: %v", name, err)
		}
	}
	return log.output()
}

// clientEnv is the environment without the server's GATHERING_* settings,
// which the servers the clients start would otherwise pick up, but with the
// knobs of the client scripts (GATHERING_SEED, GATHERING_EDITS).
func clientEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GATHERING_") && name != "GATHERING_SEED" && name != "GATHERING_EDITS" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// nodeMajor returns the major version in node --version output ("v20.1.0"),
// or 0.
func nodeMajor(version string) int {
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(version), "v"), ".")
	n, _ := strconv.Atoi(major)
	return n
}

// count returns the number captured by the last match of pattern in out,
// or 0.
func count(out, pattern string) int {
	m := regexp.MustCompile(pattern).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// logWriter sends each complete line written to it to the test log, and
// keeps all output. It is safe for concurrent use.
type logWriter struct {
	t       *testing.T
	mu      sync.Mutex
	partial []byte
	all     strings.Builder
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.t.Log(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
}

// flush logs a last line that had no newline.
func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.t.Log(string(w.partial))
		w.partial = nil
	}
}

// output returns everything written so far.
func (w *logWriter) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}
