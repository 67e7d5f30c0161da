package sdk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

type session = grpc.BidiStreamingClient[pluginv1.Frame, pluginv1.Frame]

// launch starts the test binary in mode through go-plugin, as the host does,
// and returns the plugin's client and go-plugin's handle on it.
func launch(t testing.TB, mode string) (pluginv1.LanguagePluginClient, *plugin.Client) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = testEnv(mode)
	stderr := new(syncBuffer)
	t.Cleanup(func() { // after Kill, which is registered later
		if strings.Contains(stderr.String(), "DATA RACE") || strings.Contains(stderr.String(), "panic:") {
			t.Errorf("the plugin's stderr:\n%s", stderr)
		}
	})
	client := plugin.NewClient(&plugin.ClientConfig{
		Stderr:           stderr,
		HandshakeConfig:  pluginv1.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.APIVersion: {pluginv1.PluginKey: &pluginv1.GRPCPlugin{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  pluginv1.DialOptions(0),
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     timeout,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start the plugin: %v", err)
	}
	raw, err := rpc.Dispense(pluginv1.PluginKey)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	return raw.(pluginv1.LanguagePluginClient), client
}

func openSession(t testing.TB, c pluginv1.LanguagePluginClient) session {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := c.Session(ctx)
	if err != nil {
		t.Fatalf("open a session: %v", err)
	}
	return s
}

func exchange(t testing.TB, s session, msg string) reply {
	t.Helper()
	if err := s.Send(&pluginv1.Frame{Message: []byte(msg)}); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
	f, err := s.Recv()
	if err != nil {
		t.Fatalf("receive the answer to %s: %v", msg, err)
	}
	return parseReply(t, f.Message)
}

func TestServeThroughGoPlugin(t *testing.T) {
	c, client := launch(t, "serve")
	info, err := c.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil || info.Name != "test" || info.Version != "1.2.3" || info.Api != pluginv1.APIVersion {
		t.Fatalf("GetInfo = %v, %v; want test 1.2.3 api %d", info, err, pluginv1.APIVersion)
	}

	s := openSession(t, c)
	if r := exchange(t, s, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`); string(r.Result) != `{"capabilities":{"hoverProvider":true}}` {
		t.Fatalf("initialize = %s %v", r.Result, r.Error)
	}
	// The plugin notifies and calls the host over the same stream.
	if n := exchange(t, s, `{"jsonrpc":"2.0","id":"a","method":"ask","params":{"items":[{"section":"x"}]}}`); n.Method != "window/logMessage" {
		t.Fatalf("got %+v, want window/logMessage", n)
	}
	f, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	call := parseReply(t, f.Message)
	if call.Method != "workspace/configuration" || string(call.Params) != `{"items":[{"section":"x"}]}` {
		t.Fatalf("got %+v, want the workspace/configuration call", call)
	}
	if r := exchange(t, s, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":[{"tabs":4}]}`, call.ID)); string(r.ID) != `"a"` || string(r.Result) != `[{"tabs":4}]` {
		t.Fatalf("ask = %s %s %v", r.ID, r.Result, r.Error)
	}
	// A result over the 16 MiB cap is refused by the SDK with -32603 and
	// the session lives on (gRPC itself would have ended the stream).
	big := strconv.Itoa(pluginv1.DefaultMaxMessageBytes)
	if r := exchange(t, s, `{"jsonrpc":"2.0","id":2,"method":"big","params":`+big+`}`); r.Error == nil || r.Error.Code != -32603 {
		t.Fatalf("big = %v, want -32603", r.Error)
	}
	if r := exchange(t, s, `{"jsonrpc":"2.0","id":3,"method":"echo","params":"alive"}`); string(r.Result) != `"alive"` {
		t.Fatalf("echo after the refusal = %s %v", r.Result, r.Error)
	}
	// shutdown, then exit ends this session cleanly...
	if r := exchange(t, s, `{"jsonrpc":"2.0","id":4,"method":"shutdown"}`); string(r.Result) != "null" {
		t.Fatalf("shutdown = %s %v", r.Result, r.Error)
	}
	if err := s.Send(&pluginv1.Frame{Message: []byte(`{"jsonrpc":"2.0","method":"exit"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("after exit Recv = %v, want io.EOF", err)
	}
	// ...and the plugin serves a new one.
	if r := exchange(t, openSession(t, c), `{"jsonrpc":"2.0","id":1,"method":"echo","params":[]}`); string(r.Result) != "[]" {
		t.Fatalf("echo in a second session = %s %v", r.Result, r.Error)
	}
	client.Kill()
	if !client.Exited() {
		t.Fatal("the plugin did not exit on Kill")
	}
}

func TestServeRawThroughGoPlugin(t *testing.T) {
	c, _ := launch(t, "raw")
	info, err := c.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil || info.Name != "raw" || info.Version != "0.0.2" {
		t.Fatalf("GetInfo = %v, %v", info, err)
	}
	s := openSession(t, c)
	for _, msg := range []string{"one", "two", "not json at all"} {
		if err := s.Send(&pluginv1.Frame{Message: []byte(msg)}); err != nil {
			t.Fatal(err)
		}
		f, err := s.Recv()
		if err != nil || string(f.Message) != "echo:"+msg {
			t.Fatalf("raw echo of %q = %q, %v", msg, f.GetMessage(), err)
		}
	}
	// run returning ends the stream cleanly.
	s.CloseSend()
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend Recv = %v, want io.EOF", err)
	}
}

// TestPluginExitsWhenTheHostDies orphans a plugin (its parent starts it
// and exits without a word) and checks that it exits by itself.
func TestPluginExitsWhenTheHostDies(t *testing.T) {
	stderr := filepath.Join(t.TempDir(), "stderr")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(testEnv("parent"), "SDK_TEST_STDERR="+stderr)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the plugin's parent: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("the parent printed %q, not a pid", out)
	}
	t.Cleanup(func() { killIfAlive(pid) })
	if !alive(pid) {
		t.Fatal("the plugin was gone before its parent exited")
	}
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the orphaned plugin (pid %d) is still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(stderr)
	if !strings.Contains(string(log), "is gone; exiting") {
		t.Fatalf("the plugin's stderr does not say why it exited: %q", log)
	}
}

// alive says whether pid runs (a zombie nobody reaps counts as gone).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func killIfAlive(pid int) {
	if p, err := os.FindProcess(pid); err == nil && alive(pid) {
		p.Kill()
	}
}

// TestServeRefusesToRunByHand checks go-plugin's notice for a plugin started
// without the host's magic cookie, and that nothing else reaches stdout.
func TestServeRefusesToRunByHand(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = testEnv("serve")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("a plugin run by hand ended with %v, want exit status 1", err)
	}
	if stdout.Len() != 0 {
		t.Fatalf("a plugin run by hand wrote %q to stdout", stdout.String())
	}
}

// syncBuffer is a bytes.Buffer safe for go-plugin's writer and the test.
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
