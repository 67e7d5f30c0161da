package rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"sync"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/gathering-dev/gathering/internal/jsonvalid"
	"github.com/gathering-dev/gathering/internal/lspframe"
	"github.com/gathering-dev/gathering/protocol"
)

// DefaultMaxFrameBytes is the frame size limit when none is configured.
const DefaultMaxFrameBytes = 64 << 20

const (
	maxHeaderLine  = 1024 // bytes in one header line
	maxHeaderLines = 16
	idPeekBytes    = 1024 // how much of a refused body is kept to find its id
)

// rejectedMethod is the method name of the placeholder message the codec
// hands the connection in place of a frame it refused. The connection answers
// it and never passes it to the handler; a client that sends this method
// itself finds no rejection waiting and gets method-not-found.
const rejectedMethod = "$/gathering/rejectedFrame"

var placeholder = []byte(`{"jsonrpc":"2.0","method":"` + rejectedMethod + `"}`)

// rejection is a frame the codec refused, to be answered with an error.
type rejection struct {
	id  json.RawMessage // the request's id, or nil when it could not be found
	err *protocol.Error
}

// codec reads and writes LSP base-protocol frames: headers, a blank line, and
// a JSON body of Content-Length bytes.
//
// Unlike jsonrpc2.VSCodeObjectCodec it reads header names case-insensitively,
// refuses a frame larger than max before reading its body, and turns frames
// it cannot decode into a rejection answered on the same connection instead
// of an error that closes it. ReadObject is called only from the connection's
// read goroutine, which also consumes pending and skip, so they need no lock.
type codec struct {
	max     int64
	pending *rejection
	// skip is how many bytes of a refused frame's body are still unread:
	// the next ReadObject discards them before it reads the next header.
	skip int64
	// params holds, when paramsSet, the params of the request ReadObject
	// last returned, exactly as sent; see takeParams.
	params    json.RawMessage
	paramsSet bool
	// taker is Options.Take bound to the connection.
	taker func(*Request) bool
	// req is the request the taker is offered, reused; methods interns
	// the method names of the requests split for it.
	req     Request
	methods map[string]string

	// answers holds, by request id, the calls this side is waiting for
	// and, once their answer is read, its result as sent; see expect.
	mu      sync.Mutex
	answers map[string]json.RawMessage
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// framed is a whole message, header and body, that WriteObject writes as
// it is when given a pointer to it: [Conn.Reply] builds its answers that
// way.
type framed []byte

// WriteObject implements jsonrpc2.ObjectCodec. Each message reaches the
// stream in one write: w is jsonrpc2's buffered writer, which passes a
// message larger than its buffer straight through, so a large body after
// a buffered header would go out in two writes or three, each waking the
// reader for part of a message.
func (c *codec) WriteObject(w io.Writer, obj any) error {
	if f, ok := obj.(*framed); ok {
		_, err := w.Write(*f)
		return err
	}
	var data []byte
	var err error
	if m, ok := obj.(json.Marshaler); ok {
		// jsonrpc2's messages marshal themselves; json.Marshal would only
		// scan and compact their output once more.
		data, err = m.MarshalJSON()
	} else {
		data, err = json.Marshal(obj)
	}
	if err != nil {
		return err
	}
	var hdr [40]byte
	h := lspframe.AppendHeader(hdr[:0], len(data))
	if bw, ok := w.(*bufio.Writer); ok && len(h)+len(data) <= bw.Available() {
		bw.Write(h)
		_, err = bw.Write(data)
		return err
	}
	_, err = w.Write(append(append(make([]byte, 0, len(h)+len(data)), h...), data...))
	return err
}

// ReadObject implements jsonrpc2.ObjectCodec.
//
// A frame whose Content-Length is over max is refused from its header: only
// the first idPeekBytes of its body are read, to find the request's id, and
// ReadObject returns at once with the placeholder, so the too_large answer
// goes out while the client may still be writing the body. The rest of the
// body is discarded by the next ReadObject, copied into io.Discard a few KiB
// at a time, so no more than one such chunk of it is ever in memory; the
// connection then goes on with the next frame.
//
// A request Options.Take takes is not returned at all: ReadObject goes on
// to the next frame, so jsonrpc2 never decodes it.
func (c *codec) ReadObject(r *bufio.Reader, v any) error {
	for {
		taken, err := c.readOne(r, v)
		if !taken {
			return err
		}
	}
}

// readOne reads one frame into v, or reports that Options.Take took it.
func (c *codec) readOne(r *bufio.Reader, v any) (taken bool, err error) {
	c.params, c.paramsSet = nil, false
	if n := c.skip; n > 0 {
		c.skip = 0
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			return false, fmt.Errorf("skip refused frame: %w", err)
		}
	}
	length, err := readHeader(r)
	if err != nil {
		return false, err
	}
	if length > c.max {
		prefix := make([]byte, min(length, idPeekBytes))
		if _, err := io.ReadFull(r, prefix); err != nil {
			return false, fmt.Errorf("read refused frame: %w", err)
		}
		c.skip = length - int64(len(prefix))
		return false, c.reject(v, peekID(prefix), protocol.Errorf(protocol.ErrTooLarge,
			"message of %d bytes is over the %d-byte frame limit", length, c.max))
	}

	bp := bodyPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 { // don't let one big message pin memory
			bodyPool.Put(bp)
		}
	}()
	body := (*bp)[:0]
	if int64(cap(body)) < length {
		body = make([]byte, length)
		*bp = body
	}
	body = body[:length]
	if _, err := io.ReadFull(r, body); err != nil {
		return false, fmt.Errorf("read frame body: %w", err)
	}
	if c.taker != nil {
		if req, ok := c.commonRequest(body); ok && c.taker(req) {
			return true, nil
		}
	}
	if c.readFast(body, v) {
		return false, nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		resetValue(v)
		if !json.Valid(body) {
			return false, c.reject(v, nil, protocol.Errorf(protocol.ErrParse, "message is not valid JSON"))
		}
		return false, c.reject(v, findID(body), protocol.Errorf(protocol.ErrInvalidRequest, "not a JSON-RPC 2.0 message: %v", err))
	}
	return false, nil
}

// envelope is the top level of a message, its params or result kept as sent.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method json.RawMessage `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// readFast decodes body into v the cheap way when it can, and reports
// whether it did. jsonrpc2 would decode a request's params into a
// map[string]any and marshal them back (most of the cost of a didChange),
// and the result of an answer into interface{} and then twice more. So the
// message is decoded once here; jsonrpc2 gets only a small envelope, and the
// params, or the result of an answer to a call this side is waiting for, are
// kept aside as sent (json.RawMessage fields are copies, so they outlive the
// pooled body). Anything else is left to the full decode.
func (c *codec) readFast(body []byte, v any) bool {
	var env envelope
	if json.Unmarshal(body, &env) != nil {
		return false
	}
	switch {
	case len(env.Method) > 0 && env.Method[0] == '"':
		small := append([]byte(`{"jsonrpc":"2.0","method":`), env.Method...)
		if env.ID != nil {
			small = append(append(small, `,"id":`...), env.ID...)
		}
		if json.Unmarshal(append(small, '}'), v) != nil {
			resetValue(v)
			return false
		}
		c.params, c.paramsSet = env.Params, true
		return true

	case env.Method == nil && env.Error == nil && env.Result != nil && validID(env.ID):
		var id jsonrpc2.ID
		if json.Unmarshal(env.ID, &id) != nil {
			return false
		}
		key := id.String()
		c.mu.Lock()
		_, waiting := c.answers[key]
		c.mu.Unlock()
		if !waiting {
			return false
		}
		small := append(append([]byte(`{"jsonrpc":"2.0","id":`), env.ID...), `,"result":null}`...)
		if json.Unmarshal(small, v) != nil {
			resetValue(v)
			return false
		}
		c.mu.Lock()
		if _, waiting := c.answers[key]; waiting { // the call may have given up meanwhile
			c.answers[key] = env.Result
		}
		c.mu.Unlock()
		return true
	}
	return false
}

// expect notes that a call with this key awaits its answer.
func (c *codec) expect(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil {
		c.answers = map[string]json.RawMessage{}
	}
	c.answers[key] = nil
}

// result returns the result kept for key, nil if none was.
func (c *codec) result(key string) json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answers[key]
}

// forget drops key, answered or abandoned.
func (c *codec) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.answers, key)
}

var requestPrefix = []byte(`{"jsonrpc":"2.0","id":`)

// commonRequest splits a request in the shape editors send,
// {"jsonrpc":"2.0","id":N,"method":"M","params":P} with a number or a
// plain string for N, a method without escapes and P exactly one JSON value
// (so that it cannot carry more keys into the envelope). Anything else is
// left to jsonrpc2.
//
// The request is c's own, and its Params are part of body: both are reused
// for the next message, so the taker copies what it keeps. The method
// name is interned. A request split this way allocates nothing (unless its
// id is a string): the taker forwards most of them to a language server,
// on a path where every allocation is memory fetched into a cold cache.
func (c *codec) commonRequest(body []byte) (*Request, bool) {
	rest, ok := bytes.CutPrefix(bytes.TrimRight(body, " \t\r\n"), requestPrefix)
	if !ok || len(rest) == 0 || rest[len(rest)-1] != '}' {
		return nil, false
	}
	rest = rest[:len(rest)-1]
	var id jsonrpc2.ID
	if rest[0] == '"' {
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 || bytes.IndexByte(rest[1:end+1], '\\') >= 0 {
			return nil, false
		}
		id = jsonrpc2.ID{Str: string(rest[1 : end+1]), IsString: true}
		rest = rest[end+2:]
	} else {
		n := 0
		for n < len(rest) && n <= 20 && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		num, err := strconv.ParseUint(string(rest[:n]), 10, 64)
		if n == 0 || err != nil || (n > 1 && rest[0] == '0') {
			return nil, false
		}
		id = jsonrpc2.ID{Num: num}
		rest = rest[n:]
	}
	rest, ok = bytes.CutPrefix(rest, []byte(`,"method":"`))
	if !ok {
		return nil, false
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil, false
	}
	params, ok := bytes.CutPrefix(rest[end+1:], []byte(`,"params":`))
	if !ok || !jsonvalid.Valid(params) {
		return nil, false
	}
	c.req = Request{Method: c.intern(rest[:end]), ID: ID{id}, Params: bytes.TrimSpace(params)}
	return &c.req, true
}

// maxInterned bounds the method names a connection interns: a client
// sending made-up methods gets a fresh string for each beyond it.
const maxInterned = 512

// intern returns name as a string, the same one each time for the first
// maxInterned names.
func (c *codec) intern(name []byte) string {
	if s, ok := c.methods[string(name)]; ok {
		return s
	}
	s := string(name)
	if len(c.methods) < maxInterned {
		if c.methods == nil {
			c.methods = map[string]string{}
		}
		c.methods[s] = s
	}
	return s
}

// takeParams returns the params of the request ReadObject last returned,
// if it kept them aside, and forgets them.
func (c *codec) takeParams() (json.RawMessage, bool) {
	p, ok := c.params, c.paramsSet
	c.params, c.paramsSet = nil, false
	return p, ok
}

// reject records r and fills v with the placeholder message.
func (c *codec) reject(v any, id json.RawMessage, err error) error {
	c.pending = &rejection{id: id, err: protocol.AsError(err)}
	return json.Unmarshal(placeholder, v)
}

// take returns and clears the pending rejection.
func (c *codec) take() *rejection {
	r := c.pending
	c.pending = nil
	return r
}

// readHeader reads the header block and returns the Content-Length.
func readHeader(r *bufio.Reader) (int64, error) {
	if n, ok := lspframe.ReadHeader(r); ok {
		if n == 0 {
			return 0, fmt.Errorf("bad Content-Length %q", "0")
		}
		return n, nil
	}
	return readHeaderLines(r)
}

// readHeaderLines reads the header block line by line: any header lines,
// in any case, as long as one is a Content-Length.
func readHeaderLines(r *bufio.Reader) (int64, error) {
	length := int64(-1)
	for n := 0; ; n++ {
		if n == maxHeaderLines {
			return 0, errors.New("too many header lines")
		}
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, errors.New("header line too long")
			}
			if err == io.EOF && n == 0 && len(line) == 0 {
				return 0, io.EOF // clean end between messages
			}
			return 0, fmt.Errorf("read header: %w", err)
		}
		if len(line) > maxHeaderLine {
			return 0, errors.New("header line too long")
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if length < 0 {
				return 0, errors.New("message has no Content-Length header")
			}
			return length, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("malformed header line %q", line)
		}
		if bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			n, ok := lspframe.ParseLength(bytes.TrimSpace(value))
			if !ok || n == 0 {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
			length = n
		}
	}
}

// findID returns the id member of a JSON object, or nil.
func findID(body []byte) json.RawMessage {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil || !validID(m.ID) {
		return nil
	}
	return m.ID
}

// peekID finds the id in the first bytes of a message too large to decode:
// clients write "id" before "params", so it is usually there. It scans the
// top-level members of the object and stops at the end of the prefix.
func peekID(prefix []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil
		}
		if key == "id" && validID(val) {
			return val
		}
	}
	return nil
}

// validID reports whether raw is a JSON string or integer, the id forms LSP allows.
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '"' {
		var s string
		return json.Unmarshal(raw, &s) == nil
	}
	_, err := strconv.ParseInt(string(raw), 10, 64)
	return err == nil
}

// resetValue sets *v to its zero value, undoing a partial decode.
func resetValue(v any) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
}
