package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/protocol"
)

// TestCancelByStringID cancels a request whose id is a string, which
// rpc.Conn never sends: the session keys running requests by id, and a
// string id must find its request as a number does.
func TestCancelByStringID(t *testing.T) {
	srv, _, _ := setup(t, nil)
	a, b := net.Pipe()
	go srv.ServeConn(context.Background(), a, "pipe", LocalOwner("tester"))
	t.Cleanup(func() { b.Close() })
	r := textproto.NewReader(bufio.NewReader(b))
	send := func(msg string) {
		t.Helper()
		if _, err := fmt.Fprintf(b, "Content-Length: %d\r\n\r\n%s", len(msg), msg); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]json.RawMessage {
		t.Helper()
		h, err := r.ReadMIMEHeader()
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(h.Get("Content-Length"))
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r.R, body); err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return m
	}
	send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"capabilities":{}}}`)
	if m := read(); string(m["id"]) != `"init"` || m["result"] == nil {
		t.Fatalf("initialize answered %v", m)
	}
	send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	start := time.Now()
	send(`{"jsonrpc":"2.0","id":"sleep-1","method":"` + protocol.MethodDebugSleep + `","params":{"ms":10000}}`)
	waitFor(t, func() bool { return inflight(srv) == 1 })
	send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"sleep-1"}}`)
	m := read()
	var e struct {
		Code int64 `json:"code"`
	}
	if string(m["id"]) != `"sleep-1"` || json.Unmarshal(m["error"], &e) != nil || e.Code != protocol.CodeRequestCancelled {
		t.Fatalf("answer = %s %s, want request-cancelled for \"sleep-1\"", m["id"], m["error"])
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled request took %v", d)
	}
}
