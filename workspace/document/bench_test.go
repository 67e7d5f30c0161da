package document

import (
	"encoding/json"
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

// BenchmarkStoreChange types one character at a random place through
// Store.Change, with a snapshot taken after each edit as a request would.
func BenchmarkStoreChange(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			s := NewStore(nil)
			if _, err := s.Open("file:///bench.go", "go", 1, benchText(n)); err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			changes := make([]Change, 1)
			version := int32(1)
			b.ReportAllocs()
			for b.Loop() {
				p := pos(uint32(r.IntN(n)), uint32(r.IntN(40)))
				changes[0] = Change{Range: &Range{p, p}, Text: "x"}
				version++
				if _, err := s.Change("file:///bench.go", version, UTF16, changes); err != nil {
					b.Fatal(err)
				}
				s.Snapshot()
			}
		})
	}
}

// BenchmarkDidChange decodes the params of a textDocument/didChange
// notification, as the server receives them, and applies them: the part of
// the JSON-RPC path that grows with the document, plus the decoding that
// every edit pays.
func BenchmarkDidChange(b *testing.B) {
	type params struct {
		TextDocument struct {
			URI     string `json:"uri"`
			Version int32  `json:"version"`
		} `json:"textDocument"`
		ContentChanges []struct {
			Range *Range `json:"range"`
			Text  string `json:"text"`
		} `json:"contentChanges"`
	}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			s := NewStore(nil)
			if _, err := s.Open("file:///bench.go", "go", 1, benchText(n)); err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			var msgs [][]byte
			for v := range 1024 {
				line, char := r.IntN(n), r.IntN(40)
				msgs = append(msgs, fmt.Appendf(nil, `{"textDocument":{"uri":"file:///bench.go","version":%d},`+
					`"contentChanges":[{"range":{"start":{"line":%d,"character":%d},"end":{"line":%d,"character":%d}},"text":"x"}]}`,
					v+2, line, char, line, char))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var p params
				if err := json.Unmarshal(msgs[i%len(msgs)], &p); err != nil {
					b.Fatal(err)
				}
				i++
				changes := make([]Change, len(p.ContentChanges))
				for j, c := range p.ContentChanges {
					changes[j] = Change{Range: c.Range, Text: c.Text}
				}
				if _, err := s.Change(p.TextDocument.URI, p.TextDocument.Version, UTF16, changes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
