package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// binary is the fault plugin, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faultplugin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "faultplugin")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the fault plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const wait = 30 * time.Second

// fault is a running fault plugin and the host's handles on it.
type fault struct {
	t      *testing.T
	client *plugin.Client
	cmd    *exec.Cmd
	lp     pluginv1.LanguagePluginClient
	marker string // in the plugin's environment, to find its descendants
}

// launch starts the fault plugin through go-plugin with the host capping
// messages at hostCap (0: the default 16 MiB).
func launch(t *testing.T, hostCap int) *fault {
	t.Helper()
	f := &fault{t: t, marker: fmt.Sprintf("FAULTPLUGIN_TEST=%d-%s", os.Getpid(), t.Name())}
	f.cmd = exec.Command(binary)
	f.cmd.Env = []string{f.marker}
	f.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.APIVersion: {pluginv1.PluginKey: &pluginv1.GRPCPlugin{}}},
		Cmd:              f.cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  pluginv1.DialOptions(hostCap),
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     wait,
	})
	t.Cleanup(func() {
		f.client.Kill()
		for range 10 { // whatever the plugin left behind
			pid := findByEnv(f.marker)
			if pid == 0 {
				break
			}
			syscall.Kill(pid, syscall.SIGKILL)
			time.Sleep(10 * time.Millisecond)
		}
	})
	rpc, err := f.client.Client()
	if err != nil {
		t.Fatalf("start the fault plugin: %v", err)
	}
	raw, err := rpc.Dispense(pluginv1.PluginKey)
	if err != nil {
		t.Fatal(err)
	}
	f.lp = raw.(pluginv1.LanguagePluginClient)
	info, err := f.lp.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil || info.Name != "fault" || info.Version != "1.0.0" {
		t.Fatalf("GetInfo = %v, %v; want fault 1.0.0", info, err)
	}
	return f
}

// exitStatus waits for the plugin process to end and returns how.
func (f *fault) exitStatus() syscall.WaitStatus {
	f.t.Helper()
	deadline := time.Now().Add(wait)
	for !f.client.Exited() {
		if time.Now().After(deadline) {
			f.t.Fatal("the plugin did not exit")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// frame is one message from the plugin, or the error that ended the stream.
type frame struct {
	data []byte
	err  error
}

type hostSession struct {
	t      *testing.T
	stream interface {
		Send(*pluginv1.Frame) error
	}
	frames chan frame
	id     int
}

func (f *fault) session() *hostSession {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	stream, err := f.lp.Session(ctx)
	if err != nil {
		f.t.Fatalf("open a session: %v", err)
	}
	s := &hostSession{t: f.t, stream: stream, frames: make(chan frame, 16)}
	go func() {
		for {
			m, err := stream.Recv()
			s.frames <- frame{m.GetMessage(), err}
			if err != nil {
				close(s.frames)
				return
			}
		}
	}()
	s.request("initialize", map[string]any{"capabilities": map[string]any{}})
	if m := s.json(s.next()); !strings.Contains(string(m.Result), `"hoverProvider":true`) {
		f.t.Fatalf("initialize = %s", m.Result)
	}
	return s
}

func (s *hostSession) send(msg map[string]any) {
	s.t.Helper()
	msg["jsonrpc"] = "2.0"
	b, _ := json.Marshal(msg)
	if err := s.stream.Send(&pluginv1.Frame{Message: b}); err != nil {
		s.t.Fatalf("send %s: %v", b, err)
	}
}

func (s *hostSession) request(method string, params any) int {
	s.id++
	s.send(map[string]any{"id": s.id, "method": method, "params": params})
	return s.id
}

// open opens a document with text and asks for a hover on it.
func (s *hostSession) hover(uri, text string) int {
	s.send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{
		"textDocument": map[string]any{"uri": uri, "languageId": "plaintext", "version": 1, "text": text}}})
	return s.request("textDocument/hover", map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 0, "character": 0}})
}

// next returns the next frame, failing after wait.
func (s *hostSession) next() frame {
	s.t.Helper()
	select {
	case f, ok := <-s.frames:
		if !ok {
			s.t.Fatal("the session had already ended")
		}
		return f
	case <-time.After(wait):
		s.t.Fatal("nothing from the plugin in time")
	}
	return frame{}
}

// quiet checks that nothing comes for d.
func (s *hostSession) quiet(d time.Duration) {
	s.t.Helper()
	select {
	case f := <-s.frames:
		s.t.Fatalf("got %q (%v), want nothing", f.data, f.err)
	case <-time.After(d):
	}
}

type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *hostSession) json(f frame) message {
	s.t.Helper()
	if f.err != nil {
		s.t.Fatalf("the session ended: %v", f.err)
	}
	var m message
	if err := json.Unmarshal(f.data, &m); err != nil {
		s.t.Fatalf("the plugin sent %.200q: %v", f.data, err)
	}
	return m
}

// answer reads the answer to id and returns the hover's contents.
func (s *hostSession) answer(id int) string {
	s.t.Helper()
	m := s.json(s.next())
	if string(m.ID) != fmt.Sprint(id) || m.Error != nil {
		s.t.Fatalf("got id %s error %+v, want the answer to %d", m.ID, m.Error, id)
	}
	var h struct{ Contents string }
	if err := json.Unmarshal(m.Result, &h); err != nil {
		s.t.Fatalf("hover result %.200s: %v", m.Result, err)
	}
	return h.Contents
}

func TestAnsweringModes(t *testing.T) {
	f := launch(t, 0)
	s := f.session()
	dir := t.TempDir()

	if got := s.answer(s.hover("file:///a", "hello")); got != "fault: ok" {
		t.Fatalf("plain document: %q", got)
	}

	// write:
	created := filepath.Join(dir, "created")
	if got := s.answer(s.hover("file:///w", "write:"+created)); got != "ok" {
		t.Fatalf("write: %q", got)
	}
	if _, err := os.Stat(created); err != nil {
		t.Fatalf("write: answered ok but %v", err)
	}
	if got := s.answer(s.hover("file:///w2", "write:"+filepath.Join(dir, "no", "such", "dir"))); !strings.Contains(got, "no such file") {
		t.Fatalf("write into a missing directory: %q", got)
	}

	// read:
	long := filepath.Join(dir, "long")
	os.WriteFile(long, bytes.Repeat([]byte("0123456789"), 10), 0o644)
	if got := s.answer(s.hover("file:///r", "read:"+long)); got != strings.Repeat("0123456789", 7)[:64] {
		t.Fatalf("read: %q, want the first 64 bytes", got)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("tiny"), 0o644)
	if got := s.answer(s.hover("file:///r2", "read:"+short)); got != "tiny" {
		t.Fatalf("read of a short file: %q", got)
	}
	if got := s.answer(s.hover("file:///r3", "read:"+filepath.Join(dir, "missing"))); !strings.Contains(got, "no such file") {
		t.Fatalf("read of a missing file: %q", got)
	}

	// connect:
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if got := s.answer(s.hover("file:///c", "connect:"+addr)); got != "ok" {
		t.Fatalf("connect to a listener: %q", got)
	}
	l.Close()
	if got := s.answer(s.hover("file:///c2", "connect:"+addr)); !strings.Contains(got, "refused") {
		t.Fatalf("connect to a closed port: %q", got)
	}

	// The mode follows didChange.
	s.send(map[string]any{"method": "textDocument/didChange", "params": map[string]any{
		"textDocument": map[string]any{"uri": "file:///a", "version": 2}, "contentChanges": []any{map[string]any{"text": " write:" + filepath.Join(dir, "changed") + "\n"}}}})
	if got := s.answer(s.request("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": "file:///a"}, "position": map[string]any{"line": 0, "character": 0}})); got != "ok" {
		t.Fatalf("after didChange: %q", got)
	}
}

func TestHangIgnoresCancel(t *testing.T) {
	f := launch(t, 0)
	s := f.session()
	id := s.hover("file:///h", "hang")
	s.quiet(300 * time.Millisecond)
	s.send(map[string]any{"method": "$/cancelRequest", "params": map[string]any{"id": id}})
	s.quiet(300 * time.Millisecond)
	// The plugin still serves everything else.
	if got := s.answer(s.hover("file:///ok", "fine")); got != "fault: ok" {
		t.Fatalf("beside a hang: %q", got)
	}
}

func TestPanicAnswers32603(t *testing.T) {
	f := launch(t, 0)
	s := f.session()
	id := s.hover("file:///p", "panic")
	if m := s.json(s.next()); string(m.ID) != fmt.Sprint(id) || m.Error == nil || m.Error.Code != -32603 {
		t.Fatalf("panic: %+v, want -32603", m)
	}
	if got := s.answer(s.hover("file:///ok", "fine")); got != "fault: ok" {
		t.Fatalf("after a panic: %q", got)
	}
}

func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("moves a gigabyte")
	}
	f := launch(t, 0)
	s := f.session()
	id := s.hover("file:///f", "flood")
	for i := range floodMessages {
		fr := s.next()
		if fr.err != nil {
			t.Fatalf("notification %d: %v", i, fr.err)
		}
		if i == 0 {
			m := s.json(fr)
			var p struct {
				URI         string
				Diagnostics []json.RawMessage
			}
			if m.Method != "textDocument/publishDiagnostics" || json.Unmarshal(m.Params, &p) != nil || p.URI != "file:///f" || len(p.Diagnostics) != floodDiags {
				t.Fatalf("first flood message: %s with %d diagnostics for %q", m.Method, len(p.Diagnostics), p.URI)
			}
		} else if n := bytes.Count(fr.data, []byte(`"source":"fault"`)); n != floodDiags || !bytes.Contains(fr.data[:80], []byte("publishDiagnostics")) {
			t.Fatalf("flood message %d has %d diagnostics", i, n)
		}
	}
	if got := s.answer(id); got != "fault: ok" {
		t.Fatalf("after the flood: %q", got)
	}
}

func TestMalformed(t *testing.T) {
	f := launch(t, 0)
	s := f.session()
	id := s.hover("file:///m", "malformed")
	if fr := s.next(); fr.err != nil || json.Valid(fr.data) {
		t.Fatalf("first frame %q (%v), want one that is not JSON", fr.data, fr.err)
	}
	if m := s.json(s.next()); string(m.ID) != "987654321" || m.Result == nil {
		t.Fatalf("second frame %+v, want an answer to an unknown id", m)
	}
	if got := s.answer(id); got != "fault: ok" {
		t.Fatalf("malformed then: %q", got)
	}
}

func TestHuge(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 64 MiB")
	}
	// A host that allows 64 MiB receives the 32 MiB answer...
	s := launch(t, 64<<20).session()
	if got := s.answer(s.hover("file:///h", "huge")); len(got) != hugeBytes {
		t.Fatalf("huge answered %d bytes, want %d", len(got), hugeBytes)
	}
	// ...one with the default cap refuses it.
	s = launch(t, 0).session()
	s.hover("file:///h", "huge")
	if fr := s.next(); status.Code(fr.err) != codes.ResourceExhausted {
		t.Fatalf("a 16 MiB host got %d bytes, %v; want ResourceExhausted", len(fr.data), fr.err)
	}
}

func TestCrash(t *testing.T) {
	f := launch(t, 0)
	s := f.session()
	s.hover("file:///c", "crash")
	if fr := s.next(); fr.err == nil {
		t.Fatalf("crash answered %q", fr.data)
	}
	if ws := f.exitStatus(); !ws.Exited() || ws.ExitStatus() != 3 {
		t.Fatalf("crash ended the plugin with %v, want exit status 3", f.cmd.ProcessState)
	}
}

func TestKill(t *testing.T) {
	f := launch(t, 0)
	s := f.session()
	s.hover("file:///k", "kill")
	if fr := s.next(); fr.err == nil {
		t.Fatalf("kill answered %q", fr.data)
	}
	if ws := f.exitStatus(); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("kill ended the plugin with %v, want SIGKILL", f.cmd.ProcessState)
	}
}

func TestGrandchild(t *testing.T) {
	f := launch(t, 0)
	pid := f.cmd.Process.Pid
	s := f.session()
	s.hover("file:///g", "grandchild")
	if fr := s.next(); fr.err == nil {
		t.Fatalf("grandchild answered %q", fr.data)
	}
	// The plugin is gone (a zombie: go-plugin waits for its stderr to close
	// before it reaps it), and a sleep 600 with its environment holds that
	// stderr.
	deadline := time.Now().Add(wait)
	for state(pid) != "Z" {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin is in state %q, want Z", state(pid))
		}
		time.Sleep(10 * time.Millisecond)
	}
	sleeper := findByEnv(f.marker)
	if sleeper == 0 {
		t.Fatal("no process carries the plugin's environment")
	}
	t.Cleanup(func() { syscall.Kill(sleeper, syscall.SIGKILL) })
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", sleeper))
	stderr, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/2", sleeper))
	argv := strings.Split(string(cmdline), "\x00")
	if len(argv) != 3 || filepath.Base(argv[0]) != "sleep" || argv[1] != "600" || !strings.HasPrefix(stderr, "pipe:") {
		t.Fatalf("descendant %d runs %q with stderr %s, want sleep 600 on the plugin's stderr pipe", sleeper, argv, stderr)
	}
	if f.client.Exited() {
		t.Fatal("go-plugin saw the exit although the grandchild holds stderr")
	}
	syscall.Kill(sleeper, syscall.SIGKILL)
	if ws := f.exitStatus(); !ws.Exited() || ws.ExitStatus() != 3 {
		t.Fatalf("grandchild ended the plugin with %v, want exit status 3", f.cmd.ProcessState)
	}
}

// state is the process state letter of pid ("" when there is no such pid).
func state(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return rest[:1]
}

// findByEnv returns a live process whose environment holds kv, or 0.
func findByEnv(kv string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && state(pid) != "Z" && bytes.Contains(env, []byte(kv+"\x00")) {
			return pid
		}
	}
	return 0
}
