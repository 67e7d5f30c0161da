// Package wire is the benchmarks' end of an LSP connection: OS pipe pairs
// and a bare client that writes pre-encoded frames and reads answers on the
// calling goroutine.
//
// Every benchmark drives both the server under test and its peer with this
// one client, so whatever the client costs is the same on both sides of a
// comparison. The client is deliberately thin (no reflection when writing,
// no reader goroutine, no pending-call map) so that the figures are
// dominated by the servers, not by it: a heavier client, such as
// internal/rpc, adds the same microseconds to both sides and pulls every
// ratio towards 1.
package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/gathering-dev/gathering/internal/lspframe"
)

// Pipe returns the two ends of a full-duplex byte stream made of two OS
// pipes (os.Pipe), the transport an editor uses when it spawns a server on
// stdio. Closing an end closes both of its files.
func Pipe() (client, server io.ReadWriteCloser, err error) {
	c2sR, c2sW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	s2cR, s2cW, err := os.Pipe()
	if err != nil {
		c2sR.Close()
		c2sW.Close()
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	return &duplex{r: s2cR, w: c2sW}, &duplex{r: c2sR, w: s2cW}, nil
}

type duplex struct {
	r io.ReadCloser
	w io.WriteCloser
}

func (d *duplex) Read(p []byte) (int, error)  { return d.r.Read(p) }
func (d *duplex) Write(p []byte) (int, error) { return d.w.Write(p) }

func (d *duplex) Close() error {
	return errors.Join(d.w.Close(), d.r.Close())
}

// AppendFrame appends body framed as LSP's base protocol requires
// (Content-Length header, blank line, body) to dst.
func AppendFrame(dst, body []byte) []byte { return lspframe.AppendFrame(dst, body) }

// AppendRequest appends the JSON body of a request (id > 0) or, with id 0,
// a notification. params must be valid JSON or nil.
func AppendRequest(dst []byte, id int64, method string, params []byte) []byte {
	dst = append(dst, `{"jsonrpc":"2.0",`...)
	if id > 0 {
		dst = append(dst, `"id":`...)
		dst = strconv.AppendInt(dst, id, 10)
		dst = append(dst, ',')
	}
	dst = append(dst, `"method":`...)
	dst = strconv.AppendQuote(dst, method)
	if params != nil {
		dst = append(dst, `,"params":`...)
		dst = append(dst, params...)
	}
	return append(dst, '}')
}

// Client is one end of an LSP connection. It is not safe for concurrent
// use: a benchmark drives it from one goroutine.
type Client struct {
	rwc    io.ReadWriteCloser
	r      *bufio.Reader
	nextID int64
	req    []byte // reused request body
	out    []byte // reused frame
	in     []byte // reused incoming body
	prefix []byte // reused expected answer prefix, as sourcegraph/jsonrpc2 writes it
	front  []byte // reused expected answer prefix, jsonrpc first, as gathering writes it
}

// NewClient returns a client over rwc.
func NewClient(rwc io.ReadWriteCloser) *Client {
	return &Client{rwc: rwc, r: bufio.NewReaderSize(rwc, 64<<10), nextID: 1}
}

// Close closes the stream.
func (c *Client) Close() error { return c.rwc.Close() }

// Write writes frames, already framed with [AppendFrame], in one write.
func (c *Client) Write(frames []byte) error {
	_, err := c.rwc.Write(frames)
	return err
}

// Notify sends one notification.
func (c *Client) Notify(method string, params []byte) error {
	c.req = AppendRequest(c.req[:0], 0, method, params)
	c.out = AppendFrame(c.out[:0], c.req)
	return c.Write(c.out)
}

// Call sends a request and returns the raw result of its answer, valid
// until the next call. Messages from the server that are not the answer
// (notifications, requests) are skipped. An error answer is returned as an
// error.
//
// The answer is recognised by its first bytes: {"id":N,"result": as
// sourcegraph/jsonrpc2 writes it (the peers), or {"jsonrpc":"2.0","id":N,"result":
// as gathering's one-pass reply writes it, so neither side pays for a full
// decode; anything else is decoded in full, so a differently ordered
// answer is still understood, only more slowly.
func (c *Client) Call(method string, params []byte) (json.RawMessage, error) {
	id := c.nextID
	c.nextID++
	c.req = AppendRequest(c.req[:0], id, method, params)
	c.out = AppendFrame(c.out[:0], c.req)
	if err := c.Write(c.out); err != nil {
		return nil, fmt.Errorf("write %s: %w", method, err)
	}
	c.prefix = append(strconv.AppendInt(append(c.prefix[:0], `{"id":`...), id, 10), `,"result":`...)
	c.front = append(strconv.AppendInt(append(c.front[:0], `{"jsonrpc":"2.0","id":`...), id, 10), `,"result":`...)
	for {
		msg, err := c.Read()
		if err != nil {
			return nil, fmt.Errorf("read answer to %s: %w", method, err)
		}
		if bytes.HasPrefix(msg, c.front) && msg[len(msg)-1] == '}' {
			// The rest is the result and the closing brace.
			return msg[len(c.front) : len(msg)-1], nil
		}
		if bytes.HasPrefix(msg, c.prefix) && msg[len(msg)-1] == '}' {
			// The rest is the result and `,"jsonrpc":"2.0"}`.
			res := msg[len(c.prefix):]
			if i := bytes.LastIndex(res, []byte(`,"jsonrpc":`)); i >= 0 {
				return res[:i], nil
			}
		}
		var env struct {
			ID     *json.RawMessage `json:"id"`
			Method string           `json:"method"`
			Result json.RawMessage  `json:"result"`
			Error  *json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(msg, &env); err != nil {
			return nil, fmt.Errorf("answer to %s: %w", method, err)
		}
		if env.Method != "" || env.ID == nil || string(*env.ID) != strconv.FormatInt(id, 10) {
			continue // a message from the server, or a stray answer
		}
		if env.Error != nil {
			return nil, fmt.Errorf("%s: error answer %s", method, *env.Error)
		}
		return env.Result, nil
	}
}

// Read reads one message body. The body is valid until the next Read or
// Call.
func (c *Client) Read() ([]byte, error) {
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			if length, err = strconv.Atoi(string(v)); err != nil {
				return nil, fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return nil, errors.New("message has no Content-Length")
	}
	if cap(c.in) < length {
		c.in = make([]byte, length)
	}
	c.in = c.in[:length]
	if _, err := io.ReadFull(c.r, c.in); err != nil {
		return nil, err
	}
	return c.in, nil
}

// Initialize runs the LSP lifecycle's opening: initialize with empty
// client capabilities, then the initialized notification.
func (c *Client) Initialize() error {
	if _, err := c.Call("initialize", []byte(`{"capabilities":{}}`)); err != nil {
		return err
	}
	return c.Notify("initialized", []byte(`{}`))
}
