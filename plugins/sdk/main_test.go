package sdk_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/sdk"
	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// modeEnv makes the test binary a plugin (or the plugin's short-lived
// parent) instead of running tests; see TestMain.
const modeEnv = "SDK_TEST_MODE"

func TestMain(m *testing.M) {
	switch os.Getenv(modeEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		sdk.Serve(testServer())
	case "stdio":
		if err := sdk.ServeStdio(testServer(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "raw":
		sdk.ServeRaw(sdk.Info{Name: "raw", Version: "0.0.2"}, func(ctx context.Context, t sdk.Transport) error {
			for {
				msg, err := t.Read()
				if err != nil {
					return nil
				}
				if err := t.Write(append([]byte("echo:"), msg...)); err != nil {
					return err
				}
			}
		})
	case "parent":
		os.Exit(startOrphan())
	default:
		fmt.Fprintln(os.Stderr, "unknown", modeEnv)
		os.Exit(2)
	}
}

// testServer is the plugin the subprocess tests and benchmarks talk to.
func testServer() *sdk.Server {
	return &sdk.Server{
		Info: sdk.Info{Name: "test", Version: "1.2.3"},
		Requests: map[string]sdk.Handler{
			"initialize": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
				return map[string]any{"capabilities": map[string]any{"hoverProvider": true}}, nil
			},
			"echo": func(_ context.Context, _ *sdk.Conn, params json.RawMessage) (any, error) {
				return params, nil
			},
			"big": func(_ context.Context, _ *sdk.Conn, params json.RawMessage) (any, error) {
				var n int
				if err := json.Unmarshal(params, &n); err != nil {
					return nil, &sdk.Error{Code: sdk.CodeInvalidParams, Message: err.Error()}
				}
				return strings.Repeat("x", n), nil
			},
			"ask": func(ctx context.Context, c *sdk.Conn, params json.RawMessage) (any, error) {
				if err := c.Notify(ctx, "window/logMessage", map[string]any{"type": 3, "message": "asking"}); err != nil {
					return nil, err
				}
				var answer any
				err := c.Call(ctx, "workspace/configuration", params, &answer)
				return answer, err
			},
		},
	}
}

// startOrphan runs as the "parent" mode: it starts the test binary as a
// plugin (with the magic cookie, as go-plugin would), waits for its
// handshake line, prints the plugin's pid and exits, orphaning the plugin.
// The plugin's stderr goes to the file named by SDK_TEST_STDERR.
func startOrphan() int {
	stderr, err := os.Create(os.Getenv("SDK_TEST_STDERR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), modeEnv+"=serve",
		pluginv1.Handshake.MagicCookieKey+"="+pluginv1.Handshake.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS="+strconv.Itoa(pluginv1.APIVersion))
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "1|1|unix|") {
		fmt.Fprintf(os.Stderr, "handshake line %q: %v\n", line, err)
		return 1
	}
	fmt.Println(cmd.Process.Pid)
	return 0
}

// testEnv is the environment of every subprocess: a race-built binary
// otherwise lingers a second at exit.
func testEnv(mode string) []string {
	return []string{modeEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"}
}

// frame writes one LSP stdio frame.
func frame(w io.Writer, body []byte) error {
	_, err := fmt.Fprintf(w, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

// readFrame reads one LSP stdio frame; it is the tests' own reader, kept
// apart from the SDK's.
func readFrame(r *bufio.Reader) ([]byte, error) {
	n := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, err = strconv.Atoi(v)
			if err != nil {
				return nil, err
			}
		}
	}
	if n < 0 {
		return nil, errors.New("frame without Content-Length")
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return body, err
}

// reply is a message from the plugin, with every field kept raw so that
// tests can check the exact bytes.
type reply struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *sdk.Error      `json:"error"`
}

func parseReply(t testing.TB, data []byte) reply {
	t.Helper()
	var r reply
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("plugin sent %q, not JSON: %v", data, err)
	}
	if r.JSONRPC != "2.0" {
		t.Fatalf("plugin sent %q without jsonrpc 2.0", data)
	}
	return r
}

const timeout = 10 * time.Second
