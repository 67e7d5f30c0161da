// Package jsonvalid owns the syntactic JSON check on the request path between
// editor and language server.
//
// It exists because encoding/json.Valid drives its scanner through a function
// pointer per input byte, and that per-byte state machine is a measurable cost
// for every message we accept. Valid performs the same check with the same
// answers, using straight-line loops, a word-at-a-time scan of string bodies
// and an explicit nesting stack, so it is several times faster, does not
// allocate for ordinary nesting depths and cannot overflow the goroutine stack
// however deep the input nests.
package jsonvalid

import (
	"encoding/binary"
	"math/bits"
)

// maxDepth is the deepest nesting of arrays and objects Valid accepts. It is
// encoding/json's limit (maxNestingDepth in its scanner), so that the two
// agree on deep input: 10000 nested arrays are valid, 10001 are not.
const maxDepth = 10000

// Valid reports whether b is exactly one syntactically valid JSON value
// (RFC 8259), with optional surrounding whitespace, exactly as
// encoding/json.Valid does.
//
// Like encoding/json.Valid, it accepts invalid UTF-8 inside strings and any
// \uXXXX escape, including lone surrogates, and it rejects input nested more
// than 10000 containers deep. It does not recurse: the stack of open
// containers lives in a fixed array for the first 64 levels and on the heap
// beyond that.
func Valid(b []byte) bool {
	var fixed [64]byte
	stack := fixed[:0] // '[' or '{' for each open container, innermost last
	n := len(b)
	i := 0

value: // b[i:] must start (after whitespace) with a value.
	for {
		i = skipSpace(b, i)
		if i >= n {
			return false
		}
		c := b[i]
		if (c == '{' || c == '[') && len(stack) == maxDepth {
			return false
		}
		switch c {
		case '{':
			i = skipSpace(b, i+1)
			if i < n && b[i] == '}' {
				i++
				break
			}
			stack = append(stack, '{')
			if i = member(b, i); i < 0 {
				return false
			}
			continue value
		case '[':
			i = skipSpace(b, i+1)
			if i < n && b[i] == ']' {
				i++
				break
			}
			stack = append(stack, '[')
			continue value
		case '"':
			if i = str(b, i+1); i < 0 {
				return false
			}
		case 't':
			if !lit(b, i, "true") {
				return false
			}
			i += 4
		case 'f':
			if !lit(b, i, "false") {
				return false
			}
			i += 5
		case 'n':
			if !lit(b, i, "null") {
				return false
			}
			i += 4
		default:
			if i = number(b, i); i < 0 {
				return false
			}
		}

		// A value just ended: close containers until one continues.
		for {
			i = skipSpace(b, i)
			if len(stack) == 0 {
				return i == n
			}
			if i >= n {
				return false
			}
			top := stack[len(stack)-1]
			switch c := b[i]; {
			case c == ',':
				if top == '{' {
					if i = member(b, skipSpace(b, i+1)); i < 0 {
						return false
					}
				} else {
					i++
				}
				continue value
			case c == ']' && top == '[', c == '}' && top == '{':
				stack = stack[:len(stack)-1]
				i++
			default:
				return false
			}
		}
	}
}

// member scans an object key and its colon starting at b[i], returning the
// index just past the colon, or -1.
func member(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = str(b, i+1); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			break
		}
	}
	return i
}

// lit reports whether b[i:] starts with the literal s.
func lit(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// number scans a number starting at b[i], returning the index just past it,
// or -1. Only the number's own grammar is checked; what may follow it is the
// caller's business.
func number(b []byte, i int) int {
	n := len(b)
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= n:
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < n && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// digits returns the index of the first non-digit byte at or after i.
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special has the high bit set in each byte of x that is '"', '\\' or below
// 0x20, and possibly in bytes above the first such byte, never below it: the
// lowest set bit therefore locates the first byte a string scan must stop at.
func special(x uint64) uint64 {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	return ((x-lsb*0x20)&^x | (q-lsb)&^q | (s-lsb)&^s) & msb
}

// str scans the rest of a string whose opening quote precedes b[i], returning
// the index just past the closing quote, or -1.
func str(b []byte, i int) int {
	n := len(b)
	for {
		// Skip ordinary bytes, eight at a time while possible.
		for i+8 <= n {
			m := special(binary.LittleEndian.Uint64(b[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < n && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
			i++
		}
		if i >= n {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= n {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if n-i < 5 || !hex(b[i+1]) || !hex(b[i+2]) || !hex(b[i+3]) || !hex(b[i+4]) {
					return -1
				}
				i += 5
			default:
				return -1
			}
		default: // control character
			return -1
		}
	}
}

func hex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
