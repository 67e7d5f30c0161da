package document

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchText returns a text of n lines of ordinary code-like width.
func benchText(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "\tx%d := compute(a, b, \"some text\") // line %d\n", i, i)
	}
	return b.String()
}

// benchSizes are the document sizes every edit benchmark runs at. The cost of
// an edit should grow with their logarithm only.
var benchSizes = []int{1_000, 10_000, 100_000}

// BenchmarkReplaceChar types one character at a random position of a random
// line, as a client sends it through textDocument/didChange.
func BenchmarkReplaceChar(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			text := NewText(benchText(n))
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				p := pos(uint32(r.IntN(n)), uint32(r.IntN(40)))
				text = text.Replace(UTF16, Range{p, p}, "x")
			}
		})
	}
}

// BenchmarkReplaceMiddle types at the same place in the middle line, like a
// user typing steadily.
func BenchmarkReplaceMiddle(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			text := NewText(benchText(n))
			line := uint32(n / 2)
			b.ReportAllocs()
			var i uint32
			for b.Loop() {
				// Insert and delete by turns so the line stays short.
				if i%2 == 0 {
					text = text.Replace(UTF16, Range{pos(line, 10), pos(line, 10)}, "x")
				} else {
					text = text.Replace(UTF16, Range{pos(line, 10), pos(line, 11)}, "")
				}
				i++
			}
		})
	}
}

// BenchmarkReplaceNewline presses Enter and then Backspace at a random
// place, which changes the number of lines and so splits and merges the tree.
func BenchmarkReplaceNewline(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			text := NewText(benchText(n))
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				line := uint32(r.IntN(n))
				text = text.Replace(UTF16, Range{pos(line, 5), pos(line, 5)}, "\n")
				text = text.Replace(UTF16, Range{pos(line, 5), pos(line+1, 0)}, "")
			}
		})
	}
}

func BenchmarkNewText(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			s := benchText(n)
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				NewText(s)
			}
		})
	}
}

func BenchmarkOffset(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			text := NewText(benchText(n))
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				text.Offset(UTF16, pos(uint32(r.IntN(n)), 30))
			}
		})
	}
}
