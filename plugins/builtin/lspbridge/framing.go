package lspbridge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// errFraming marks output from the server that is not Content-Length framed
// JSON-RPC; the bridge cannot resynchronise after it.
var errFraming = errors.New("malformed LSP framing")

// readHeader reads one message header block from r and returns the body
// length it announces. It accepts "\r\n" and bare "\n" line ends and ignores
// headers other than Content-Length (Content-Type, say). io.EOF before the
// first header byte is returned as is: the server closed its stdout between
// messages.
func readHeader(r *bufio.Reader) (int64, error) {
	length := int64(-1)
	first := true
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if first && err == io.EOF && len(line) == 0 {
				return 0, io.EOF
			}
			if err == bufio.ErrBufferFull {
				return 0, fmt.Errorf("%w: header line longer than %d bytes", errFraming, r.Size())
			}
			if err == io.EOF {
				return 0, fmt.Errorf("%w: output ended inside a header", errFraming)
			}
			return 0, err
		}
		first = false
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if length < 0 {
				return 0, fmt.Errorf("%w: header without Content-Length", errFraming)
			}
			return length, nil
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return 0, fmt.Errorf("%w: header line %q has no colon", errFraming, truncate(line, 80))
		}
		if !bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: bad Content-Length %q", errFraming, truncate(bytes.TrimSpace(value), 40))
		}
		length = n
	}
}

// appendHeader appends the Content-Length header block for a body of n bytes.
func appendHeader(dst []byte, n int) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, "\r\n\r\n"...)
}

// truncate shortens b for an error message.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
