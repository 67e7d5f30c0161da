package sdk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"google.golang.org/grpc"

	"github.com/gathering-dev/gathering/internal/lspframe"
	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// Transport carries whole JSON-RPC messages, one per Read or Write, with no
// framing header. Read returns io.EOF once the host has closed its side; it
// is called from one goroutine at a time. Write is safe for concurrent use.
type Transport interface {
	Read() ([]byte, error)
	Write([]byte) error
}

// streamTransport is a Session stream: one message per Frame.
type streamTransport struct {
	s        grpc.BidiStreamingServer[pluginv1.Frame, pluginv1.Frame]
	maxBytes int
	mu       sync.Mutex
}

func (t *streamTransport) Read() ([]byte, error) {
	f, err := t.s.Recv()
	if err != nil {
		return nil, err
	}
	return f.Message, nil
}

// Write refuses a message over the cap itself: gRPC would refuse it too,
// but by ending the whole Session.
func (t *streamTransport) Write(b []byte) error {
	if len(b) > t.maxBytes {
		return &TooLargeError{Size: len(b), Max: t.maxBytes}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.Send(&pluginv1.Frame{Message: b})
}

// stdioTransport frames messages as LSP does on stdio: a header of
// "Name: value" lines ending in an empty line, of which only Content-Length
// matters, then that many bytes.
type stdioTransport struct {
	r        *bufio.Reader
	w        io.Writer
	maxBytes int
	mu       sync.Mutex
	buf      []byte // the last frame written, for reuse; guarded by mu
}

// NewStdioTransport is a [Transport] over LSP's Content-Length framing on r
// and w: what a language server speaks on its stdin and stdout. Read
// refuses a message over maxBytes with a *[TooLargeError] after skipping
// it, so the stream stays readable; Write is safe for concurrent use and
// writes each message with one call to w.Write.
func NewStdioTransport(r io.Reader, w io.Writer, maxBytes int) Transport {
	return newStdioTransport(r, w, maxBytes)
}

func newStdioTransport(r io.Reader, w io.Writer, maxBytes int) *stdioTransport {
	return &stdioTransport{r: bufio.NewReader(r), w: w, maxBytes: maxBytes}
}

// errBadHeader means the stream cannot be read on: without a length there is
// no finding the next message.
var errBadHeader = errors.New("sdk: bad message header")

func (t *stdioTransport) Read() ([]byte, error) {
	length, err := t.readHeader()
	if err != nil {
		return nil, err
	}
	if length > t.maxBytes {
		if _, err := io.CopyN(io.Discard, t.r, int64(length)); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, &TooLargeError{Size: length, Max: t.maxBytes}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(t.r, body); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return body, nil
}

// readHeader reads a message's header and returns its Content-Length:
// the usual header at once, any other line by line.
func (t *stdioTransport) readHeader() (int, error) {
	if n, ok := lspframe.ReadHeader(t.r); ok {
		if n > math.MaxInt {
			return 0, fmt.Errorf("%w: Content-Length %d", errBadHeader, n)
		}
		return int(n), nil
	}
	length := -1
	for first := true; ; first = false {
		line, err := t.r.ReadSlice('\n')
		if err == io.EOF && first && len(line) == 0 {
			return 0, io.EOF
		}
		if err == io.EOF {
			return 0, io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, fmt.Errorf("%w: %v", errBadHeader, err)
		}
		text := bytes.TrimRight(line, "\r\n")
		if len(text) == 0 {
			break
		}
		name, value, ok := bytes.Cut(text, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("%w: %q", errBadHeader, text)
		}
		if bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			n, ok := lspframe.ParseLength(bytes.TrimSpace(value))
			if !ok || n > math.MaxInt {
				return 0, fmt.Errorf("%w: %q", errBadHeader, text)
			}
			length = int(n)
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("%w: no Content-Length", errBadHeader)
	}
	return length, nil
}

// Write frames b in a buffer it keeps between messages (a large one is
// let go), so that header and body go out in one write.
func (t *stdioTransport) Write(b []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	frame := lspframe.AppendFrame(t.buf[:0], b)
	_, err := t.w.Write(frame)
	if cap(frame) <= keptFrameBytes {
		t.buf = frame
	}
	return err
}

// keptFrameBytes is the largest frame buffer a stdio transport keeps for
// the next message.
const keptFrameBytes = 64 << 10
