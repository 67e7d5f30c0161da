package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/internal/rpc"
	"github.com/gathering-dev/gathering/internal/testenv"
	"github.com/gathering-dev/gathering/plugins/sandbox"
	"github.com/gathering-dev/gathering/protocol"
	"github.com/gathering-dev/gathering/store"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the gathering command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gathering-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gathering")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running `gathering serve --stdio` with a client on its pipes.
type proc struct {
	cmd    *exec.Cmd
	conn   *rpc.Conn
	stderr *syncBuffer
	done   chan error
}

// syncBuffer is a bytes.Buffer the process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type nopHandler struct{}

func (nopHandler) Handle(context.Context, *rpc.Conn, *rpc.Request) {}

type pipes struct {
	io.Reader
	io.WriteCloser
}

func startStdio(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--stdio"}, args...)...)
	cmd.Env = append(os.Environ(), "GATHERING_CONFIG="+filepath.Join(t.TempDir(), "none.toml"))
	// An explicit config that does not exist is an error; point at an empty one.
	os.WriteFile(strings.TrimPrefix(cmd.Env[len(cmd.Env)-1], "GATHERING_CONFIG="), nil, 0o600)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("server stderr:\n%s", p.stderr)
		}
	})
	p.conn = rpc.NewConn(t.Context(), pipes{out, in}, nopHandler{}, nil)
	p.conn.Start()
	return p
}

func (p *proc) call(t *testing.T, method string, params, result any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return p.conn.Call(ctx, method, params, result)
}

func (p *proc) initialize(t *testing.T, folder string) {
	t.Helper()
	params := map[string]any{"capabilities": map[string]any{}}
	if folder != "" {
		params["workspaceFolders"] = []any{map[string]any{"uri": "file://" + folder, "name": filepath.Base(folder)}}
	}
	if err := p.call(t, "initialize", params, nil); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	p.conn.Notify(t.Context(), "initialized", map[string]any{})
}

func (p *proc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit")
		return -1
	}
}

func TestTwoStdioProcessesShareOneSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "shared.db")
	var procs []*proc
	for i := range 2 {
		folder := filepath.Join(dir, fmt.Sprintf("folder%d", i))
		os.Mkdir(folder, 0o755)
		p := startStdio(t, "--database", db)
		p.initialize(t, folder)
		procs = append(procs, p)
	}
	// Both write at once.
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			for j := range 20 {
				root := filepath.Join(dir, fmt.Sprintf("p%d-%d", i, j))
				os.Mkdir(root, 0o755)
				if err := p.call(t, protocol.MethodProjectCreate, protocol.ProjectCreateParams{Name: root, Root: root}, nil); err != nil {
					t.Errorf("process %d create %d: %v", i, j, err)
				}
			}
		})
	}
	wg.Wait()
	for i, p := range procs {
		var list protocol.ProjectListResult
		if err := p.call(t, protocol.MethodProjectList, protocol.ProjectListParams{Limit: 1000}, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Projects) != 42 {
			t.Errorf("process %d sees %d projects, want 42 (2 folders + 40 created)", i, len(list.Projects))
		}
	}
	for _, p := range procs {
		p.call(t, "shutdown", nil, nil)
		p.conn.Notify(t.Context(), "exit", nil)
		if code := p.exitCode(t); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
	}
}

func TestStdioExitCodes(t *testing.T) {
	p := startStdio(t, "--database", filepath.Join(t.TempDir(), "g.db"))
	p.initialize(t, "")
	p.conn.Notify(t.Context(), "exit", nil)
	if code := p.exitCode(t); code != 1 {
		t.Errorf("exit without shutdown: code %d, want 1", code)
	}
}

func TestStdioLogsNeverReachStdout(t *testing.T) {
	// Debug logging on: every log line must go to stderr, or the client's
	// reader would choke on it.
	p := startStdio(t, "--database", filepath.Join(t.TempDir(), "g.db"), "--log-level", "debug")
	p.initialize(t, "")
	var st protocol.StatusResult
	if err := p.call(t, protocol.MethodStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Store.Kind != "sqlite" || st.Session.Transport != "stdio" {
		t.Errorf("status = %+v", st)
	}
	p.call(t, "shutdown", nil, nil)
	p.conn.Notify(t.Context(), "exit", nil)
	p.exitCode(t)
	if !strings.Contains(p.stderr.String(), "level=DEBUG") {
		t.Errorf("no debug logs on stderr:\n%s", p.stderr)
	}
}

func TestSIGTERMDrainsRunningRequests(t *testing.T) {
	p := startStdio(t, "--database", filepath.Join(t.TempDir(), "g.db"), "--debug-methods")
	p.initialize(t, "")
	res := make(chan error, 1)
	go func() { res <- p.call(t, protocol.MethodDebugSleep, protocol.DebugSleepParams{MS: 700}, nil) }()
	time.Sleep(200 * time.Millisecond) // let the request start
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-res; err != nil {
		t.Errorf("request running at SIGTERM: %v, want it to finish", err)
	}
	if code := p.exitCode(t); code != 0 {
		t.Errorf("exit code after a clean drain = %d, want 0", code)
	}
}

func TestSIGTERMDrainDeadline(t *testing.T) {
	p := startStdio(t, "--database", filepath.Join(t.TempDir(), "g.db"), "--debug-methods", "--drain-timeout", "200ms")
	p.initialize(t, "")
	go p.call(t, protocol.MethodDebugSleep, protocol.DebugSleepParams{MS: 30_000}, nil)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exitCode(t); code != 1 {
		t.Errorf("exit code after the drain deadline = %d, want 1", code)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to stop after the drain deadline", d)
	}
}

func TestTCPServeAndSIGTERM(t *testing.T) {
	cmd := exec.Command(binary(t), "serve", "--listen", "127.0.0.1:0", "--database", filepath.Join(t.TempDir(), "g.db"))
	cmd.Env = append(os.Environ(), "GATHERING_CONFIG=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := ""
	sc := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatal("server never said where it listens")
	}
	go io.Copy(io.Discard, stderr)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v, want exit 0", err)
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	var stderr bytes.Buffer
	code := run(t.Context(), []string{"serve", "--listen", "0.0.0.0:0", "--config", writeConfig(t, "")}, nil, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "not loopback") || !strings.Contains(stderr.String(), "--insecure") {
		t.Errorf("code %d, stderr %q; want a refusal", code, stderr.String())
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSettingsPrecedence(t *testing.T) {
	file := writeConfig(t, "listen = \"127.0.0.1:1111\"\nlog-level = \"warn\"\nmax-in-flight = 7\n")
	env := map[string]string{
		"GATHERING_CONFIG":    file,
		"GATHERING_LOG_LEVEL": "error",
		"GATHERING_LISTEN":    "127.0.0.1:2222",
	}
	getenv := func(k string) string { return env[k] }
	var c config
	fs := newFlagSet("serve", &c, scopeServe, io.Discard, "")
	if err := parseSettings(fs, &c, []string{"--listen", "127.0.0.1:3333"}, getenv); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:3333" {
		t.Errorf("listen = %s, want the flag's 127.0.0.1:3333", c.Listen)
	}
	if c.LogLevel != "error" {
		t.Errorf("log-level = %s, want the environment's error", c.LogLevel)
	}
	if c.MaxInFlight != 7 {
		t.Errorf("max-in-flight = %d, want the file's 7", c.MaxInFlight)
	}
	if c.MaxSessions != 256 {
		t.Errorf("max-sessions = %d, want the default 256", c.MaxSessions)
	}
}

func TestDefaultConfigFileAndPrecedence(t *testing.T) {
	for _, test := range []struct {
		name      string
		xdgConfig string // "" leaves the user config dir to HOME
		dir       func(home, xdg string) string
	}{
		{"XDG_CONFIG_HOME", "xdg", func(_, xdg string) string { return xdg }},
		{"HOME", "", func(home, _ string) string { return filepath.Join(home, ".config") }},
	} {
		t.Run(test.name, func(t *testing.T) {
			home, xdg := t.TempDir(), ""
			if test.xdgConfig != "" {
				xdg = t.TempDir()
			}
			t.Setenv("HOME", home)
			t.Setenv("XDG_CONFIG_HOME", xdg)
			t.Setenv("GATHERING_CONFIG", "")
			t.Setenv("GATHERING_LISTEN", "")
			file := filepath.Join(test.dir(home, xdg), "gathering", "config.toml")
			if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte("listen = \"127.0.0.1:1111\"\nmax-in-flight = 7\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			parse := func(args ...string) config {
				t.Helper()
				var c config
				fs := newFlagSet("serve", &c, scopeServe, io.Discard, "")
				if err := parseSettings(fs, &c, args, os.Getenv); err != nil {
					t.Fatal(err)
				}
				return c
			}

			c := parse()
			if c.ConfigFile != file {
				t.Errorf("config file = %s, want the default %s", c.ConfigFile, file)
			}
			if c.Listen != "127.0.0.1:1111" || c.MaxInFlight != 7 {
				t.Errorf("from the default file: listen %s, max-in-flight %d; want 127.0.0.1:1111 and 7", c.Listen, c.MaxInFlight)
			}
			t.Setenv("GATHERING_LISTEN", "127.0.0.1:2222")
			if c := parse(); c.Listen != "127.0.0.1:2222" || c.MaxInFlight != 7 {
				t.Errorf("environment over file: listen %s, max-in-flight %d; want 127.0.0.1:2222 and the file's 7", c.Listen, c.MaxInFlight)
			}
			if c := parse("--listen", "127.0.0.1:3333"); c.Listen != "127.0.0.1:3333" {
				t.Errorf("flag over environment and file: listen %s, want 127.0.0.1:3333", c.Listen)
			}
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
			t.Setenv("GATHERING_LISTEN", "")
			if c := parse(); c.Listen != "127.0.0.1:7998" || c.MaxInFlight != 256 {
				t.Errorf("no file, no environment: listen %s, max-in-flight %d; want the defaults 127.0.0.1:7998 and 256", c.Listen, c.MaxInFlight)
			}
		})
	}
}

func TestServeHelpDocumentsEverySetting(t *testing.T) {
	var help bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--help"}, nil, io.Discard, &help); code != 0 {
		t.Fatalf("serve --help: code %d", code)
	}
	// Each setting is a block: "  --name [arg]", its text, then its env line.
	blocks := map[string][]string{}
	var current string
	for line := range strings.Lines(help.String()) {
		line = strings.TrimRight(line, "\n")
		if rest, ok := strings.CutPrefix(line, "  --"); ok {
			current, _, _ = strings.Cut(rest, " ")
			blocks[current] = nil
			continue
		}
		if current != "" {
			blocks[current] = append(blocks[current], strings.TrimSpace(line))
		}
	}
	fs := newFlagSet("serve", &config{}, scopeServe, io.Discard, "")
	fs.VisitAll(func(f *flag.Flag) {
		b, ok := blocks[f.Name]
		if !ok {
			t.Errorf("serve --help lacks --%s", f.Name)
			return
		}
		if len(b) < 2 || b[0] == "" || strings.HasPrefix(b[0], "env ") {
			t.Errorf("--%s has no description in serve --help: %q", f.Name, b)
			return
		}
		if env, _, _ := strings.Cut(b[1], ","); env != "env "+envName(f.Name) {
			t.Errorf("--%s: help says %q, want its variable %s", f.Name, b[1], envName(f.Name))
		}
	})
	if !strings.Contains(strings.Join(blocks["listen"], "\n"), "default 127.0.0.1:7998") {
		t.Errorf("serve --help does not show the default address 127.0.0.1:7998: %q", blocks["listen"])
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, test := range []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"unknown key", "lisen = \"x\"\n", nil, `unknown setting "lisen"`},
		{"bad toml", "listen = \n", nil, "config"},
		{"bad value in file", "max-in-flight = \"lots\"\n", nil, "max-in-flight"},
		{"bad env value", "", map[string]string{"GATHERING_DRAIN_TIMEOUT": "soon"}, "GATHERING_DRAIN_TIMEOUT"},
	} {
		t.Run(test.name, func(t *testing.T) {
			env := map[string]string{"GATHERING_CONFIG": writeConfig(t, test.file)}
			for k, v := range test.env {
				env[k] = v
			}
			var c config
			fs := newFlagSet("serve", &c, scopeServe, io.Discard, "")
			err := parseSettings(fs, &c, nil, func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("error = %v, want one mentioning %q", err, test.want)
			}
		})
	}
	var c config
	fs := newFlagSet("serve", &c, scopeServe, io.Discard, "")
	if err := parseSettings(fs, &c, []string{"--config", "/nonexistent/gathering.toml"}, func(string) string { return "" }); err == nil {
		t.Error("a named config file that does not exist was accepted")
	}
}

func TestMigrateAndDoctor(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, "")
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"doctor", "--config", cfg, "--data-dir", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("doctor before migrate: code %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "does not exist yet") {
		t.Errorf("doctor on a fresh data dir:\n%s", out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"migrate", "--config", cfg, "--data-dir", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("migrate: code %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "schema version 2 (was 0, latest 2)") {
		t.Errorf("migrate output %q", out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"doctor", "--config", cfg, "--data-dir", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("doctor: code %d\n%s", code, out.String())
	}
	for _, want := range []string{"reachable", "migrations   current", "landlock", "seccomp", "namespaces", "sandbox"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	code := run(t.Context(), []string{"doctor", "--config", cfg, "--database", "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2"}, nil, &out, &errb)
	if code != 1 || strings.Contains(out.String(), "secret") {
		t.Errorf("doctor with an unreachable postgres: code %d (want 1), output:\n%s", code, out.String())
	}
}

// doctorConfig parses doctor's settings from args with an empty config file.
func doctorConfig(t *testing.T, args ...string) *config {
	t.Helper()
	var c config
	fs := newFlagSet("doctor", &c, scopePlugins, io.Discard, "")
	args = append([]string{"--config", writeConfig(t, ""), "--plugins", "none"}, args...)
	if err := parseSettings(fs, &c, args, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	return &c
}

// markOf returns the mark doctor printed on the line for what, or "".
func markOf(out, what string) string {
	for line := range strings.Lines(out) {
		if len(line) > 5 && strings.HasPrefix(line[5:], what+" ") {
			return strings.TrimSpace(line[:4])
		}
	}
	return ""
}

func TestDoctorSandboxGapsAreWarnings(t *testing.T) {
	dir := t.TempDir()
	if code := run(t.Context(), []string{"migrate", "--config", writeConfig(t, ""), "--data-dir", dir}, nil, io.Discard, io.Discard); code != 0 {
		t.Fatalf("migrate: code %d", code)
	}
	bare := sandbox.Capabilities{
		LandlockError:   "function not implemented",
		SeccompError:    "invalid argument",
		NamespaceErrors: map[string]string{"user": "operation not permitted"},
	}
	var out bytes.Buffer
	if code := runDoctor(t.Context(), doctorConfig(t, "--data-dir", dir), bare, &out, io.Discard); code != 0 {
		t.Errorf("doctor on a kernel without Landlock, seccomp or namespaces, healthy store: code %d, want 0\n%s", code, out.String())
	}
	for what, want := range map[string]string{
		"store": "ok", "migrations": "ok",
		"landlock": "warn", "seccomp": "warn", "no_new_privs": "warn", "namespaces": "warn", "cgroup v2": "warn",
	} {
		if got := markOf(out.String(), what); got != want {
			t.Errorf("%s marked %q, want %q:\n%s", what, got, want, out.String())
		}
	}

	full := sandbox.Capabilities{
		LandlockABI: 7, Seccomp: true, NoNewPrivs: true, CgroupV2: true,
		Namespaces: map[string]bool{"user": true, "net": true, "pid": true, "ipc": true, "uts": true},
	}
	out.Reset()
	runDoctor(t.Context(), doctorConfig(t, "--data-dir", dir), full, &out, io.Discard)
	for _, what := range []string{"landlock", "seccomp", "no_new_privs", "namespaces", "cgroup v2"} {
		if got := markOf(out.String(), what); got != "ok" {
			t.Errorf("%s marked %q on a kernel that has it, want ok:\n%s", what, got, out.String())
		}
	}
}

func TestDoctorFailsOnStoreProblems(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	behind := filepath.Join(dir, "empty.db") // an empty file is a SQLite database at schema version 0
	if err := os.WriteFile(behind, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	full := sandbox.Capabilities{
		LandlockABI: 7, Seccomp: true, NoNewPrivs: true, CgroupV2: true,
		Namespaces: map[string]bool{"user": true},
	}
	for _, test := range []struct {
		name, database, failing string
	}{
		{"store path under a regular file", filepath.Join(notADir, "g.db"), "store"},
		{"migrations behind", behind, "migrations"},
	} {
		t.Run(test.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := runDoctor(t.Context(), doctorConfig(t, "--database", test.database), full, &out, io.Discard); code != 1 {
				t.Errorf("code %d, want 1\n%s", code, out.String())
			}
			if got := markOf(out.String(), test.failing); got != "FAIL" {
				t.Errorf("%s marked %q, want FAIL:\n%s", test.failing, got, out.String())
			}
		})
	}
	// The same through the command, on this machine's kernel.
	var out bytes.Buffer
	code := run(t.Context(), []string{"doctor", "--config", writeConfig(t, ""), "--plugins", "none", "--database", filepath.Join(notADir, "g.db")}, nil, &out, io.Discard)
	if code != 1 || markOf(out.String(), "store") != "FAIL" {
		t.Errorf("gathering doctor with a broken store path: code %d, want 1 and a FAIL store line\n%s", code, out.String())
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	if code := run(t.Context(), []string{"version"}, nil, &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "gathering ") {
		t.Errorf("version: code %d, %q", code, out.String())
	}
	if code := run(t.Context(), []string{"frobnicate"}, nil, io.Discard, io.Discard); code != 2 {
		t.Errorf("unknown command: code %d, want 2", code)
	}
	var help bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--help"}, nil, io.Discard, &help); code != 0 {
		t.Errorf("serve --help: code %d", code)
	}
	for _, want := range []string{"--listen", "GATHERING_LISTEN", "--database", "GATHERING_DATABASE_URL", "--max-frame-bytes", "--drain-timeout"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("serve --help lacks %s", want)
		}
	}
}

// withPassword returns dsn with a password in it, and that password: the
// one it already has, or a made-up one that a trust-auth server ignores.
func withPassword(t *testing.T, dsn string) (string, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return dsn, pw
	}
	user := "postgres"
	if u.User != nil && u.User.Username() != "" {
		user = u.User.Username()
	}
	pw := "pw" + rand.Text()
	u.User = url.UserPassword(user, pw)
	return u.String(), pw
}

func TestServeOnPostgres(t *testing.T) {
	dsn, password := withPassword(t, testenv.PostgresURL(t))
	dir := t.TempDir()
	var procs []*proc
	for i := range 2 {
		folder := filepath.Join(dir, fmt.Sprintf("folder%d", i))
		os.Mkdir(folder, 0o755)
		p := startStdio(t, "--database", dsn, "--log-level", "debug")
		p.initialize(t, folder)
		procs = append(procs, p)
	}
	var st protocol.StatusResult
	if err := procs[0].call(t, protocol.MethodStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Store.Kind != "postgres" || st.Store.MigrationVersion < 1 {
		t.Errorf("status store = %+v, want postgres migrated", st.Store)
	}
	for i, p := range procs {
		var list protocol.ProjectListResult
		if err := p.call(t, protocol.MethodProjectList, nil, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Projects) != 2 {
			t.Errorf("instance %d sees %d projects, want both instances' folders", i, len(list.Projects))
		}
		// The store logs where it connects, so the password would be there
		// if redaction failed.
		if !strings.Contains(p.stderr.String(), store.RedactDSN(dsn)) {
			t.Errorf("instance %d never logged its (redacted) database %s:\n%s", i, store.RedactDSN(dsn), p.stderr)
		}
		if strings.Contains(p.stderr.String(), password) {
			t.Errorf("instance %d logged the database password:\n%s", i, p.stderr)
		}
	}
}

func TestListSettings(t *testing.T) {
	file := writeConfig(t, "workspace-exclude = [\"node_modules\", \"dist\"]\ntrusted-roots = \"/srv/a, /srv/b\"\n")
	var c config
	fs := newFlagSet("serve", &c, scopeServe, io.Discard, "")
	env := map[string]string{"GATHERING_CONFIG": file}
	if err := parseSettings(fs, &c, nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.WorkspaceExclude, "|"); got != "node_modules|dist" {
		t.Errorf("workspace-exclude from a TOML array = %q", got)
	}
	if got := strings.Join(c.TrustedRoots, "|"); got != "/srv/a|/srv/b" {
		t.Errorf("trusted-roots from a comma list = %q", got)
	}
	w := workspaceConfig(&c, nil)
	if !w.Trusted(store.Project{Root: "/srv/b"}) || w.Trusted(store.Project{Root: "/srv/c"}) {
		t.Error("trusted-roots do not decide which projects are trusted")
	}
}
