package host

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gathering-dev/gathering/internal/position"
)

// encoding is an LSP position encoding: the code unit a Position's character
// counts.
type encoding uint8

// The three position encodings of LSP 3.17; the zero value is utf-16, the
// encoding LSP assumes when none was negotiated.
const (
	utf16 encoding = iota
	utf8Enc
	utf32
)

// parseEncoding reads an LSP PositionEncodingKind; anything unknown, "" too,
// is utf-16.
func parseEncoding(s string) encoding {
	switch s {
	case "utf-8":
		return utf8Enc
	case "utf-32":
		return utf32
	default:
		return utf16
	}
}

// String returns the LSP name of e.
func (e encoding) String() string {
	switch e {
	case utf8Enc:
		return "utf-8"
	case utf32:
		return "utf-32"
	default:
		return "utf-16"
	}
}

// unit is e as the shared position arithmetic names it.
func (e encoding) unit() position.Encoding {
	switch e {
	case utf8Enc:
		return position.UTF8
	case utf32:
		return position.UTF32
	default:
		return position.UTF16
	}
}

// lineIndex finds lines of a document text by number. Lines end at "\n",
// "\r\n" or "\r", as LSP counts them.
type lineIndex struct {
	text   string
	starts []int // byte offset where each line starts
}

// newLineIndex indexes text in one pass.
func newLineIndex(text string) *lineIndex {
	starts := make([]int, 1, 1+strings.Count(text, "\n"))
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			starts = append(starts, i+1)
		case '\r':
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			starts = append(starts, i+1)
		}
	}
	return &lineIndex{text: text, starts: starts}
}

// line returns line n without its terminator, and whether the text has it.
func (li *lineIndex) line(n uint32) (string, bool) {
	if uint64(n) >= uint64(len(li.starts)) {
		return "", false
	}
	start := li.starts[n]
	end := len(li.text)
	if int(n)+1 < len(li.starts) {
		end = li.starts[n+1]
	}
	s := li.text[start:end]
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	return s, true
}

// convert returns the character of position (line, character) counted in
// encoding to instead of from. A character past the end of its line is
// clamped to the line's end, one inside a character is rounded down to that
// character's start, and a line past the end of the text is left as it is.
func (li *lineIndex) convert(line, character uint32, from, to encoding) uint32 {
	if from == to {
		return character
	}
	s, ok := li.line(line)
	if !ok {
		return character
	}
	return uint32(position.Units(to.unit(), s, position.Column(from.unit(), s, character)))
}

// converter rewrites the positions inside decoded LSP JSON (values from
// [decodeJSON]) from one encoding to another, using the text of the document
// each position belongs to.
//
// It walks the whole value and treats every object that has exactly the keys
// "line" and "character" as a Position. The document a position belongs to is
// the nearest enclosing "uri", "textDocument.uri" or, for targetRange and
// targetSelectionRange, "targetUri"; originSelectionRange and positions with no
// enclosing uri belong to root; a WorkspaceEdit's "changes" map names the
// document of each edit list by its key. "data" and "arguments" are opaque to
// the host and left alone. Positions in documents whose text is unknown are
// left as they are.
type converter struct {
	from, to encoding
	root     string
	// text returns the line index of a document, or nil when unknown.
	text  func(uri string) *lineIndex
	cache map[string]*lineIndex
}

// walk converts every position inside v, which belongs to document uri
// unless something inside says otherwise.
func (c *converter) walk(v any, uri string) {
	if c.from == c.to {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			c.walk(e, uri)
		}
	case map[string]any:
		if isPosition(x) {
			c.position(x, uri)
			return
		}
		scope := uri
		if u, ok := x["uri"].(string); ok {
			scope = u
		}
		if td, ok := x["textDocument"].(map[string]any); ok {
			if u, ok := td["uri"].(string); ok {
				scope = u
			}
		}
		target := scope
		if u, ok := x["targetUri"].(string); ok {
			target = u
		}
		for k, val := range x {
			switch k {
			case "data", "arguments":
			case "originSelectionRange":
				c.walk(val, c.root)
			case "targetRange", "targetSelectionRange":
				c.walk(val, target)
			case "changes":
				if m, ok := val.(map[string]any); ok {
					for u, edits := range m {
						c.walk(edits, u)
					}
				} else {
					c.walk(val, scope)
				}
			default:
				c.walk(val, scope)
			}
		}
	}
}

// isPosition reports whether m is an LSP Position.
func isPosition(m map[string]any) bool {
	if len(m) != 2 {
		return false
	}
	_, l := m["line"].(json.Number)
	_, c := m["character"].(json.Number)
	return l && c
}

// position converts one Position of document uri in place.
func (c *converter) position(m map[string]any, uri string) {
	li := c.lines(uri)
	if li == nil {
		return
	}
	line, err1 := strconv.ParseUint(string(m["line"].(json.Number)), 10, 32)
	char, err2 := strconv.ParseUint(string(m["character"].(json.Number)), 10, 32)
	if err1 != nil || err2 != nil {
		return
	}
	out := li.convert(uint32(line), uint32(char), c.from, c.to)
	m["character"] = json.Number(strconv.FormatUint(uint64(out), 10))
}

// lines returns the line index of uri, asking c.text once per document.
func (c *converter) lines(uri string) *lineIndex {
	if li, ok := c.cache[uri]; ok {
		return li
	}
	var li *lineIndex
	if c.text != nil {
		li = c.text(uri)
	}
	if c.cache == nil {
		c.cache = make(map[string]*lineIndex)
	}
	c.cache[uri] = li
	return li
}
