package document

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

const maxU = math.MaxUint32

func pos(line, char uint32) Position { return Position{Line: line, Character: char} }

func TestOffset(t *testing.T) {
	// "😀" is 4 UTF-8 bytes, 2 UTF-16 units and 1 UTF-32 unit; "é" is 2, 1
	// and 1; "\xff" is invalid and counts 1 everywhere.
	const doc = "a😀b\r\né\xffc\rlast"
	for _, test := range []struct {
		name string
		enc  Encoding
		p    Position
		want int
	}{
		{"start", UTF16, pos(0, 0), 0},
		{"before emoji", UTF16, pos(0, 1), 1},
		{"after emoji utf-16", UTF16, pos(0, 3), 5},
		{"after emoji utf-8", UTF8, pos(0, 5), 5},
		{"after emoji utf-32", UTF32, pos(0, 2), 5},
		{"inside surrogate pair rounds down", UTF16, pos(0, 2), 1},
		{"inside utf-8 sequence rounds down", UTF8, pos(0, 2), 1},
		{"inside utf-8 sequence rounds down 3", UTF8, pos(0, 4), 1},
		{"end of content before crlf", UTF16, pos(0, 4), 6},
		{"past end of line clamps before crlf", UTF16, pos(0, 99), 6},
		{"max character clamps", UTF8, pos(0, maxU), 6},
		{"second line start", UTF16, pos(1, 0), 8},
		{"after é utf-8 inside rounds down", UTF8, pos(1, 1), 8},
		{"after é utf-8", UTF8, pos(1, 2), 10},
		{"after é utf-16", UTF16, pos(1, 1), 10},
		{"after invalid byte utf-8", UTF8, pos(1, 3), 11},
		{"after invalid byte utf-16", UTF16, pos(1, 2), 11},
		{"after invalid byte utf-32", UTF32, pos(1, 2), 11},
		{"past end before lone cr", UTF32, pos(1, 9), 12},
		{"last line", UTF16, pos(2, 0), 13},
		{"end of last line", UTF16, pos(2, 4), 17},
		{"past end of last line", UTF16, pos(2, 5), 17},
		{"line past end clamps to end", UTF16, pos(3, 0), 17},
		{"line max clamps to end", UTF8, pos(maxU, maxU), 17},
		{"empty encoding means utf-16", "", pos(0, 3), 5},
		{"unknown encoding means utf-16", "utf-7", pos(0, 3), 5},
	} {
		t.Run(test.name, func(t *testing.T) {
			if got := NewText(doc).Offset(test.enc, test.p); got != test.want {
				t.Errorf("Offset(%q, %+v) = %d, want %d", test.enc, test.p, got, test.want)
			}
		})
	}
}

func TestPosition(t *testing.T) {
	const doc = "a😀b\r\né\xffc\rlast\n"
	for _, test := range []struct {
		name string
		enc  Encoding
		off  int
		want Position
	}{
		{"negative", UTF16, -5, pos(0, 0)},
		{"start", UTF16, 0, pos(0, 0)},
		{"after emoji utf-16", UTF16, 5, pos(0, 3)},
		{"after emoji utf-8", UTF8, 5, pos(0, 5)},
		{"after emoji utf-32", UTF32, 5, pos(0, 2)},
		{"inside emoji rounds down", UTF16, 3, pos(0, 1)},
		{"inside emoji rounds down utf-8", UTF8, 4, pos(0, 1)},
		{"at cr", UTF16, 6, pos(0, 4)},
		{"between cr and lf", UTF16, 7, pos(0, 4)},
		{"next line", UTF16, 8, pos(1, 0)},
		{"after invalid byte", UTF16, 11, pos(1, 2)},
		{"at lone cr", UTF16, 12, pos(1, 3)},
		{"after lone cr", UTF16, 13, pos(2, 0)},
		{"at final lf", UTF16, 17, pos(2, 4)},
		{"end is the empty last line", UTF16, 18, pos(3, 0)},
		{"past end", UTF16, 1000, pos(3, 0)},
	} {
		t.Run(test.name, func(t *testing.T) {
			if got := NewText(doc).Position(test.enc, test.off); got != test.want {
				t.Errorf("Position(%q, %d) = %+v, want %+v", test.enc, test.off, got, test.want)
			}
		})
	}
}

func TestLines(t *testing.T) {
	for _, test := range []struct {
		text string
		want []string
	}{
		{"", []string{""}},
		{"a", []string{"a"}},
		{"\n", []string{"\n", ""}},
		{"\r", []string{"\r", ""}},
		{"\r\n", []string{"\r\n", ""}},
		{"\n\r", []string{"\n", "\r", ""}},
		{"\r\r\n\n", []string{"\r", "\r\n", "\n", ""}},
		{"a\rb\nc\r\nd", []string{"a\r", "b\n", "c\r\n", "d"}},
		{"\xff\r\xfe", []string{"\xff\r", "\xfe"}},
	} {
		text := NewText(test.text)
		var got []string
		for _, l := range text.Lines() {
			got = append(got, l)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", test.want) {
			t.Errorf("NewText(%q).Lines() = %q, want %q", test.text, got, test.want)
		}
		if n := text.LineCount(); n != len(test.want) {
			t.Errorf("NewText(%q).LineCount() = %d, want %d", test.text, n, len(test.want))
		}
	}
}

func TestReplace(t *testing.T) {
	for _, test := range []struct {
		name  string
		text  string
		enc   Encoding
		r     Range
		new   string
		want  string
		lines int
	}{
		{"insert into empty", "", UTF16, Range{}, "hi", "hi", 1},
		{"insert lines into empty", "", UTF16, Range{pos(5, 5), pos(9, 9)}, "a\nb\n", "a\nb\n", 3},
		{"delete everything", "a\nb\nc", UTF16, Range{pos(0, 0), pos(2, 1)}, "", "", 1},
		{"delete everything with clamped range", "a\nb\nc", UTF16, Range{pos(0, 0), pos(maxU, maxU)}, "", "", 1},
		{"replace everything", "a\r\nb", UTF16, Range{pos(0, 0), pos(9, 0)}, "x\ny\nz", "x\ny\nz", 3},
		{"append at very end", "a\nb", UTF16, Range{pos(1, 1), pos(1, 1)}, "c", "a\nbc", 2},
		{"append line at very end", "a\nb", UTF16, Range{pos(1, 1), pos(1, 1)}, "\n", "a\nb\n", 3},
		{"append past the end", "a\nb\n", UTF16, Range{pos(7, 0), pos(7, 0)}, "c", "a\nb\nc", 3},
		{"delete the final newline", "a\nb\n", UTF16, Range{pos(1, 1), pos(2, 0)}, "", "a\nb", 2},
		{"insert a whole line", "a\nc\n", UTF16, Range{pos(1, 0), pos(1, 0)}, "b\n", "a\nb\nc\n", 4},
		{"delete a whole line", "a\nb\nc\n", UTF16, Range{pos(1, 0), pos(2, 0)}, "", "a\nc\n", 3},
		{"delete the first line", "a\nb", UTF16, Range{pos(0, 0), pos(1, 0)}, "", "b", 1},
		{"delete the last line", "a\nb", UTF16, Range{pos(0, 1), pos(1, 1)}, "", "a", 1},
		{"join lines", "ab\ncd", UTF16, Range{pos(0, 1), pos(1, 1)}, "", "ad", 1},
		{"split a line", "abcd", UTF16, Range{pos(0, 2), pos(0, 2)}, "\r\n", "ab\r\ncd", 2},
		{"end before start is swapped", "abcd", UTF16, Range{pos(0, 3), pos(0, 1)}, "X", "aXd", 1},
		{"end before start across lines", "ab\ncd", UTF16, Range{pos(1, 1), pos(0, 1)}, "", "ad", 1},
		{"deleting between cr and lf joins crlf", "a\rX\nb", UTF16, Range{pos(1, 0), pos(1, 1)}, "", "a\r\nb", 2},
		{"inserting lf after lone cr joins", "a\rb", UTF16, Range{pos(1, 0), pos(1, 0)}, "\n", "a\r\nb", 2},
		{"inserting between cr and lf splits", "a\r\nb", UTF8, Range{pos(0, 1), pos(0, 1)}, "x", "ax\r\nb", 2},
		{"inserting cr before lf joins", "a\nb", UTF8, Range{pos(0, 1), pos(0, 1)}, "\r", "a\r\nb", 2},
		{"deleting cr of crlf", "a\r\nb", UTF8, Range{pos(0, 1), pos(1, 0)}, "\n", "a\nb", 2},
		{"lone cr at end then lf", "a\r", UTF8, Range{pos(1, 0), pos(1, 0)}, "\n", "a\r\n", 2},
		{"insert after emoji", "😀", UTF16, Range{pos(0, 2), pos(0, 2)}, "x", "😀x", 1},
		{"insert inside surrogate pair goes before it", "😀", UTF16, Range{pos(0, 1), pos(0, 1)}, "x", "x😀", 1},
		{"delete half a surrogate pair deletes nothing", "😀", UTF16, Range{pos(0, 1), pos(0, 1)}, "", "😀", 1},
		{"delete emoji utf-16", "a😀b", UTF16, Range{pos(0, 1), pos(0, 3)}, "", "ab", 1},
		{"delete emoji utf-8", "a😀b", UTF8, Range{pos(0, 1), pos(0, 5)}, "", "ab", 1},
		{"delete emoji utf-32", "a😀b", UTF32, Range{pos(0, 1), pos(0, 2)}, "", "ab", 1},
		{"delete invalid byte", "a\xffb", UTF16, Range{pos(0, 1), pos(0, 2)}, "", "ab", 1},
		{"insert invalid bytes", "ab", UTF16, Range{pos(0, 1), pos(0, 1)}, "\xed\xa0\x80", "a\xed\xa0\x80b", 1},
		{"edit inside invalid bytes utf-8", "\xed\xa0\x80", UTF8, Range{pos(0, 1), pos(0, 2)}, "", "\xed\x80", 1},
		{"character past line end clamps", "ab\ncd", UTF16, Range{pos(0, 50), pos(0, 60)}, "!", "ab!\ncd", 2},
		{"line past end clamps", "ab", UTF16, Range{pos(3, 0), pos(4, 0)}, "!", "ab!", 1},
	} {
		t.Run(test.name, func(t *testing.T) {
			text := NewText(test.text)
			got := text.Replace(test.enc, test.r, test.new)
			if got.String() != test.want {
				t.Errorf("NewText(%q).Replace(%s, %+v, %q) = %q, want %q", test.text, test.enc, test.r, test.new, got.String(), test.want)
			}
			if got.LineCount() != test.lines {
				t.Errorf("LineCount() = %d, want %d", got.LineCount(), test.lines)
			}
			checkTree(t, got)
			compare(t, got, model(test.want))
			if text.String() != test.text {
				t.Errorf("Replace changed its receiver to %q", text.String())
			}
		})
	}
}

func TestZeroText(t *testing.T) {
	var zero Text
	if zero.String() != "" || zero.Len() != 0 || zero.LineCount() != 1 || zero.Line(0) != "" {
		t.Errorf("zero Text = (%q, %d bytes, %d lines, line 0 %q), want the empty text", zero.String(), zero.Len(), zero.LineCount(), zero.Line(0))
	}
	if p := zero.Position(UTF16, 10); p != (Position{}) {
		t.Errorf("zero Text Position(10) = %+v, want {0 0}", p)
	}
	if off := zero.Offset(UTF16, pos(3, 3)); off != 0 {
		t.Errorf("zero Text Offset({3 3}) = %d, want 0", off)
	}
	if got := zero.Replace(UTF8, Range{}, "x\n").String(); got != "x\n" {
		t.Errorf("zero Text Replace = %q, want %q", got, "x\n")
	}
	if NewText("").root != nil {
		t.Errorf("NewText(\"\") is not the zero Text")
	}
	if NewText("abc").Replace(UTF8, Range{pos(0, 0), pos(0, 3)}, "").root != nil {
		t.Errorf("deleting everything does not give the zero Text")
	}
}

func TestReplaceOffsets(t *testing.T) {
	for _, test := range []struct {
		text       string
		start, end int
		new, want  string
	}{
		{"a\r\nb", 2, 2, "x", "a\rx\nb"},
		{"a\rx\nb", 2, 3, "", "a\r\nb"},
		{"abc", 3, 1, "", "a"},
		{"abc", -4, 99, "z", "z"},
		{"😀", 2, 2, "x", "\xf0\x9fx\x98\x80"},
	} {
		got := NewText(test.text).ReplaceOffsets(test.start, test.end, test.new)
		if got.String() != test.want {
			t.Errorf("NewText(%q).ReplaceOffsets(%d, %d, %q) = %q, want %q", test.text, test.start, test.end, test.new, got.String(), test.want)
		}
		compare(t, got, model(test.want))
	}
}

// TestPersistence checks that every Text an edit sequence passes through is
// unchanged by the edits that follow, line by line, and that the unchanged
// lines are shared rather than copied.
func TestPersistence(t *testing.T) {
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	text := NewText(b.String())
	type version struct {
		text  Text
		lines []string
	}
	var versions []version
	for i := range 300 {
		var lines []string
		for _, l := range text.Lines() {
			lines = append(lines, l)
		}
		versions = append(versions, version{text, lines})
		line := uint32(i * 7 % text.LineCount())
		switch i % 3 {
		case 0:
			text = text.Replace(UTF16, Range{pos(line, 2), pos(line, 2)}, "x")
		case 1:
			text = text.Replace(UTF16, Range{pos(line, 0), pos(line+1, 0)}, "")
		case 2:
			text = text.Replace(UTF16, Range{pos(line, 1), pos(line, 1)}, "a\nb\r\n")
		}
	}
	for i, v := range versions {
		if v.text.LineCount() != len(v.lines) {
			t.Fatalf("version %d has %d lines, want %d", i, v.text.LineCount(), len(v.lines))
		}
		for j, l := range v.text.Lines() {
			if l != v.lines[j] {
				t.Fatalf("version %d line %d = %q after later edits, want %q", i, j, l, v.lines[j])
			}
		}
		checkTree(t, v.text)
	}
	// An edit within a line copies one path: far fewer nodes than lines.
	before := NewText(b.String())
	after := before.Replace(UTF16, Range{pos(500, 1), pos(500, 1)}, "x")
	shared := map[*node]bool{}
	var mark func(n *node)
	mark = func(n *node) {
		if n != nil {
			shared[n] = true
			mark(n.left)
			mark(n.right)
		}
	}
	mark(before.root)
	copied := 0
	var count func(n *node)
	count = func(n *node) {
		if n != nil && !shared[n] {
			copied++
			count(n.left)
			count(n.right)
		}
	}
	count(after.root)
	if copied > 40 {
		t.Errorf("an edit within one line of 1000 copied %d nodes, want at most the depth of the tree", copied)
	}
}

// TestDepth checks that the tree stays balanced through many edits of every
// kind, which is what makes them O(log n).
func TestDepth(t *testing.T) {
	const lines = 100_000
	text := NewText(strings.Repeat("some text\n", lines))
	if d := depth(text.root); d > 18 {
		t.Errorf("NewText of %d lines has depth %d, want a complete tree of depth 17", lines, d)
	}
	for i := range 20_000 {
		line := uint32(i * 7919 % text.LineCount())
		switch i % 4 {
		case 0:
			text = text.Replace(UTF16, Range{pos(line, 3), pos(line, 3)}, "\n")
		case 1:
			text = text.Replace(UTF16, Range{pos(line, 3), pos(line+1, 0)}, "")
		case 2:
			text = text.Replace(UTF16, Range{pos(line, 0), pos(line+3, 0)}, "a\nb\nc\n")
		case 3:
			text = text.Replace(UTF16, Range{pos(line, 1), pos(line, 1)}, "x")
		}
	}
	// A random treap of n nodes is deeper than 4·log2(n) with vanishing
	// probability; a degenerate one would be thousands deep.
	if d := depth(text.root); d > 4*17 {
		t.Errorf("after 20,000 edits the tree of %d lines has depth %d", text.LineCount(), d)
	}
}

func depth(n *node) int {
	if n == nil {
		return 0
	}
	return 1 + max(depth(n.left), depth(n.right))
}
