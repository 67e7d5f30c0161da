package sdk_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

// pipePeer is the host end of a ServeStdio session over io.Pipe.
type pipePeer struct {
	t      *testing.T
	in     *io.PipeWriter // to the plugin
	frames chan []byte    // from the plugin
	done   chan error     // ServeStdio's result
}

func setup(t *testing.T, s *sdk.Server, opts ...sdk.Option) *pipePeer {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &pipePeer{t: t, in: inW, frames: make(chan []byte, 1024), done: make(chan error, 1)}
	go func() {
		err := sdk.ServeStdio(s, inR, outW, opts...)
		outW.Close()
		p.done <- err
	}()
	go func() {
		defer close(p.frames)
		r := bufio.NewReader(outR)
		for {
			f, err := readFrame(r)
			if err != nil {
				return
			}
			p.frames <- f
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		outR.Close()
	})
	return p
}

func (p *pipePeer) send(format string, args ...any) {
	p.t.Helper()
	if err := frame(p.in, fmt.Appendf(nil, format, args...)); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

func (p *pipePeer) recv() reply {
	p.t.Helper()
	select {
	case f, ok := <-p.frames:
		if !ok {
			p.t.Fatal("the plugin closed its output")
		}
		return parseReply(p.t, f)
	case <-time.After(timeout):
		p.t.Fatal("no message from the plugin in time")
	}
	panic("unreachable")
}

// expectError receives one message and checks it is an error answer to id.
func (p *pipePeer) expectError(id string, code int64) reply {
	p.t.Helper()
	r := p.recv()
	if string(r.ID) != id || r.Error == nil || r.Error.Code != code || r.Result != nil {
		p.t.Fatalf("got id %s error %v result %s, want id %s error code %d", r.ID, r.Error, r.Result, id, code)
	}
	return r
}

// expectResult receives one message and checks it answers id with want.
func (p *pipePeer) expectResult(id, want string) {
	p.t.Helper()
	r := p.recv()
	if string(r.ID) != id || r.Error != nil || string(r.Result) != want {
		p.t.Fatalf("got id %s result %s error %v, want id %s result %s", r.ID, r.Result, r.Error, id, want)
	}
}

func (p *pipePeer) wait() error {
	p.t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(timeout):
		p.t.Fatal("ServeStdio did not return")
	}
	return nil
}

func echoServer() *sdk.Server {
	return &sdk.Server{Requests: map[string]sdk.Handler{
		"echo": func(_ context.Context, _ *sdk.Conn, params json.RawMessage) (any, error) { return params, nil },
	}}
}

func TestIDsAreEchoedExactly(t *testing.T) {
	p := setup(t, echoServer())
	for _, id := range []string{`7`, `0`, `-12`, `1e3`, `2.5`, `"7"`, `"abc"`, `"ü \" x"`, `""`, `null`, `9007199254740993`} {
		p.send(`{"jsonrpc":"2.0","id":%s,"method":"echo","params":[1]}`, id)
		p.expectResult(id, `[1]`)
	}
}

func TestNotificationsRunInWireOrderBeforeLaterRequests(t *testing.T) {
	var mu sync.Mutex
	var seen []int
	s := &sdk.Server{
		Notifications: map[string]func(context.Context, *sdk.Conn, json.RawMessage){
			"note": func(_ context.Context, _ *sdk.Conn, params json.RawMessage) {
				var n int
				json.Unmarshal(params, &n)
				if n%7 == 0 {
					time.Sleep(time.Millisecond) // a slow one must not be overtaken
				}
				mu.Lock()
				seen = append(seen, n)
				mu.Unlock()
			},
		},
		Requests: map[string]sdk.Handler{
			"seen": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(seen), nil
			},
		},
	}
	p := setup(t, s)
	want := make([]int, 200)
	for i := range want {
		want[i] = i
		p.send(`{"jsonrpc":"2.0","method":"note","params":%d}`, i)
	}
	p.send(`{"jsonrpc":"2.0","id":1,"method":"seen"}`)
	r := p.recv()
	var got []int
	if err := json.Unmarshal(r.Result, &got); err != nil || !slices.Equal(got, want) {
		t.Fatalf("the request saw notifications %v (%v), want 0..199 in order", got, err)
	}
}

func TestRequestsRunConcurrently(t *testing.T) {
	release := make(chan struct{})
	s := &sdk.Server{Requests: map[string]sdk.Handler{
		"wait": func(ctx context.Context, _ *sdk.Conn, _ json.RawMessage) (any, error) {
			select {
			case <-release:
				return "released", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		"release": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
			close(release)
			return "ok", nil
		},
	}}
	p := setup(t, s)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"wait"}`)
	p.send(`{"jsonrpc":"2.0","id":2,"method":"release"}`)
	got := map[string]string{}
	for range 2 {
		r := p.recv()
		got[string(r.ID)] = string(r.Result)
	}
	if got["1"] != `"released"` || got["2"] != `"ok"` {
		t.Fatalf("answers %v, want 1 released and 2 ok", got)
	}
}

func TestCancelRequestAnswers32800(t *testing.T) {
	started := make(chan struct{}, 2)
	s := &sdk.Server{Requests: map[string]sdk.Handler{
		// wait returns ctx's error once cancelled.
		"wait": func(ctx context.Context, _ *sdk.Conn, _ json.RawMessage) (any, error) {
			started <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		},
		// stubborn returns a result even though it was cancelled.
		"stubborn": func(ctx context.Context, _ *sdk.Conn, _ json.RawMessage) (any, error) {
			started <- struct{}{}
			<-ctx.Done()
			return "done anyway", nil
		},
	}}
	p := setup(t, s)
	for _, tc := range []struct{ method, id string }{{"wait", `1`}, {"wait", `"one"`}, {"stubborn", `2`}} {
		p.send(`{"jsonrpc":"2.0","id":%s,"method":%q}`, tc.id, tc.method)
		<-started
		p.send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":%s}}`, tc.id)
		p.expectError(tc.id, sdk.CodeRequestCancelled)
	}
	// A cancel for a request that is not running changes nothing.
	p.send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":99}}`)
	p.send(`{"jsonrpc":"2.0","id":3,"method":"nothing"}`)
	p.expectError(`3`, sdk.CodeMethodNotFound)
}

func TestUnknownMethods(t *testing.T) {
	p := setup(t, echoServer())
	p.send(`{"jsonrpc":"2.0","id":"q","method":"textDocument/nope","params":{}}`)
	p.expectError(`"q"`, sdk.CodeMethodNotFound)
	// An unknown notification is dropped without an answer.
	p.send(`{"jsonrpc":"2.0","method":"textDocument/nope","params":{}}`)
	p.send(`{"jsonrpc":"2.0","id":2,"method":"echo","params":{"a":1}}`)
	p.expectResult(`2`, `{"a":1}`)
}

func TestPanicsAnswer32603AndThePluginLivesOn(t *testing.T) {
	s := echoServer()
	s.Requests["boom"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) { panic("kaboom") }
	s.Notifications = map[string]func(context.Context, *sdk.Conn, json.RawMessage){
		"boom": func(context.Context, *sdk.Conn, json.RawMessage) { panic("kaboom too") },
	}
	p := setup(t, s)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"boom"}`)
	if r := p.expectError(`1`, sdk.CodeInternalError); !strings.Contains(r.Error.Message, "kaboom") {
		t.Errorf("panic answer %q does not say what panicked", r.Error.Message)
	}
	p.send(`{"jsonrpc":"2.0","method":"boom"}`)
	p.send(`{"jsonrpc":"2.0","id":2,"method":"echo","params":"alive"}`)
	p.expectResult(`2`, `"alive"`)
}

func TestHandlerErrors(t *testing.T) {
	s := &sdk.Server{Requests: map[string]sdk.Handler{
		"plain": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
			return nil, errors.New("disk on fire")
		},
		"coded": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
			return nil, fmt.Errorf("check: %w", &sdk.Error{Code: sdk.CodeInvalidParams, Message: "no uri", Data: json.RawMessage(`{"field":"uri"}`)})
		},
		"unencodable": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
			return func() {}, nil
		},
		"nil": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) { return nil, nil },
	}}
	p := setup(t, s)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"plain"}`)
	if r := p.expectError(`1`, sdk.CodeInternalError); r.Error.Message != "disk on fire" {
		t.Errorf("message %q, want the error's text", r.Error.Message)
	}
	p.send(`{"jsonrpc":"2.0","id":2,"method":"coded"}`)
	if r := p.expectError(`2`, sdk.CodeInvalidParams); r.Error.Message != "no uri" || string(r.Error.Data) != `{"field":"uri"}` {
		t.Errorf("error %+v, want the *sdk.Error as returned", r.Error)
	}
	p.send(`{"jsonrpc":"2.0","id":3,"method":"unencodable"}`)
	p.expectError(`3`, sdk.CodeInternalError)
	p.send(`{"jsonrpc":"2.0","id":4,"method":"nil"}`)
	p.expectResult(`4`, `null`)
}

func TestShutdownThenExit(t *testing.T) {
	exited := make(chan struct{})
	s := echoServer()
	s.Notifications = map[string]func(context.Context, *sdk.Conn, json.RawMessage){
		"exit": func(context.Context, *sdk.Conn, json.RawMessage) { close(exited) },
	}
	p := setup(t, s)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"shutdown"}`)
	p.expectResult(`1`, `null`)
	p.send(`{"jsonrpc":"2.0","id":2,"method":"echo","params":1}`)
	p.expectError(`2`, sdk.CodeInvalidRequest)
	p.send(`{"jsonrpc":"2.0","method":"exit"}`)
	if err := p.wait(); err != nil {
		t.Fatalf("ServeStdio after exit = %v, want nil", err)
	}
	select {
	case <-exited:
	default:
		t.Fatal("the exit notification handler did not run")
	}
}

func TestShutdownHandlerRunsFirst(t *testing.T) {
	s := echoServer()
	s.Requests["shutdown"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) { return nil, nil }
	p := setup(t, s)
	p.send(`{"jsonrpc":"2.0","id":"s","method":"shutdown"}`)
	p.expectResult(`"s"`, `null`)
	p.send(`{"jsonrpc":"2.0","id":2,"method":"shutdown"}`)
	p.expectError(`2`, sdk.CodeInvalidRequest)
}

func TestEOFEndsTheSession(t *testing.T) {
	p := setup(t, echoServer())
	p.send(`{"jsonrpc":"2.0","id":1,"method":"echo","params":1}`)
	p.expectResult(`1`, `1`)
	p.in.Close()
	if err := p.wait(); err != nil {
		t.Fatalf("ServeStdio at EOF = %v, want nil", err)
	}
}

func TestBadMessagesAreAnsweredAndSkipped(t *testing.T) {
	p := setup(t, echoServer())
	for _, tc := range []struct {
		msg, id string
		code    int64
	}{
		{`not json`, `null`, sdk.CodeParseError},
		{`{"jsonrpc":"2.0","id":1,"method":"echo"`, `null`, sdk.CodeParseError},
		{`[{"jsonrpc":"2.0","id":1,"method":"echo"}]`, `null`, sdk.CodeInvalidRequest},
		{`{"jsonrpc":"1.0","id":3,"method":"echo"}`, `3`, sdk.CodeInvalidRequest},
		{`{"id":4,"method":"echo"}`, `4`, sdk.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":{"a":1},"method":"echo"}`, `null`, sdk.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":true,"method":"echo"}`, `null`, sdk.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":5}`, `5`, sdk.CodeInvalidRequest},
		{`{"jsonrpc":"2.0","id":6,"method":7}`, `null`, sdk.CodeInvalidRequest},
	} {
		p.send("%s", tc.msg)
		p.expectError(tc.id, tc.code)
	}
	// An answer to a call nobody made is dropped.
	p.send(`{"jsonrpc":"2.0","id":12345,"result":"stray"}`)
	p.send(`{"jsonrpc":"2.0","id":7,"method":"echo","params":"still here"}`)
	p.expectResult(`7`, `"still here"`)
}

func TestBadFramingEndsTheSession(t *testing.T) {
	p := setup(t, echoServer())
	io.WriteString(p.in, "Content-Length: twelve\r\n\r\n{}")
	if err := p.wait(); err == nil {
		t.Fatal("ServeStdio on a bad header returned nil")
	}
}

func TestConnCallAndNotify(t *testing.T) {
	type answer struct {
		Got any    `json:"got"`
		Err *int64 `json:"err"`
	}
	s := &sdk.Server{
		Requests: map[string]sdk.Handler{
			"ask": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
				if err := c.Notify(ctx, "window/logMessage", map[string]any{"type": 3, "message": "asking"}); err != nil {
					return nil, err
				}
				var got any
				err := c.Call(ctx, "workspace/configuration", map[string]any{"items": []any{}}, &got)
				if e := (*sdk.Error)(nil); errors.As(err, &e) {
					return answer{Err: &e.Code}, nil
				}
				return answer{Got: got}, err
			},
		},
		Notifications: map[string]func(context.Context, *sdk.Conn, json.RawMessage){
			// A notification handler may wait on the host: reading goes on.
			"textDocument/didOpen": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) {
				c.Call(ctx, "client/registerCapability", map[string]any{"registrations": []any{}}, nil)
			},
		},
	}
	p := setup(t, s)

	p.send(`{"jsonrpc":"2.0","id":1,"method":"ask"}`)
	if n := p.recv(); n.Method != "window/logMessage" || n.ID != nil || !strings.Contains(string(n.Params), "asking") {
		t.Fatalf("first message %+v, want the logMessage notification", n)
	}
	call := p.recv()
	if call.Method != "workspace/configuration" || call.ID == nil || string(call.Params) != `{"items":[]}` {
		t.Fatalf("second message %+v, want the workspace/configuration call", call)
	}
	p.send(`{"jsonrpc":"2.0","id":%s,"result":["a"]}`, call.ID)
	p.expectResult(`1`, `{"got":["a"],"err":null}`)

	p.send(`{"jsonrpc":"2.0","id":2,"method":"ask"}`)
	p.recv()
	call = p.recv()
	p.send(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32001,"message":"no"}}`, call.ID)
	p.expectResult(`2`, `{"got":null,"err":-32001}`)

	p.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{}}`)
	p.send(`{"jsonrpc":"2.0","id":3,"method":"ask"}`)
	reg := p.recv()
	if reg.Method != "client/registerCapability" {
		t.Fatalf("got %+v, want the didOpen handler's call first", reg)
	}
	p.send(`{"jsonrpc":"2.0","id":%s,"result":null}`, reg.ID)
	if n := p.recv(); n.Method != "window/logMessage" {
		t.Fatalf("got %+v, want the ask request to start once didOpen returned", n)
	}
}

func TestCallCancelledByCtxTellsTheHost(t *testing.T) {
	result := make(chan error, 1)
	s := &sdk.Server{Requests: map[string]sdk.Handler{
		"ask": func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			err := c.Call(ctx, "workspace/configuration", nil, nil)
			result <- err
			return nil, err
		},
	}}
	p := setup(t, s)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"ask"}`)
	call := p.recv()
	if call.Params != nil {
		t.Errorf("a call with nil params sent params %s", call.Params)
	}
	cancel := p.recv()
	if cancel.Method != "$/cancelRequest" || string(cancel.Params) != fmt.Sprintf(`{"id":%s}`, call.ID) {
		t.Fatalf("got %+v, want $/cancelRequest for id %s", cancel, call.ID)
	}
	if err := <-result; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call = %v, want DeadlineExceeded", err)
	}
	p.expectError(`1`, sdk.CodeInternalError)
}

func TestMessageCapsOverStdio(t *testing.T) {
	const limit = 1024
	notifyErr := make(chan error, 1)
	s := echoServer()
	s.Requests["big"] = func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
		return strings.Repeat("x", limit), nil
	}
	s.Requests["shout"] = func(ctx context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
		err := c.Notify(ctx, "window/logMessage", strings.Repeat("x", limit))
		notifyErr <- err
		return "after", nil
	}
	p := setup(t, s, sdk.WithMaxMessageBytes(limit))

	// A message of exactly the cap is served.
	head := `{"jsonrpc":"2.0","id":1,"method":"echo","params":"`
	exact := head + strings.Repeat("y", limit-len(head)-2) + `"}`
	p.send("%s", exact)
	if r := p.recv(); string(r.ID) != "1" || r.Error != nil {
		t.Fatalf("a message of exactly the cap was refused: %+v", r.Error)
	}
	// One byte more is refused, and the session goes on.
	p.send("%s", head+strings.Repeat("y", limit-len(head)-1)+`"}`)
	p.expectError(`null`, sdk.CodeInvalidRequest)
	p.send(`{"jsonrpc":"2.0","id":2,"method":"big"}`)
	if r := p.expectError(`2`, sdk.CodeInternalError); !strings.Contains(r.Error.Message, "cap") {
		t.Errorf("refusal %q does not name the cap", r.Error.Message)
	}
	p.send(`{"jsonrpc":"2.0","id":3,"method":"shout"}`)
	p.expectResult(`3`, `"after"`) // and no notification before it
	var tooLarge *sdk.TooLargeError
	if err := <-notifyErr; !errors.As(err, &tooLarge) {
		t.Fatalf("Notify over the cap = %v, want a *TooLargeError", err)
	}
}

func TestConnFailsAfterTheSession(t *testing.T) {
	conns := make(chan *sdk.Conn, 1)
	s := &sdk.Server{Requests: map[string]sdk.Handler{
		"keep": func(_ context.Context, c *sdk.Conn, _ json.RawMessage) (any, error) {
			conns <- c
			return nil, nil
		},
	}}
	p := setup(t, s)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"keep"}`)
	p.recv()
	p.send(`{"jsonrpc":"2.0","method":"exit"}`)
	if err := p.wait(); err != nil {
		t.Fatal(err)
	}
	c := <-conns
	if err := c.Notify(context.Background(), "late", nil); !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("Notify after exit = %v, want ErrClosed", err)
	}
	if err := c.Call(context.Background(), "late", nil, nil); !errors.Is(err, sdk.ErrClosed) {
		t.Errorf("Call after exit = %v, want ErrClosed", err)
	}
}

// TestCancelOvertakesTheQueue cancels a request that is still waiting
// behind a slow notification: it never runs with a live ctx.
func TestCancelOvertakesTheQueue(t *testing.T) {
	release := make(chan struct{})
	ran := make(chan error, 1)
	s := &sdk.Server{
		Notifications: map[string]func(context.Context, *sdk.Conn, json.RawMessage){
			"slow": func(context.Context, *sdk.Conn, json.RawMessage) { <-release },
		},
		Requests: map[string]sdk.Handler{
			"work": func(ctx context.Context, _ *sdk.Conn, _ json.RawMessage) (any, error) {
				ran <- ctx.Err()
				return "worked", nil
			},
		},
	}
	p := setup(t, s)
	p.send(`{"jsonrpc":"2.0","method":"slow"}`)
	p.send(`{"jsonrpc":"2.0","id":1,"method":"work"}`)
	p.send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}`)
	// io.Pipe hands each write to one read, so once the reader has taken
	// this next message it has handled the cancel, while "slow" still
	// blocks the queue. Then let the queue move.
	p.send(`{"jsonrpc":"2.0","method":"nobody/listens"}`)
	close(release)
	p.expectError(`1`, sdk.CodeRequestCancelled)
	if err := <-ran; err == nil {
		t.Fatal("the cancelled request ran with a live ctx")
	}
}

func TestStdioHeaders(t *testing.T) {
	for _, c := range []struct {
		header string
		ok     bool
	}{
		{"Content-Length: 2", true},
		{"content-length:2", true},
		{"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length:  2 ", true},
		{"Content-Length: -2", false},
		{"Content-Length: 2x", false},
		{"Content-Length: ", false},
		{"Content-Length: 99999999999999999999", false},
		{"Content-Type: x", false},
		{"Content-Length 2", false},
	} {
		tr := sdk.NewStdioTransport(strings.NewReader(c.header+"\r\n\r\n{}"), io.Discard, 1<<20)
		msg, err := tr.Read()
		if c.ok && (err != nil || string(msg) != "{}") {
			t.Errorf("%q: %q, %v", c.header, msg, err)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "bad message header")) {
			t.Errorf("%q: %q, %v; want a bad header", c.header, msg, err)
		}
	}
}
