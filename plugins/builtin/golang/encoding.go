package golang

import (
	"sort"
	"unicode/utf8"
)

// posEncoding is an LSP position encoding: the unit Position.Character counts.
type posEncoding int

const (
	encUTF16 posEncoding = iota // LSP's default
	encUTF8
	encUTF32
)

// String returns the LSP name of the encoding.
func (e posEncoding) String() string {
	switch e {
	case encUTF8:
		return "utf-8"
	case encUTF32:
		return "utf-32"
	default:
		return "utf-16"
	}
}

// chooseEncoding returns the first encoding in offered that the plugin
// supports, or utf-16 when the client offers none (LSP 3.17 §positionEncodings).
func chooseEncoding(offered []string) posEncoding {
	for _, name := range offered {
		switch name {
		case "utf-16":
			return encUTF16
		case "utf-8":
			return encUTF8
		case "utf-32":
			return encUTF32
		}
	}
	return encUTF16
}

// lineIndex maps between byte offsets and LSP positions of one text. It is
// immutable and so safe for concurrent use.
type lineIndex struct {
	text  string
	lines []int // byte offset of the start of each line
}

func newLineIndex(text string) *lineIndex {
	lines := make([]int, 1, 64)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			lines = append(lines, i+1)
		}
	}
	return &lineIndex{text: text, lines: lines}
}

// lineEnd returns the offset just past the content of line l, before its
// "\n" or "\r\n".
func (x *lineIndex) lineEnd(l int) int {
	end := len(x.text)
	if l+1 < len(x.lines) {
		end = x.lines[l+1] - 1
		if end > x.lines[l] && x.text[end-1] == '\r' {
			end--
		}
	}
	return end
}

// offset returns the byte offset of p in enc. A line past the end maps to the
// end of the text and a character past the end of its line to the line's end,
// as LSP asks; a character inside a UTF-16 surrogate pair maps to the start of
// the rune.
func (x *lineIndex) offset(p position, enc posEncoding) int {
	if int(p.Line) >= len(x.lines) {
		return len(x.text)
	}
	start, end := x.lines[p.Line], x.lineEnd(int(p.Line))
	if enc == encUTF8 {
		return min(start+int(p.Character), end)
	}
	units := int(p.Character)
	off := start
	for off < end && units > 0 {
		r, size := utf8.DecodeRuneInString(x.text[off:end])
		n := 1
		if enc == encUTF16 && r >= 0x10000 {
			n = 2
		}
		if n > units {
			break
		}
		units -= n
		off += size
	}
	return off
}

// position returns the LSP position of byte offset off in enc; off is clamped
// to the text.
func (x *lineIndex) position(off int, enc posEncoding) position {
	off = max(0, min(off, len(x.text)))
	l := sort.Search(len(x.lines), func(i int) bool { return x.lines[i] > off }) - 1
	start := x.lines[l]
	seg := x.text[start:off]
	var ch int
	switch enc {
	case encUTF8:
		ch = len(seg)
	case encUTF32:
		ch = utf8.RuneCountInString(seg)
	default:
		for _, r := range seg {
			if r >= 0x10000 {
				ch += 2
			} else {
				ch++
			}
		}
	}
	return position{Line: uint32(l), Character: uint32(ch)}
}

// rangeOf returns the LSP range of the byte span [start, end).
func (x *lineIndex) rangeOf(start, end int, enc posEncoding) lspRange {
	return lspRange{Start: x.position(start, enc), End: x.position(end, enc)}
}
