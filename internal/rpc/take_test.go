package rpc

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestCommonRequest(t *testing.T) {
	for _, c := range []struct {
		body, method, id, params string
	}{
		{`{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{"a":[1,"}"]}}`, "textDocument/hover", "7", `{"a":[1,"}"]}`},
		{`{"jsonrpc":"2.0","id":"x-1","method":"m","params":null}` + "\r\n", "m", `"x-1"`, `null`},
		{`{"jsonrpc":"2.0","id":18446744073709551615,"method":"m","params":1}`, "m", "18446744073709551615", `1`},
		// Left to jsonrpc2: other shapes, and anything that could smuggle
		// keys past the split.
		{body: `{"jsonrpc":"2.0","method":"m","id":1,"params":{}}`},
		{body: `{"jsonrpc":"2.0","id":1,"method":"m","params":{},"method":"x"}`},
		{body: `{"jsonrpc":"2.0","id":1,"method":"m","params":{}} x`},
		{body: `{"jsonrpc":"2.0","id":01,"method":"m","params":{}}`},
		{body: `{"jsonrpc":"2.0","id":99999999999999999999,"method":"m","params":{}}`},
		{body: `{"jsonrpc":"2.0","id":"a\"b","method":"m","params":{}}`},
		{body: `{"jsonrpc":"2.0","id":1,"method":"m\u0041","params":{}}`},
		{body: `{"jsonrpc":"2.0","id":1,"method":"m"}`},
	} {
		r, ok := (&codec{}).commonRequest([]byte(c.body))
		if ok != (c.method != "") {
			t.Errorf("%s: taken %v", c.body, ok)
			continue
		}
		if !ok {
			continue
		}
		if r.Method != c.method || r.ID.String() != c.id || string(r.Params) != c.params || r.Notif {
			t.Errorf("%s: got %q %s %s", c.body, r.Method, r.ID.String(), r.Params)
		}
		// What it splits, jsonrpc2's decoding agrees with.
		var full struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal([]byte(c.body), &full); err != nil || full.Method != r.Method || string(full.Params) != string(r.Params) {
			t.Errorf("%s: encoding/json says %+v, %v", c.body, full, err)
		}
	}
}

// takeSome takes requests for "take/me" and answers them from the read
// goroutine; the rest reach the echo handler.
type takeSome struct{ order chan string }

func (ts takeSome) take(ctx context.Context, c *Conn, r *Request) bool {
	if r.Method != "take/me" {
		return false
	}
	ts.order <- "take " + r.ID.String()
	c.Reply(ctx, r.ID, json.RawMessage(`"taken"`))
	return true
}

// Take sees requests in wire order with the handler's messages, and what it
// takes never reaches the handler.
func TestTakeKeepsWireOrder(t *testing.T) {
	server, client := net.Pipe()
	ts := takeSome{order: make(chan string, 16)}
	h := echo{notes: ts.order}
	c := NewConn(t.Context(), server, h, &Options{Take: ts.take})
	c.Start()
	t.Cleanup(func() { c.Close(); client.Close() })
	r := bufio.NewReader(client)
	var all string
	for _, body := range []string{
		`{"jsonrpc":"2.0","method":"first"}`,
		`{"jsonrpc":"2.0","id":1,"method":"take/me","params":{}}`,
		`{"jsonrpc":"2.0","method":"second"}`,
		`{"jsonrpc":"2.0","id":2,"method":"echo","params":[2]}`,
	} {
		hd, b := frame(body)
		all += hd + "\r\n\r\n" + b
	}
	go client.Write([]byte(all))
	if m := readFrame(t, r); m["id"] != float64(1) || m["result"] != "taken" {
		t.Fatalf("answer to the taken request: %v", m)
	}
	if m := readFrame(t, r); m["id"] != float64(2) {
		t.Fatalf("answer to the echo: %v", m)
	}
	var got []string
	for range 3 {
		got = append(got, <-ts.order)
	}
	if want := []string{"first", "take 1", "second"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("order %q, want %q", got, want)
	}
	select {
	case extra := <-ts.order:
		t.Errorf("the handler also saw %q", extra)
	case <-time.After(50 * time.Millisecond):
	}
}

// Splitting a request in the common shape allocates nothing once its
// method is interned, and the interned names are bounded.
func TestCommonRequestAllocatesNothing(t *testing.T) {
	c := &codec{}
	body := []byte(`{"jsonrpc":"2.0","id":1234,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///a.go"},"position":{"line":1,"character":2}}}`)
	if _, ok := c.commonRequest(body); !ok {
		t.Fatal("not split")
	}
	if n := testing.AllocsPerRun(100, func() { c.commonRequest(body) }); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
	for i := range maxInterned + 100 {
		method := "m" + strconv.Itoa(i)
		r, ok := c.commonRequest([]byte(`{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":null}`))
		if !ok || r.Method != method {
			t.Fatalf("%s: split as %q, %v", method, r.Method, ok)
		}
	}
	if len(c.methods) != maxInterned {
		t.Errorf("%d names interned, want %d", len(c.methods), maxInterned)
	}
}
