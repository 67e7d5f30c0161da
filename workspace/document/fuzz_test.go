package document

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf16"
)

// model is the obviously correct reference for Text: a plain string, split
// into lines and converted between encodings one character at a time, with
// none of the code that Text uses.
type model string

// lines splits m byte by byte: a line ends after '\n', or after a '\r' that no
// '\n' follows.
func (m model) lines() []string {
	var out []string
	var cur []byte
	for i := 0; i < len(m); i++ {
		cur = append(cur, m[i])
		if m[i] == '\n' || (m[i] == '\r' && (i+1 == len(m) || m[i+1] != '\n')) {
			out = append(out, string(cur))
			cur = nil
		}
	}
	return append(out, string(cur))
}

// modelChar is one character of a line: how many bytes it takes and how many
// code units it counts for.
type modelChar struct{ bytes, units int }

// chars decodes a line's content with a range loop, which yields U+FFFD one
// byte at a time for invalid UTF-8, and counts units with unicode/utf16.
func modelChars(enc Encoding, line string) []modelChar {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	var out []modelChar
	var starts []int
	var runes []rune
	for i, r := range line {
		starts = append(starts, i)
		runes = append(runes, r)
	}
	for k, r := range runes {
		end := len(line)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		c := modelChar{bytes: end - starts[k]}
		switch enc {
		case UTF8:
			c.units = c.bytes
		case UTF32:
			c.units = 1
		default:
			c.units = utf16.RuneLen(r)
		}
		out = append(out, c)
	}
	return out
}

func (m model) offset(enc Encoding, p Position) int {
	return offsetIn(m.lines(), enc, p)
}

// offsetIn is model.offset given the model's lines, so that compare can
// split them once.
func offsetIn(lines []string, enc Encoding, p Position) int {
	if int(p.Line) >= len(lines) {
		return total(lines)
	}
	off := 0
	for _, l := range lines[:p.Line] {
		off += len(l)
	}
	units := 0
	for _, c := range modelChars(enc, lines[p.Line]) {
		if units+c.units > int(p.Character) {
			break
		}
		units += c.units
		off += c.bytes
	}
	return off
}

func (m model) position(enc Encoding, off int) Position {
	return positionIn(m.lines(), enc, off)
}

func positionIn(lines []string, enc Encoding, off int) Position {
	off = min(max(off, 0), total(lines))
	start := 0
	for i, l := range lines {
		if off < start+len(l) || i == len(lines)-1 {
			units := 0
			pos := start
			for _, c := range modelChars(enc, l) {
				if pos+c.bytes > off {
					break
				}
				pos += c.bytes
				units += c.units
			}
			return Position{Line: uint32(i), Character: uint32(units)}
		}
		start += len(l)
	}
	panic("unreachable")
}

func total(lines []string) int {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	return n
}

func (m model) replace(enc Encoding, r Range, s string) model {
	a, b := m.offset(enc, r.Start), m.offset(enc, r.End)
	if b < a {
		a, b = b, a
	}
	return m[:a] + model(s) + m[b:]
}

// unitsIn returns how many units line's content takes in enc.
func unitsIn(enc Encoding, line string) int {
	n := 0
	for _, c := range modelChars(enc, line) {
		n += c.units
	}
	return n
}

// compare checks t against m in every way the tests know, including the
// tree's own invariants.
func compare(t *testing.T, text Text, m model) {
	t.Helper()
	checkTree(t, text)
	if got := text.String(); got != string(m) {
		t.Fatalf("String() = %q, want %q", got, m)
	}
	if got := text.Len(); got != len(m) {
		t.Fatalf("Len() = %d, want %d", got, len(m))
	}
	lines := m.lines()
	if got := text.LineCount(); got != len(lines) {
		t.Fatalf("LineCount() of %q = %d, want %d", m, got, len(lines))
	}
	for i, want := range lines {
		if got := text.Line(i); got != want {
			t.Fatalf("Line(%d) of %q = %q, want %q", i, m, got, want)
		}
	}
	if got := text.Line(len(lines)); got != "" {
		t.Fatalf("Line(%d) past the end = %q, want \"\"", len(lines), got)
	}
	i := 0
	for j, line := range text.Lines() {
		if j != i || line != lines[i] {
			t.Fatalf("Lines() yields (%d, %q), want (%d, %q)", j, line, i, lines[i])
		}
		i++
	}
	if i != len(lines) {
		t.Fatalf("Lines() yields %d lines, want %d", i, len(lines))
	}
	for _, enc := range []Encoding{UTF8, UTF16, UTF32} {
		for line := range len(lines) + 2 {
			n := 0
			if line < len(lines) {
				n = unitsIn(enc, lines[line])
			}
			for _, char := range append(seq(n+2), math.MaxUint32) {
				p := Position{Line: uint32(line), Character: char}
				if got, want := text.Offset(enc, p), offsetIn(lines, enc, p); got != want {
					t.Fatalf("Offset(%s, %+v) of %q = %d, want %d", enc, p, m, got, want)
				}
			}
		}
		for off := -1; off <= len(m)+1; off++ {
			got, want := text.Position(enc, off), positionIn(lines, enc, off)
			if got != want {
				t.Fatalf("Position(%s, %d) of %q = %+v, want %+v", enc, off, m, got, want)
			}
			// A position that Position returns is never clamped, so
			// it maps back to the offset it was rounded down to.
			if back, want := text.Offset(enc, got), offsetIn(lines, enc, want); back != want {
				t.Fatalf("Offset(%s, Position(%d)) of %q = %d, want %d", enc, off, m, back, want)
			}
		}
	}
	for start := -1; start <= len(m)+1; start++ {
		for _, end := range []int{start - 1, start + 1, start + 3, len(m) + 1} {
			want := ""
			if s, e := min(max(start, 0), len(m)), min(max(end, 0), len(m)); s < e {
				want = string(m[s:e])
			}
			if got := text.Slice(start, end); got != want {
				t.Fatalf("Slice(%d, %d) of %q = %q, want %q", start, end, m, got, want)
			}
		}
	}
}

func seq(n int) []uint32 {
	s := make([]uint32, n)
	for i := range s {
		s[i] = uint32(i)
	}
	return s
}

// pieces are what FuzzEdits builds inserted text from: every kind of line
// terminator and of character width, plus invalid UTF-8.
var pieces = []string{
	"a", "bc", "\n", "\r", "\r\n", "😀", "é", "€", "\xff", "\xed\xa0\x80", "\xf0\x9f", "\x80", "\ufffd", "x\ny", "\r\r\n\n", "",
}

// edits decodes data into a sequence of edits. Each edit takes up to seven
// bytes; running out of bytes ends the sequence.
type edits struct{ data []byte }

func (e *edits) next() (byte, bool) {
	if len(e.data) == 0 {
		return 0, false
	}
	b := e.data[0]
	e.data = e.data[1:]
	return b, true
}

// position picks a position near the text: most are on a line, some past
// the last line, some past the end of a line, and a few absurdly far.
func (e *edits) position(m model, enc Encoding) Position {
	lb, _ := e.next()
	cb, _ := e.next()
	lines := m.lines()
	line := int(lb) % (len(lines) + 1)
	if line == len(lines) && lb >= 128 {
		return Position{Line: math.MaxUint32, Character: uint32(cb)}
	}
	n := 0
	if line < len(lines) {
		n = unitsIn(enc, lines[line])
	}
	if cb == 255 {
		return Position{Line: uint32(line), Character: math.MaxUint32}
	}
	return Position{Line: uint32(line), Character: uint32(int(cb) % (n + 2))}
}

// maxFuzzLen bounds the texts FuzzEdits builds, since compare is quadratic:
// past it, edits only delete.
const maxFuzzLen = 200

func (e *edits) text(m model) string {
	b, _ := e.next()
	if len(m) > maxFuzzLen {
		return ""
	}
	var s strings.Builder
	for range b % 4 {
		p, _ := e.next()
		s.WriteString(pieces[int(p)%len(pieces)])
	}
	return s.String()
}

// FuzzEdits applies a random sequence of edits, in every encoding and by
// offset, both to a Text and to the model, and compares the two after each.
// It also checks that every earlier Text is left as it was.
func FuzzEdits(f *testing.F) {
	f.Add("", []byte{0, 0, 0, 0, 1, 2})
	f.Add("a\r\nb", []byte{1, 0, 1, 0, 1, 1, 2})
	f.Add("a\rX\nb", []byte{0, 0, 2, 0, 3, 0})
	f.Add("a\r", []byte{2, 1, 0, 1, 0, 1, 2})
	f.Add("😀x😀\n\xffé", []byte{1, 0, 1, 0, 2, 2, 5, 9, 4, 0, 3, 1, 1, 0, 0, 1, 4})
	f.Add("one\ntwo\r\nthree\rfour\n", []byte{3, 1, 2, 3, 200, 3, 2, 4, 13, 6, 0, 0, 255, 255, 255})
	f.Add("line\n", []byte{5, 0, 0, 1, 0, 0, 3, 3, 1, 1, 200, 0})
	f.Fuzz(func(t *testing.T, initial string, data []byte) {
		// compare and the model are quadratic or worse; small texts
		// find the bugs, and large ones only slow the search.
		initial = initial[:min(len(initial), 100)]
		data = data[:min(len(data), 300)]
		text, m := NewText(initial), model(initial)
		compare(t, text, m)
		type version struct {
			text Text
			want model
		}
		var history []version
		e := &edits{data: data}
		for {
			op, ok := e.next()
			if !ok {
				break
			}
			history = append(history, version{text, m})
			enc := []Encoding{UTF8, UTF16, UTF32, ""}[op%4]
			switch op / 4 % 4 {
			case 0, 1: // an edit by position
				r := Range{Start: e.position(m, enc), End: e.position(m, enc)}
				s := e.text(m)
				text, m = text.Replace(enc, r, s), m.replace(enc, r, s)
				if t.Failed() {
					return
				}
			case 2: // an edit by offset
				a, _ := e.next()
				b, _ := e.next()
				start, end := int(a)%(len(m)+2)-1, int(b)%(len(m)+2)-1
				s := e.text(m)
				text = text.ReplaceOffsets(start, end, s)
				start, end = min(max(start, 0), len(m)), min(max(end, 0), len(m))
				if end < start {
					start, end = end, start
				}
				m = m[:start] + model(s) + m[end:]
			case 3: // a full replace
				s := e.text(m)
				text, m = NewText(s), model(s)
			}
			compare(t, text, m)
		}
		for i, v := range history {
			if got := v.text.String(); got != string(v.want) {
				t.Fatalf("version %d changed after later edits: %q, want %q", i, got, v.want)
			}
			checkTree(t, v.text)
		}
	})
}

// checkTree checks the invariants of the tree under t: counts, heap order,
// that every line but the last ends with a terminator and holds no other,
// that the last has none, that no "\r\n" is split, and that an empty text
// has a nil root.
func checkTree(t *testing.T, text Text) {
	t.Helper()
	if text.root != nil && text.root.bytes == 0 {
		t.Fatalf("empty text has a non-nil root")
	}
	var lines []string
	var check func(n *node) (lines, bytes int)
	check = func(n *node) (int, int) {
		if n == nil {
			return 0, 0
		}
		for _, c := range []*node{n.left, n.right} {
			if c != nil && c.prio > n.prio {
				t.Fatalf("child priority %d above parent's %d", c.prio, n.prio)
			}
		}
		ll, lb := check(n.left)
		lines = append(lines, n.line)
		rl, rb := check(n.right)
		if n.lines != ll+1+rl || n.bytes != lb+len(n.line)+rb {
			t.Fatalf("node %q counts %d lines and %d bytes, want %d and %d", n.line, n.lines, n.bytes, ll+1+rl, lb+len(n.line)+rb)
		}
		return n.lines, n.bytes
	}
	check(text.root)
	for i, l := range lines {
		body := content(l)
		if strings.ContainsAny(body, "\r\n") {
			t.Fatalf("line %d %q holds a terminator before its end", i, l)
		}
		last := i == len(lines)-1
		if last != (body == l) {
			t.Fatalf("line %d of %d is %q: only the last line may lack a terminator", i, len(lines), l)
		}
		if i > 0 && strings.HasSuffix(lines[i-1], "\r") && strings.HasPrefix(l, "\n") {
			t.Fatalf("lines %d and %d split a \"\\r\\n\": %q, %q", i-1, i, lines[i-1], l)
		}
	}
}

func TestModel(t *testing.T) {
	// The model is only useful if it is right, so pin it down on its own.
	m := model("a😀\r\nb\r")
	if got, want := fmt.Sprint(m.lines()), fmt.Sprint([]string{"a😀\r\n", "b\r", ""}); got != want {
		t.Errorf("lines() = %s, want %s", got, want)
	}
	for _, test := range []struct {
		enc  Encoding
		p    Position
		want int
	}{
		{UTF16, Position{0, 2}, 1},
		{UTF16, Position{0, 3}, 5},
		{UTF8, Position{0, 4}, 1},
		{UTF8, Position{0, 5}, 5},
		{UTF32, Position{0, 2}, 5},
		{UTF32, Position{0, 9}, 5},
		{UTF16, Position{1, 1}, 8},
		{UTF16, Position{2, 0}, 9},
		{UTF16, Position{3, 0}, 9},
	} {
		if got := m.offset(test.enc, test.p); got != test.want {
			t.Errorf("offset(%s, %+v) = %d, want %d", test.enc, test.p, got, test.want)
		}
	}
	for _, test := range []struct {
		enc  Encoding
		off  int
		want Position
	}{
		{UTF16, 3, Position{0, 1}}, // inside the emoji
		{UTF16, 5, Position{0, 3}},
		{UTF8, 5, Position{0, 5}},
		{UTF32, 5, Position{0, 2}},
		{UTF32, 6, Position{0, 2}}, // between '\r' and '\n'
		{UTF16, 8, Position{1, 1}},
		{UTF16, 9, Position{2, 0}},
		{UTF16, 99, Position{2, 0}},
	} {
		if got := m.position(test.enc, test.off); got != test.want {
			t.Errorf("position(%s, %d) = %+v, want %+v", test.enc, test.off, got, test.want)
		}
	}
}
