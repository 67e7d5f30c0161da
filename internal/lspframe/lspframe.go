// Package lspframe owns the header of LSP's base protocol, "Content-Length:
// N" and a blank line before each message, as every end of gathering
// writes and reads it: the editor's connection (internal/rpc), a stdio
// language server's (plugins/sdk), and the host's end of a stdio plugin
// (plugins/host/launch).
package lspframe

import (
	"bufio"
	"strconv"
)

// contentLength and headerEnd are what the header is made of around N, as
// AppendHeader writes it and CutHeader reads it.
const (
	contentLength = "Content-Length: "
	headerEnd     = "\r\n\r\n"
)

// AppendHeader appends the header of a message whose body is n bytes.
func AppendHeader(dst []byte, n int) []byte {
	dst = append(dst, contentLength...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, headerEnd...)
}

// AppendFrame appends body behind its header: the whole message, for one
// write.
func AppendFrame(dst, body []byte) []byte {
	return append(AppendHeader(dst, len(body)), body...)
}

// ParseLength parses a Content-Length value, already trimmed: decimal
// digits only, at most 18 of them, so that it cannot overflow. It
// allocates nothing, unlike strconv on a string made of the header line.
func ParseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// CutHeader reads the header at the start of b when it is exactly what
// AppendHeader writes, as nearly every client and server does:
// "Content-Length: N", CRLF, CRLF. It returns N and the header's size; ok
// is false for any other header, or one not yet whole in b, which the
// caller then reads line by line.
func CutHeader(b []byte) (length int64, size int, ok bool) {
	if len(b) < len(contentLength) || string(b[:len(contentLength)]) != contentLength {
		return 0, 0, false
	}
	i := len(contentLength)
	end := i
	for end < len(b) && end-i <= 18 && b[end] >= '0' && b[end] <= '9' {
		end++
	}
	if len(b) < end+len(headerEnd) || string(b[end:end+len(headerEnd)]) != headerEnd {
		return 0, 0, false
	}
	n, ok := ParseLength(b[i:end])
	if !ok {
		return 0, 0, false
	}
	return n, end + len(headerEnd), true
}

// ReadHeader consumes the next message's header from r when it is whole
// in r's buffer in the form CutHeader reads, and returns its length. It
// reports false, having consumed nothing, otherwise (and at the end of
// the stream): the caller then reads the header line by line, with its
// own rules and errors. Recognising the usual header at once spares
// every message the general loop, on a path whose every step is paid
// for in cold caches.
func ReadHeader(r *bufio.Reader) (length int64, ok bool) {
	if _, err := r.Peek(1); err != nil {
		return 0, false
	}
	b, _ := r.Peek(r.Buffered())
	n, size, ok := CutHeader(b)
	if !ok {
		return 0, false
	}
	r.Discard(size)
	return n, true
}
