// Command faultplugin is a language plugin that misbehaves on request, for
// testing the host's resilience. It is built on plugins/sdk like any plugin:
//
//	go build -o faultplugin ./plugins/internal/faultplugin
//
// Its Info is name "fault", version "1.0.0". It serves textDocument/hover,
// and what a hover does is chosen by the text (trimmed of surrounding white
// space) of the document it names, as last sent by didOpen or didChange
// (the plugin asks for full-text sync):
//
//	hang              never answers, and ignores $/cancelRequest
//	crash             exits with status 3
//	kill              sends itself SIGKILL
//	panic             the handler panics (the SDK answers -32603 and lives on)
//	flood             sends 1,000 textDocument/publishDiagnostics for the
//	                  document, each with 10,000 diagnostics, then answers
//	malformed         writes a frame that is not JSON, then an answer to an id
//	                  the host never used, then answers
//	huge              answers with a 32 MiB hover (the plugin's own cap is
//	                  raised to 48 MiB so that the host's cap is what refuses it)
//	grandchild        starts `sleep 600` holding the plugin's stderr, then
//	                  exits with status 3
//	write:PATH        tries to create PATH; answers "ok" or the error's text
//	connect:HOST:PORT tries a TCP connection (5 s timeout); answers "ok" or
//	                  the error's text
//	read:PATH         reads PATH; answers its first 64 bytes or the error's text
//	anything else     answers "fault: ok"
//
// Every answer is a Hover whose contents is that string ("fault: ok" for
// flood and malformed). A hover on a document that was never opened answers
// -32602.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

const (
	// maxMessageBytes is the plugin's own cap, above the 32 MiB of huge.
	maxMessageBytes = 48 << 20
	hugeBytes       = 32 << 20
	floodMessages   = 1000
	floodDiags      = 10000
)

func main() {
	info := sdk.Info{Name: "fault", Version: "1.0.0"}
	sdk.ServeRaw(info, func(ctx context.Context, t sdk.Transport) error {
		s := &session{raw: t, docs: map[string]string{}}
		return s.server(info).Run(ctx, t, sdk.WithMaxMessageBytes(maxMessageBytes))
	}, sdk.WithMaxMessageBytes(maxMessageBytes))
}

// session is one host session. raw is its transport, which malformed and
// flood write to directly.
type session struct {
	raw  sdk.Transport
	mu   sync.Mutex
	docs map[string]string
}

func (s *session) server(info sdk.Info) *sdk.Server {
	return &sdk.Server{
		Info: info,
		Requests: map[string]sdk.Handler{
			"initialize": func(context.Context, *sdk.Conn, json.RawMessage) (any, error) {
				return map[string]any{
					"capabilities": map[string]any{
						"textDocumentSync": map[string]any{"openClose": true, "change": 1},
						"hoverProvider":    true,
					},
					"serverInfo": map[string]any{"name": info.Name, "version": info.Version},
				}, nil
			},
			"textDocument/hover": s.hover,
		},
		Notifications: map[string]func(context.Context, *sdk.Conn, json.RawMessage){
			"textDocument/didOpen":   s.didOpen,
			"textDocument/didChange": s.didChange,
			"textDocument/didClose":  s.didClose,
		},
	}
}

type document struct {
	URI  string `json:"uri"`
	Text string `json:"text"`
}

func (s *session) didOpen(_ context.Context, _ *sdk.Conn, params json.RawMessage) {
	var p struct {
		TextDocument document `json:"textDocument"`
	}
	if json.Unmarshal(params, &p) == nil {
		s.set(p.TextDocument.URI, p.TextDocument.Text)
	}
}

func (s *session) didChange(_ context.Context, _ *sdk.Conn, params json.RawMessage) {
	var p struct {
		TextDocument   document `json:"textDocument"`
		ContentChanges []struct {
			Text string `json:"text"`
		} `json:"contentChanges"`
	}
	if json.Unmarshal(params, &p) == nil && len(p.ContentChanges) > 0 {
		s.set(p.TextDocument.URI, p.ContentChanges[len(p.ContentChanges)-1].Text)
	}
}

func (s *session) didClose(_ context.Context, _ *sdk.Conn, params json.RawMessage) {
	var p struct {
		TextDocument document `json:"textDocument"`
	}
	if json.Unmarshal(params, &p) == nil {
		s.mu.Lock()
		delete(s.docs, p.TextDocument.URI)
		s.mu.Unlock()
	}
}

func (s *session) set(uri, text string) {
	s.mu.Lock()
	s.docs[uri] = text
	s.mu.Unlock()
}

func answer(text string) any { return map[string]any{"contents": text} }

func (s *session) hover(_ context.Context, _ *sdk.Conn, params json.RawMessage) (any, error) {
	var p struct {
		TextDocument document `json:"textDocument"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, &sdk.Error{Code: sdk.CodeInvalidParams, Message: err.Error()}
	}
	s.mu.Lock()
	text, ok := s.docs[p.TextDocument.URI]
	s.mu.Unlock()
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeInvalidParams, Message: p.TextDocument.URI + " is not open"}
	}
	mode := strings.TrimSpace(text)
	switch {
	case mode == "hang":
		select {} // the SDK cancels our ctx on $/cancelRequest; we ignore it
	case mode == "crash":
		os.Exit(3)
	case mode == "kill":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case mode == "panic":
		panic("fault: panic")
	case mode == "flood":
		return answer("fault: ok"), s.flood(p.TextDocument.URI)
	case mode == "malformed":
		if err := s.raw.Write([]byte("this is not JSON {")); err != nil {
			return nil, err
		}
		if err := s.raw.Write([]byte(`{"jsonrpc":"2.0","id":987654321,"result":"nobody asked"}`)); err != nil {
			return nil, err
		}
		return answer("fault: ok"), nil
	case mode == "huge":
		return answer(strings.Repeat("x", hugeBytes)), nil
	case mode == "grandchild":
		grandchild()
	}
	if path, ok := strings.CutPrefix(mode, "write:"); ok {
		return answer(result(write(path))), nil
	}
	if addr, ok := strings.CutPrefix(mode, "connect:"); ok {
		return answer(result(connect(addr))), nil
	}
	if path, ok := strings.CutPrefix(mode, "read:"); ok {
		data, err := read(path)
		if err != nil {
			return answer(err.Error()), nil
		}
		return answer(string(data)), nil
	}
	return answer("fault: ok"), nil
}

func result(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// flood sends the same large notification many times, built once.
func (s *session) flood(uri string) error {
	var b strings.Builder
	fmt.Fprintf(&b, `{"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":%q,"diagnostics":[`, uri)
	for i := range floodDiags {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"range":{"start":{"line":%d,"character":0},"end":{"line":%d,"character":1}},"severity":2,"source":"fault","message":"flood %d"}`, i, i, i)
	}
	b.WriteString("]}}")
	msg := []byte(b.String())
	for range floodMessages {
		if err := s.raw.Write(msg); err != nil {
			return fmt.Errorf("flood: %w", err)
		}
	}
	return nil
}

// grandchild leaves a process behind that holds the plugin's stderr (fd 2,
// which the host reads; not os.Stderr, which go-plugin swapped for a pipe
// of its own), then exits 3.
func grandchild() {
	sleep := "sleep"
	if _, err := exec.LookPath(sleep); err != nil {
		sleep = "/bin/sleep" // the host passes plugins no PATH unless they ask
	}
	cmd := exec.Command(sleep, "600")
	cmd.Stderr = os.NewFile(2, "/dev/stderr")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(cmd.Stderr, "faultplugin: start the grandchild:", err)
	}
	os.Exit(3)
}

func write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return f.Close()
}

func connect(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, err := io.ReadFull(f, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil
	}
	return buf[:n], err
}
