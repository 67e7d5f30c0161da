package launch_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/internal/testenv"
	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sandbox"
	"github.com/gathering-dev/gathering/plugins/sdk"
)

// The test binary is its own launcher and its own built-in image, as the
// gathering binary is in production: TestMain dispatches the two commands
// cmd/gathering dispatches, plus a stdio server for the overhead benchmark.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case sandbox.LauncherCommand:
			os.Exit(sandbox.LauncherMainWith(os.Args[2:], runBuiltin))
		case builtin.RunCommand:
			os.Exit(runBuiltin(os.Args))
		case hostCommand:
			os.Exit(runHost(os.Args[2:]))
		case stdioCommand:
			if err := sdk.ServeStdio(echoServer("echo", "1.0.0"), os.Stdin, os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// runBuiltin is `plugin-run NAME ARGS...` given its whole argv, for the
// test built-ins and the real ones; the launcher calls it in process.
func runBuiltin(argv []string) int { return builtin.Main(argv, testBuiltins()...) }

const (
	stdioCommand = "launch-test-stdio"
	hostCommand  = "launch-test-host"
)

// runHost is a host process for TestHostKilled: it starts the echo
// built-in (sandboxed, or not with "nons"), prints the plugin's pid and
// waits to be killed.
func runHost(args []string) int {
	cfg := launch.Config{Builtins: []string{"echo"}, CacheDir: args[0], Test: launch.TestConfig{Builtins: testBuiltins()},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), DisableNamespaces: len(args) > 1 && args[1] == "nons"}
	set, err := launch.Load(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	i, err := launch.Start(context.Background(), set.Lookup("echo"), launch.StartOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(i.Status().PID)
	select {}
}

// testBuiltins are built-ins made of this test binary: echo is a small
// sdk server; liar says it is version 1.0.0 while its manifest says 2.0.0.
func testBuiltins() []builtin.Builtin {
	return []builtin.Builtin{
		{Manifest: testManifest("echo", "1.0.0"), Run: func([]string) int { sdk.Serve(echoServer("echo", "1.0.0")); return 0 }},
		{Manifest: testManifest("liar", "2.0.0"), Run: func([]string) int { sdk.Serve(echoServer("liar", "1.0.0")); return 0 }},
		{Manifest: testManifest("stdiomute", "1.0.0"), Stdio: true, Run: func([]string) int {
			// Answers the first request, then never reads its input again.
			t := sdk.NewStdioTransport(os.Stdin, os.Stdout, 1<<20)
			msg, err := t.Read()
			if err != nil {
				return 1
			}
			var req struct{ ID json.RawMessage }
			json.Unmarshal(msg, &req)
			t.Write([]byte(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":"listening no more"}`))
			select {}
		}},
		{Manifest: testManifest("stdioecho", "1.0.0"), Stdio: true, Run: func([]string) int {
			if os.Getenv(builtin.StdioEnv) != "1" {
				fmt.Fprintln(os.Stderr, "stdioecho: started without", builtin.StdioEnv)
				return 2
			}
			if err := sdk.ServeStdio(echoServer("stdioecho", "1.0.0"), os.Stdin, os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			return 0
		}},
	}
}

func testManifest(name, version string) *manifest.Manifest {
	return &manifest.Manifest{
		Schema: 1, Name: name, Version: version, Publisher: "test",
		Protocol:    manifest.Protocol{PluginAPI: []int{1}},
		Languages:   manifest.Languages{IDs: []string{name}, Activation: "on-language"},
		Permissions: manifest.Permissions{Network: "none", UntrustedWorkspace: "supported"},
		Limits:      manifest.DefaultLimits(),
	}
}

// echoServer answers echo with its params, sleep by waiting for its
// cancellation, notify-me by sending N window/logMessage notifications
// before answering, and ask by calling the host's test/question.
func echoServer(name, version string) *sdk.Server {
	return &sdk.Server{
		Info: sdk.Info{Name: name, Version: version},
		Requests: map[string]sdk.Handler{
			"initialize": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
				return map[string]any{"capabilities": map[string]any{}}, nil
			},
			"echo": func(_ context.Context, _ *sdk.Conn, p json.RawMessage) (any, error) {
				return p, nil
			},
			"sleep": func(ctx context.Context, _ *sdk.Conn, _ json.RawMessage) (any, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			},
			"notify-me": func(ctx context.Context, c *sdk.Conn, p json.RawMessage) (any, error) {
				var n int
				json.Unmarshal(p, &n)
				for k := range n {
					if err := c.Notify(ctx, "window/logMessage", map[string]any{"type": 3, "message": fmt.Sprint(k)}); err != nil {
						return nil, err
					}
				}
				return n, nil
			},
			"ask": func(ctx context.Context, c *sdk.Conn, p json.RawMessage) (any, error) {
				var answer string
				err := c.Call(ctx, "test/question", p, &answer)
				return answer, err
			},
			"big": func(_ context.Context, _ *sdk.Conn, p json.RawMessage) (any, error) {
				var n int
				json.Unmarshal(p, &n)
				return strings.Repeat("z", n), nil
			},
			"pid": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
				return os.Getpid(), nil
			},
			"exit": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
				os.Exit(3)
				return nil, nil
			},
		},
	}
}

var (
	buildMu sync.Mutex
	// buildDir holds the plugin binaries go build makes, once per test
	// run; TestMain removes it.
	buildDir string
	built    = map[string]string{}
)

// buildPlugin builds the main package pkg (module-relative) once per run
// and returns the binary.
func buildPlugin(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[pkg]; ok {
		return b
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "launch-test-bin-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "github.com/gathering-dev/gathering/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// signer is a test publisher key and the trust config that accepts it.
type signer struct {
	priv  ed25519.PrivateKey
	trust *manifest.Trust
}

func newSigner(t testing.TB, publisher string) *signer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	trust, err := manifest.ParseTrust(fmt.Appendf(nil, "[[trusted_key]]\nid = %q\ned25519 = %q\npublishers = [%q]\n",
		manifest.KeyID(pub), manifest.EncodePublicKey(pub), publisher))
	if err != nil {
		t.Fatal(err)
	}
	return &signer{priv: priv, trust: trust}
}

// pluginDir makes root/name holding a copy of bin and a manifest signed by
// s (unsigned when s is nil). extra is appended to the manifest.
func pluginDir(t testing.TB, s *signer, root, name, version, bin, extra string) string {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir, m := testenv.PluginDir(t, root, name, version, data, extra)
	if s != nil {
		if err := os.WriteFile(filepath.Join(dir, manifest.SignatureFile), manifest.Sign(s.priv, m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testLogger logs to the test at Info and above.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// config is a Config for tests: the test built-ins only (plus names),
// a private cache dir, the test's log.
func config(t testing.TB, builtins ...string) launch.Config {
	return launch.Config{
		Logger:   testLogger(t),
		Builtins: append([]string{}, builtins...),
		CacheDir: t.TempDir(),
		Test:     launch.TestConfig{Builtins: testBuiltins()},
	}
}

func load(t testing.TB, cfg launch.Config) *launch.Set {
	t.Helper()
	set, err := launch.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	return set
}

func start(t testing.TB, set *launch.Set, name string, opts launch.StartOptions) *launch.Instance {
	t.Helper()
	p := set.Lookup(name)
	if p == nil {
		for _, q := range set.Plugins() {
			t.Logf("plugin %s: refused %v", q.Name(), q.Refused)
		}
		t.Fatalf("plugin %s not loaded", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	i, err := launch.Start(ctx, p, opts)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { i.Close() })
	return i
}

// recorder is a Handler that keeps what the plugin sent.
type recorder struct {
	mu      sync.Mutex
	notes   []string // methods
	answers map[string]any
	count   map[string]int
	changed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{answers: map[string]any{}, count: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (r *recorder) Notification(_ context.Context, method string, params json.RawMessage) {
	if len(params) > 1024 {
		params = params[:1024] // a flood would otherwise keep a gigabyte
	}
	r.mu.Lock()
	r.notes = append(r.notes, method+" "+string(params))
	r.count[method]++
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) Request(_ context.Context, method string, params json.RawMessage) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.answers[method]; ok {
		return a, nil
	}
	return nil, errors.New("no answer for " + method)
}

func (r *recorder) n(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[method]
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.notes)
}

var _ io.Writer = testWriter{}
