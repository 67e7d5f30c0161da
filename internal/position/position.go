// Package position converts between a byte index in a line of text and the
// character of an LSP Position, counted in one of LSP's three position
// encodings. The document store (workspace/document) and the plugin host
// (plugins/host, converting between an editor's encoding and a plugin's)
// both count characters exactly this way.
//
// Bytes that are not valid UTF-8 count as one code unit each, in every
// encoding, exactly as [utf8.DecodeRuneInString] steps over them.
package position

import "unicode/utf8"

// Encoding is the code unit a Position's character counts.
type Encoding uint8

// The three position encodings of LSP 3.17.
const (
	UTF16 Encoding = iota // UTF-16 code units: 2 for characters above U+FFFF, else 1
	UTF8                  // bytes
	UTF32                 // Unicode code points
)

// Column returns the byte index in s, a line without its terminator, of
// the character'th code unit in enc, clamped to len(s) and rounded down to
// the start of a character.
func Column(enc Encoding, s string, character uint32) int {
	if enc == UTF8 {
		if uint64(character) >= uint64(len(s)) {
			return len(s)
		}
		return charStart(s, int(character))
	}
	want := uint64(character)
	var n uint64 // code units before s[i]
	i := 0
	for i < len(s) && n < want {
		if s[i] < utf8.RuneSelf {
			i++
			n++
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		u := unitsOf(enc, w)
		if n+u > want {
			break // inside a surrogate pair
		}
		i += w
		n += u
	}
	return i
}

// Units returns how many code units of enc the characters of s[:col] take,
// leaving out a character that col cuts in two.
func Units(enc Encoding, s string, col int) int {
	if enc == UTF8 {
		return charStart(s, col)
	}
	n := 0
	for i := 0; i < col; {
		if s[i] < utf8.RuneSelf {
			i++
			n++
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		if i+w > col {
			break
		}
		i += w
		n += int(unitsOf(enc, w))
	}
	return n
}

// unitsOf returns how many code units of enc a character that is w bytes
// long in UTF-8 takes. A byte that is not valid UTF-8 has w == 1.
func unitsOf(enc Encoding, w int) uint64 {
	switch {
	case enc == UTF8:
		return uint64(w)
	case enc == UTF32:
		return 1
	case w == 4:
		return 2 // U+10000 and above are exactly the four-byte sequences
	default:
		return 1
	}
}

// charStart returns i rounded down to the start of the character that holds
// s[i], decoding s from its start as utf8.DecodeRuneInString does. Only a
// continuation byte can be inside a character, and only within three bytes of
// a lead byte that decodes to a valid sequence covering it: a lead byte is
// never a continuation, so that sequence is one the forward decoding finds.
func charStart(s string, i int) int {
	if i >= len(s) || utf8.RuneStart(s[i]) {
		return i
	}
	for j := i - 1; j >= max(i-3, 0); j-- {
		if utf8.RuneStart(s[j]) {
			if _, w := utf8.DecodeRuneInString(s[j:]); j+w > i {
				return j
			}
			break
		}
	}
	return i
}
