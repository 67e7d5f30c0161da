// Package lspframe owns the header of LSP's base protocol, "Content-Length:
// N" and a blank line before each message, as both ends of gathering write
// and read it: the editor's connection (internal/rpc) and a stdio language
// server's (plugins/sdk).
package lspframe

import "strconv"

// AppendHeader appends the header of a message whose body is n bytes.
func AppendHeader(dst []byte, n int) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, "\r\n\r\n"...)
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
