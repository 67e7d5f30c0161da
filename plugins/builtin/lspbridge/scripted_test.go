package lspbridge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// scriptedServerEnv makes the test binary, started as a language server by
// a test, play one part that no real server plays on demand.
const scriptedServerEnv = "LSPBRIDGE_SCRIPTED_SERVER"

// scriptedServer is the test binary's main in that role: it speaks LSP on
// stdio and, before it answers shutdown, asks the client something and waits
// for the answer, as a server with work in progress may.
func scriptedServer() int {
	r := bufio.NewReader(os.Stdin)
	send := func(v any) {
		body, _ := json.Marshal(v)
		os.Stdout.Write(append(appendHeader(nil, len(body)), body...))
	}
	for {
		n, err := readHeader(r)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scripted server: read:", err)
			return 2
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return 2
		}
		var m message
		if err := json.Unmarshal(body, &m); err != nil {
			return 2
		}
		switch m.Method {
		case "shutdown":
			send(map[string]any{"jsonrpc": "2.0", "id": "ask-1", "method": "window/workDoneProgress/create",
				"params": map[string]string{"token": "t"}})
			for {
				n, err := readHeader(r)
				if err != nil {
					return 2
				}
				answer := make([]byte, n)
				if _, err := io.ReadFull(r, answer); err != nil {
					return 2
				}
				var a message
				if json.Unmarshal(answer, &a) == nil && string(a.ID) == `"ask-1"` && a.Method == "" {
					fmt.Fprintf(os.Stderr, "scripted server: got %s\n", answer)
					break
				}
			}
			send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": nil})
		case "exit":
			return 0
		}
	}
}

// TestServerRequestAfterHostGoneIsAnswered: once the host has gone, a
// request from the server (here, one it must have answered before it
// answers shutdown) gets an error response from the bridge, so the server
// shuts down cleanly instead of waiting to be killed.
func TestServerRequestAfterHostGoneIsAnswered(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := &Launch{Argv: []string{exe}, Env: append(os.Environ(), scriptedServerEnv+"=1")}
	logs := &logRecorder{}
	b := startBridged(t, l, "", Options{ShutdownGrace: 30 * time.Second, Logger: slog.New(logs)})
	start := time.Now()
	b.tr.close()
	if err := b.wait(t, 40*time.Second); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	// Well under the 30 s grace (a -race child alone takes 1 s to exit).
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("stopping took %v: the server's request was not answered", took)
	}
	for _, m := range logs.messages() {
		if strings.Contains(m, "killing") {
			t.Errorf("the server was killed: %s", m)
		}
	}
	requireGone(t, b.pid)
}
