package golang

import (
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// lspPosition computes the LSP position of off independently of lineIndex:
// count newlines, then measure the line's prefix in the encoding's units.
func lspPosition(text string, off int, enc posEncoding) position {
	line, start := 0, 0
	for i := 0; i < off; i++ {
		if text[i] == '\n' {
			line++
			start = i + 1
		}
	}
	prefix := text[start:off]
	var ch int
	switch enc {
	case encUTF8:
		ch = len(prefix)
	case encUTF16:
		ch = len(utf16.Encode([]rune(prefix)))
	case encUTF32:
		ch = utf8.RuneCountInString(prefix)
	}
	return position{Line: uint32(line), Character: uint32(ch)}
}

func TestLineIndexRoundTripsEveryOffsetInEachEncoding(t *testing.T) {
	t.Parallel()
	text := "package ü\n\nvar s = \"😀\" + x // ü😀ä\r\nfunc 😀() {}\n"
	index := newLineIndex(text)
	for _, enc := range []posEncoding{encUTF8, encUTF16, encUTF32} {
		for off := 0; off <= len(text); off++ {
			if off < len(text) && !utf8.RuneStart(text[off]) {
				continue
			}
			want := lspPosition(text, off, enc)
			if got := index.position(off, enc); got != want {
				t.Errorf("%v: position(%d) = %+v, want %+v", enc, off, got, want)
			}
			if off < len(text) && text[off] == '\n' && off > 0 && text[off-1] == '\r' {
				continue // between \r and \n: not a position a client sends
			}
			if got := index.offset(want, enc); got != off {
				t.Errorf("%v: offset(%+v) = %d, want %d", enc, want, got, off)
			}
		}
	}
}

func TestLineIndexClampsAndNeverSplitsARune(t *testing.T) {
	t.Parallel()
	text := "a😀b\nxy"
	index := newLineIndex(text)
	cases := []struct {
		p    position
		enc  posEncoding
		want int
	}{
		{position{0, 2}, encUTF16, 1},  // inside the surrogate pair: start of 😀
		{position{0, 3}, encUTF16, 5},  // after 😀
		{position{0, 2}, encUTF32, 5},  // after 😀
		{position{0, 99}, encUTF16, 6}, // past the line's end: the line's end
		{position{0, 99}, encUTF8, 6},
		{position{7, 0}, encUTF16, len(text)}, // past the last line: the end
		{position{1, 1}, encUTF32, 8},
	}
	for _, c := range cases {
		if got := index.offset(c.p, c.enc); got != c.want {
			t.Errorf("%v offset(%+v) = %d, want %d", c.enc, c.p, got, c.want)
		}
	}
}

func TestChooseEncodingTakesTheClientsFirstSupported(t *testing.T) {
	t.Parallel()
	cases := []struct {
		offered []string
		want    posEncoding
	}{
		{nil, encUTF16},
		{[]string{"utf-8", "utf-16"}, encUTF8},
		{[]string{"utf-32", "utf-8"}, encUTF32},
		{[]string{"latin-1", "utf-16", "utf-8"}, encUTF16},
		{[]string{"latin-1"}, encUTF16},
	}
	for _, c := range cases {
		if got := chooseEncoding(c.offered); got != c.want {
			t.Errorf("chooseEncoding(%q) = %v, want %v", c.offered, got, c.want)
		}
	}
}
