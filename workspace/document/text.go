package document

import (
	"iter"
	"math/rand/v2"
	"strings"

	"github.com/gathering-dev/gathering/internal/position"
)

// Encoding names the code unit in which a [Position] counts characters, as
// negotiated through the LSP positionEncoding capability.
type Encoding string

// The position encodings of LSP 3.17. Any other value, including "", is
// treated as [UTF16], the encoding LSP assumes when none was negotiated.
const (
	UTF8  Encoding = "utf-8"  // bytes
	UTF16 Encoding = "utf-16" // UTF-16 code units: 2 for characters above U+FFFF, else 1
	UTF32 Encoding = "utf-32" // Unicode code points
)

// unit is e as the shared position arithmetic names it.
func (e Encoding) unit() position.Encoding {
	switch e {
	case UTF8:
		return position.UTF8
	case UTF32:
		return position.UTF32
	default:
		return position.UTF16
	}
}

// Position is a zero-based line and character offset, as in LSP. Character
// counts code units of the [Encoding] it is used with. See the package
// documentation for how out-of-range positions are clamped.
type Position struct {
	Line      uint32 `json:"line"`
	Character uint32 `json:"character"`
}

// Range is the span from Start up to, not including, End. A Range whose End
// is before its Start means the same span as the one with the two swapped.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Text is an immutable document text split into lines. The zero value is the
// empty text, which has one empty line. Methods never modify a Text, so a
// Text is safe for concurrent use, and copying one is an O(1) snapshot.
//
// Two Texts holding the same string may differ in structure; compare them with
// [Text.String].
type Text struct {
	// root is nil exactly when the text is empty; otherwise it holds at
	// least one byte.
	root *node
}

// NewText returns a Text holding s. It takes O(len(s)) time. Lines share
// memory with s rather than copy it, so s stays alive while any line of it is
// still in a Text.
func NewText(s string) Text {
	if s == "" {
		return Text{}
	}
	return Text{build(splitLines(nil, s))}
}

// String returns the whole text.
func (t Text) String() string {
	var b strings.Builder
	b.Grow(t.Len())
	walk(t.root, 0, func(_ int, line string) bool {
		b.WriteString(line)
		return true
	})
	return b.String()
}

// Len returns the length of the text in bytes.
func (t Text) Len() int {
	return t.root.byteCount()
}

// LineCount returns the number of lines, which is one more than the number of
// line terminators.
func (t Text) LineCount() int {
	return max(t.root.lineCount(), 1)
}

// Line returns line i, zero-based, with its terminator. It returns "" if i is
// out of range.
func (t Text) Line(i int) string {
	if i < 0 || i >= t.root.lineCount() {
		return ""
	}
	line, _ := lineAt(t.root, i)
	return line
}

// Lines returns an iterator over the index and text of every line, each with
// its terminator. It costs O(1) per line.
func (t Text) Lines() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		if t.root == nil {
			yield(0, "")
			return
		}
		walk(t.root, 0, yield)
	}
}

// Slice returns bytes [start, end) of the text after clamping both to
// [0, Len]. It returns "" if end is not after start.
func (t Text) Slice(start, end int) string {
	start = min(max(start, 0), t.Len())
	end = min(max(end, 0), t.Len())
	if start >= end {
		return ""
	}
	var b strings.Builder
	b.Grow(end - start)
	writeBytes(&b, t.root, start, end)
	return b.String()
}

// Offset returns the byte offset of p, clamped as the package documentation
// describes. It takes O(log n) time plus the length of p's line.
func (t Text) Offset(enc Encoding, p Position) int {
	return t.locate(enc, p).off
}

// Position returns the position of byte offset off, the inverse of
// [Text.Offset]. An off below zero means zero and one beyond [Text.Len]
// means Len; an off inside a line terminator or a multi-byte character is rounded
// down to the terminator's or the character's start.
func (t Text) Position(enc Encoding, off int) Position {
	if off <= 0 || t.root == nil {
		return Position{}
	}
	i, line, start := lineAtOffset(t.root, off)
	c := content(line)
	col := min(off-start, len(c))
	return Position{Line: clamp32(i), Character: clamp32(position.Units(enc.unit(), c, col))}
}

// Replace returns the text with r replaced by newText. It takes O(log n) time
// plus the length of newText and of the lines that r starts and ends in, and
// shares every other line with t.
func (t Text) Replace(enc Encoding, r Range, newText string) Text {
	s := t.locate(enc, r.Start)
	var e loc
	if r.End.Line == r.Start.Line && uint64(r.Start.Line) < uint64(t.root.lineCount()) {
		// The common case of an edit within one line: skip the second
		// lookup.
		e = s
		e.off = s.start + position.Column(enc.unit(), content(s.text), r.End.Character)
	} else {
		e = t.locate(enc, r.End)
	}
	if e.off < s.off {
		s, e = e, s
	}
	return t.edit(s, e, newText)
}

// ReplaceOffsets returns the text with bytes [start, end) replaced by
// newText. Both offsets are clamped to [0, Len] and swapped if end is before
// start; they are otherwise used as given, so they may split a character or a
// "\r\n".
func (t Text) ReplaceOffsets(start, end int, newText string) Text {
	if end < start {
		start, end = end, start
	}
	return t.edit(t.locateOffset(start), t.locateOffset(end), newText)
}

// loc is a byte offset together with the line that holds it.
type loc struct {
	line  int    // index of the line
	text  string // the line, with its terminator
	start int    // offset of the line's first byte
	off   int    // the offset itself, start <= off <= start+len(text)
}

// locate converts p to a loc, clamping it.
func (t Text) locate(enc Encoding, p Position) loc {
	if t.root == nil {
		return loc{}
	}
	if n := t.root.lines; uint64(p.Line) >= uint64(n) {
		line, start := lineAt(t.root, n-1)
		return loc{line: n - 1, text: line, start: start, off: t.root.bytes}
	}
	i := int(p.Line)
	line, start := lineAt(t.root, i)
	return loc{line: i, text: line, start: start, off: start + position.Column(enc.unit(), content(line), p.Character)}
}

// locateOffset converts off to a loc, clamping it to [0, Len].
func (t Text) locateOffset(off int) loc {
	if t.root == nil {
		return loc{}
	}
	off = min(max(off, 0), t.root.bytes)
	i, line, start := lineAtOffset(t.root, off)
	return loc{line: i, text: line, start: start, off: off}
}

// edit replaces the bytes from s to e, s.off <= e.off, with newText.
//
// It takes out the lines from s to e, splices newText between the part of
// the first before s and the part of the last after e, splits the result
// into lines again and puts those in their place. A line that ends in
// a lone '\r' joins the splice when the spliced text starts with '\n', so a
// "\r\n" is never split across two lines. Nothing is needed at the other end:
// the spliced text ends with the last byte of e's line, as that line did, and
// the line after a lone '\r' cannot start with '\n'.
func (t Text) edit(s, e loc, newText string) Text {
	if s.off == e.off && newText == "" {
		return t
	}
	if t.root == nil {
		return NewText(newText)
	}
	a, b := s.line, e.line
	// The lines between a and b go whole and are never read, so
	// deleting many lines costs O(log n) like deleting one.
	spliced := s.text[:s.off-s.start] + newText + e.text[e.off-e.start:]
	if spliced != "" && spliced[0] == '\n' && a > 0 {
		if prev, _ := lineAt(t.root, a-1); prev[len(prev)-1] == '\r' {
			a--
			spliced = prev + spliced
		}
	}
	var buf [4]string
	lines := splitLines(buf[:0], spliced)
	if b < t.root.lines-1 {
		// spliced ends with the terminator of line b, after which
		// splitLines reports an empty last line that belongs to line b+1.
		lines = lines[:len(lines)-1]
	}
	root := t.root
	if old, k := b-a+1, len(lines); max(old, k) <= 4 {
		// Typing, Enter and Backspace: change, add or remove a line
		// or two, one path copy each, rather than the four path
		// copies of two splits and two merges.
		common := min(old, k)
		for j := range common {
			root = setLine(root, a+j, lines[j])
		}
		for j := common; j < k; j++ {
			root = insert(root, a+j, lines[j], rand.Uint32())
		}
		for range old - common {
			root, _ = remove(root, a+common)
		}
	} else {
		before, rest := split(root, a)
		_, after := split(rest, old)
		root = merge(merge(before, build(lines)), after)
	}
	if root.bytes == 0 {
		return Text{}
	}
	return Text{root}
}

// clamp32 converts n, which is never negative, to a uint32, saturating.
func clamp32(n int) uint32 {
	return uint32(min(uint64(n), 1<<32-1))
}
