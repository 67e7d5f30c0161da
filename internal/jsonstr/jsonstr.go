// Package jsonstr writes a Go string as a JSON string, byte for byte what
// encoding/json writes, without its reflection: on the path that forwards
// a request to a language server, json.Marshal of a method name or a URI
// cost more than copying the rest of the message.
package jsonstr

import "encoding/json"

// Append appends s to dst as encoding/json.Marshal writes it. A string of
// plain characters, as method names and URIs are, is copied between quotes;
// anything that needs an escape goes through json.Marshal.
func Append(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	return append(append(append(dst, '"'), s...), '"')
}
