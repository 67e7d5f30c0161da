package golang

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

// stdioClient is a small LSP client: it serves Server() through
// sdk.ServeStdio over a pair of pipes, as the host's "direct" peer does.
type stdioClient struct {
	t    testing.TB
	w    *io.PipeWriter // to the plugin
	rec  *recorder
	done chan error // ServeStdio's result

	wmu     sync.Mutex
	mu      sync.Mutex
	nextID  int
	pending map[int]chan response
	logs    []string
}

type response struct {
	Result json.RawMessage `json:"result"`
	Error  *sdk.Error      `json:"error"`
}

func newStdioClient(t testing.TB) *stdioClient {
	toPlugin, fromClient := io.Pipe()
	toClient, fromPlugin := io.Pipe()
	c := &stdioClient{t: t, w: fromClient, rec: newRecorder(), done: make(chan error, 1), pending: map[int]chan response{}}
	go func() {
		err := sdk.ServeStdio(Server(), toPlugin, fromPlugin)
		fromPlugin.Close()
		c.done <- err
	}()
	go c.readLoop(bufio.NewReader(toClient))
	t.Cleanup(c.close)
	return c
}

func (c *stdioClient) write(msg map[string]any) error {
	msg["jsonrpc"] = "2.0"
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n%s", len(b), b)
	return err
}

func (c *stdioClient) readLoop(r *bufio.Reader) {
	for {
		n := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				c.failPending()
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			c.failPending()
			return
		}
		var msg struct {
			ID     *int            `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			response
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			panic(fmt.Sprintf("plugin sent bad JSON %q: %v", body, err))
		}
		switch {
		case msg.Method == "textDocument/publishDiagnostics":
			c.rec.publish(msg.Params)
		case msg.Method != "":
			c.mu.Lock()
			c.logs = append(c.logs, msg.Method+" "+string(msg.Params))
			c.mu.Unlock()
		case msg.ID != nil:
			c.mu.Lock()
			ch := c.pending[*msg.ID]
			delete(c.pending, *msg.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- msg.response
			}
		}
	}
}

func (c *stdioClient) failPending() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, ch := range c.pending {
		ch <- response{Error: &sdk.Error{Code: -1, Message: "connection closed"}}
		delete(c.pending, id)
	}
}

func (c *stdioClient) call(method string, params, result any) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan response, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.write(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return err
	}
	res := <-ch
	if res.Error != nil {
		return res.Error
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(res.Result, result)
}

func (c *stdioClient) notify(method string, params any) {
	if err := c.write(map[string]any{"method": method, "params": params}); err != nil {
		c.t.Fatalf("notify %s: %v", method, err)
	}
}

func (c *stdioClient) diagnostics(uri string, ok func([]diagnostic) bool) []diagnostic {
	return c.rec.wait(c.t, uri, ok)
}

// close ends the session as an editor does (shutdown, exit) and waits for
// ServeStdio to return; the plugin must not have logged errors.
func (c *stdioClient) close() {
	if c.done == nil {
		return
	}
	_ = c.call("shutdown", nil, nil)
	c.notify("exit", nil)
	if err := <-c.done; err != nil {
		c.t.Errorf("ServeStdio: %v", err)
	}
	c.done = nil
	c.w.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.logs {
		c.t.Errorf("plugin logged: %s", l)
	}
}

func newClient(t *testing.T) client { return newStdioClient(t) }
