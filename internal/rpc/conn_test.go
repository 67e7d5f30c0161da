package rpc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/protocol"
)

// echo answers every request with its params and records notifications.
type echo struct{ notes chan string }

func (e echo) Handle(ctx context.Context, c *Conn, r *Request) {
	if r.Notif {
		e.notes <- r.Method
		return
	}
	go c.Reply(ctx, r.ID, r.Params)
}

// setup serves an echo connection on one end of a pipe and returns the other
// end with a reader of its frames.
func setup(t *testing.T, max int64) (net.Conn, *bufio.Reader, echo) {
	t.Helper()
	server, client := net.Pipe()
	h := echo{notes: make(chan string, 16)}
	c := NewConn(t.Context(), server, h, &Options{MaxFrameBytes: max})
	c.Start()
	t.Cleanup(func() { c.Close(); client.Close() })
	return client, bufio.NewReader(client), h
}

func write(t *testing.T, w io.Writer, header, body string) {
	t.Helper()
	go func() {
		if _, err := io.WriteString(w, header+"\r\n\r\n"+body); err != nil {
			t.Errorf("write frame: %v", err)
		}
	}()
}

// readFrame reads one framed message from the server.
func readFrame(t *testing.T, r *bufio.Reader) map[string]any {
	t.Helper()
	n, err := readHeader(r)
	if err != nil {
		t.Fatalf("read header: %v", err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return m
}

func frame(body string) (string, string) {
	return fmt.Sprintf("Content-Length: %d", len(body)), body
}

func TestHeaderNamesAreCaseInsensitive(t *testing.T) {
	client, r, _ := setup(t, 0)
	body := `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1}}`
	write(t, client, fmt.Sprintf("content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8", len(body)), body)
	m := readFrame(t, r)
	if got := fmt.Sprint(m["result"]); got != "map[a:1]" {
		t.Errorf("result = %s, want map[a:1]", got)
	}
}

func TestOversizeFrameIsRefusedAndConnectionLives(t *testing.T) {
	const max = 1 << 20
	client, r, _ := setup(t, max)
	big := `{"jsonrpc":"2.0","id":"big-1","method":"x","params":{"text":"` + strings.Repeat("a", 8<<20) + `"}}`

	payload := []byte(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(big), big))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	go client.Write(payload)
	m := readFrame(t, r)

	if m["id"] != "big-1" {
		t.Errorf("id = %v, want the refused request's id big-1", m["id"])
	}
	e, _ := m["error"].(map[string]any)
	if code := e["code"]; code != float64(-31006) {
		t.Errorf("error code = %v, want -31006 (too large)", code)
	}
	if data, _ := e["data"].(map[string]any); data["code"] != "too_large" {
		t.Errorf("data.code = %v, want too_large", e["data"])
	}

	// The next request is answered once the 8 MiB body has been skipped.
	h, b := frame(`{"jsonrpc":"2.0","id":2,"method":"x","params":[1]}`)
	write(t, client, h, b)
	if m := readFrame(t, r); m["id"] != float64(2) {
		t.Errorf("after refusal, got %v; want the next request answered", m)
	}
	runtime.ReadMemStats(&after)
	// The body was skipped, not held: far less than its size was allocated.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2<<20 {
		t.Errorf("refusing an 8 MiB frame allocated %d bytes; want it skipped, not read into memory", grew)
	}
}

// TestOversizeFrameIsAnsweredBeforeItsBody sends only the header and the
// first KiB of an oversize frame: the too_large answer must come without the
// rest, which the connection skips once it arrives.
func TestOversizeFrameIsAnsweredBeforeItsBody(t *testing.T) {
	const max = 4096
	client, r, _ := setup(t, max)
	// Without the early answer the read below would wait for a body that
	// is never sent; fail instead of hanging.
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	big := `{"jsonrpc":"2.0","id":"early","method":"x","params":{"text":"` + strings.Repeat("a", 1<<20) + `"}}`
	head := fmt.Sprintf("Content-Length: %d\r\n\r\n", len(big))
	cut := idPeekBytes + 100 // a little more than the codec peeks at
	go io.WriteString(client, head+big[:cut])
	m := readFrame(t, r)
	if m["id"] != "early" {
		t.Fatalf("got %v; want the too_large answer to request early before its body is sent", m)
	}
	if e, _ := m["error"].(map[string]any); e["code"] != float64(-31006) {
		t.Errorf("error = %v, want -31006 (too large)", m["error"])
	}

	h, b := frame(`{"jsonrpc":"2.0","id":3,"method":"x","params":[3]}`)
	go io.WriteString(client, big[cut:]+h+"\r\n\r\n"+b)
	if m := readFrame(t, r); m["id"] != float64(3) {
		t.Errorf("after the skipped body, got %v; want request 3 answered", m)
	}
}

func TestBadMessagesAreAnsweredNotFatal(t *testing.T) {
	for _, test := range []struct {
		name, body string
		wantID     any
		wantCode   float64
	}{
		{"not json", `{"jsonrpc":"2.0","id":3,"method":`, nil, -32700},
		{"float id", `{"jsonrpc":"2.0","id":1.5,"method":"x"}`, nil, -32600},
		{"no method or result", `{"jsonrpc":"2.0","id":"s"}`, "s", -32600},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"x"}]`, nil, -32600},
	} {
		t.Run(test.name, func(t *testing.T) {
			client, r, _ := setup(t, 0)
			h, b := frame(test.body)
			write(t, client, h, b)
			m := readFrame(t, r)
			if m["id"] != test.wantID {
				t.Errorf("id = %v, want %v", m["id"], test.wantID)
			}
			if e, _ := m["error"].(map[string]any); e["code"] != test.wantCode {
				t.Errorf("error = %v, want code %v", m["error"], test.wantCode)
			}
			h, b = frame(`{"jsonrpc":"2.0","id":9,"method":"x","params":{}}`)
			write(t, client, h, b)
			if m := readFrame(t, r); m["id"] != float64(9) {
				t.Errorf("connection did not survive: got %v", m)
			}
		})
	}
}

func TestForgedRejectionMethodIsNotSpecial(t *testing.T) {
	client, r, h := setup(t, 0)
	hd, b := frame(`{"jsonrpc":"2.0","method":"` + rejectedMethod + `"}`)
	write(t, client, hd, b)
	select {
	case got := <-h.notes:
		if got != rejectedMethod {
			t.Errorf("handler got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a client-sent notification with the placeholder name was swallowed")
	}
	hd, b = frame(`{"jsonrpc":"2.0","id":1,"method":"x","params":1}`)
	write(t, client, hd, b)
	if m := readFrame(t, r); m["id"] != float64(1) {
		t.Errorf("got %v", m)
	}
}

func TestBrokenHeaderClosesConnection(t *testing.T) {
	for _, header := range []string{
		"Content-Length: -5",
		"Content-Length: lots",
		"X-Nothing: 1",
		"no colon here",
		"Content-Length: " + strings.Repeat("1", 2000),
	} {
		t.Run(header[:min(len(header), 20)], func(t *testing.T) {
			server, client := net.Pipe()
			c := NewConn(t.Context(), server, echo{notes: make(chan string, 1)}, nil)
			c.Start()
			defer client.Close()
			go io.WriteString(client, header+"\r\n\r\n{}")
			go io.Copy(io.Discard, client)
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("connection still open after an unreadable header")
			}
		})
	}
}

func TestPeekID(t *testing.T) {
	for _, test := range []struct{ prefix, want string }{
		{`{"jsonrpc":"2.0","id":7,"method":"x","params":{"t":"aaaa`, "7"},
		{`{"id":"abc","jsonrpc"`, `"abc"`},
		{`{"jsonrpc":"2.0","method":"x","params":{"t":"aaaa`, ""},
		{`{"id":{"nested":1}}`, ""},
		{`[1,2`, ""},
	} {
		if got := string(peekID([]byte(test.prefix))); got != test.want {
			t.Errorf("peekID(%q) = %q, want %q", test.prefix, got, test.want)
		}
	}
}

// capture records the params of each request it sees.
type capture chan json.RawMessage

func (c capture) Handle(ctx context.Context, conn *Conn, r *Request) {
	c <- r.Params
	go conn.Reply(ctx, r.ID, nil)
}

func TestParamsArriveAsSent(t *testing.T) {
	server, client := net.Pipe()
	got := make(capture, 4)
	c := NewConn(t.Context(), server, got, nil)
	c.Start()
	t.Cleanup(func() { c.Close(); client.Close() })
	go io.Copy(io.Discard, client)
	for _, params := range []string{
		`{"z":1,"a":"<b>&amp;","n":1.50}`,
		`[3, 2,1]`,
		`"text"`,
	} {
		h, b := frame(`{"jsonrpc":"2.0","id":1,"method":"x","params":` + params + `}`)
		write(t, client, h, b)
		if p := <-got; string(p) != params {
			t.Errorf("params = %s, want them as sent: %s", p, params)
		}
	}
	h, b := frame(`{"jsonrpc":"2.0","method":"n"}`)
	write(t, client, h, b)
	if p := <-got; p != nil {
		t.Errorf("absent params = %s, want nil", p)
	}
}

// answerer answers "echo" with its params, "fail" with an error, and
// "slow" never.
type answerer struct{}

func (answerer) Handle(ctx context.Context, c *Conn, r *Request) {
	switch r.Method {
	case "echo":
		go c.Reply(ctx, r.ID, r.Params)
	case "fail":
		go c.ReplyError(ctx, r.ID, protocol.NewError(-31001, "not_found", "no such thing"))
	}
}

func TestCallDecodesResultsAndErrors(t *testing.T) {
	a, b := net.Pipe()
	srv := NewConn(t.Context(), a, answerer{}, nil)
	srv.Start()
	cli := NewConn(t.Context(), b, answerer{}, nil)
	cli.Start()
	t.Cleanup(func() { srv.Close(); cli.Close() })

	var got struct {
		Text string `json:"text"`
		N    []int  `json:"n"`
	}
	if err := cli.Call(t.Context(), "echo", map[string]any{"text": "héllo <&>", "n": []int{1, 2}}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Text != "héllo <&>" || len(got.N) != 2 {
		t.Errorf("result = %+v", got)
	}
	err := cli.Call(t.Context(), "fail", nil, &got)
	var e *protocol.Error
	if !errors.As(err, &e) || e.RPCCode != -31001 || e.Data.Code != "not_found" {
		t.Errorf("error = %v, want the coded error", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := cli.Call(ctx, "slow", nil, &got); err == nil {
		t.Error("a call nobody answers returned no error")
	}
	cli.codec.mu.Lock()
	left := len(cli.codec.answers)
	cli.codec.mu.Unlock()
	if left != 0 {
		t.Errorf("%d answers kept after every call returned", left)
	}
}

// countWrites counts the writes to the connection under it.
type countWrites struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countWrites) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// TestEachMessageIsOneWrite checks that a message larger than the write
// buffer still reaches the stream in one write, header and body together,
// so that the reader is not woken for part of it.
func TestEachMessageIsOneWrite(t *testing.T) {
	server, client := net.Pipe()
	cw := &countWrites{Conn: server}
	c := NewConn(t.Context(), cw, echo{notes: make(chan string, 1)}, nil)
	c.Start()
	t.Cleanup(func() { c.Close(); client.Close() })
	r := bufio.NewReader(client)

	big := `"` + strings.Repeat("x", 20000) + `"`
	write(t, client, fmt.Sprintf("Content-Length: %d", len(big)+50), `{"jsonrpc":"2.0","id":"s1","method":"x","params":`+big+`}`+strings.Repeat(" ", 50-len(`{"jsonrpc":"2.0","id":"s1","method":"x","params":}`)))
	m := readFrame(t, r)
	if m["id"] != "s1" || m["result"] != big[1:len(big)-1] {
		t.Fatalf("reply: id %v, result of %d bytes", m["id"], len(fmt.Sprint(m["result"])))
	}
	go c.Notify(t.Context(), "n", strings.Repeat("y", 20000))
	if m := readFrame(t, r); m["method"] != "n" {
		t.Fatalf("notification: %v", m["method"])
	}
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.writes != 2 {
		t.Errorf("two messages took %d writes, want 2", cw.writes)
	}
}
