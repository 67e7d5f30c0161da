package host

import (
	"encoding/json"
	"strconv"
)

// The host's semantic token legend: the token types and modifiers LSP 3.17
// predefines. The editor learns one legend at initialize, before any plugin
// has started, so plugins' tokens are mapped into this one by name; a token
// whose type is not in it is dropped, a modifier not in it is cleared.
var (
	hostTokenTypes = []string{"namespace", "type", "class", "enum", "interface", "struct", "typeParameter",
		"parameter", "variable", "property", "enumMember", "event", "function", "method", "macro", "keyword",
		"modifier", "comment", "string", "number", "regexp", "operator", "decorator"}
	hostTokenModifiers = []string{"declaration", "definition", "readonly", "static", "deprecated", "abstract",
		"async", "modification", "documentation", "defaultLibrary"}
)

// semanticTokensCapability is the semanticTokensProvider the host
// advertises: its own legend, whole documents and ranges, no deltas.
func semanticTokensCapability() map[string]any {
	types := make([]any, len(hostTokenTypes))
	for i, t := range hostTokenTypes {
		types[i] = t
	}
	mods := make([]any, len(hostTokenModifiers))
	for i, m := range hostTokenModifiers {
		mods[i] = m
	}
	return map[string]any{"legend": map[string]any{"tokenTypes": types, "tokenModifiers": mods}, "full": true, "range": true}
}

// tokenMap translates one plugin's legend into the host's.
type tokenMap struct {
	types []int    // plugin type index → host index, -1 when the host has none
	mods  []uint32 // plugin modifier bit → host bit mask, 0 when none
}

// newTokenMap reads the legend of a plugin's semanticTokensProvider.
func newTokenMap(provider any) *tokenMap {
	p, _ := provider.(map[string]any)
	legend, _ := p["legend"].(map[string]any)
	tm := &tokenMap{}
	types, _ := legend["tokenTypes"].([]any)
	for _, t := range types {
		idx := -1
		for i, h := range hostTokenTypes {
			if t == h {
				idx = i
			}
		}
		tm.types = append(tm.types, idx)
	}
	mods, _ := legend["tokenModifiers"].([]any)
	for _, m := range mods {
		var bit uint32
		for i, h := range hostTokenModifiers {
			if m == h {
				bit = 1 << i
			}
		}
		tm.mods = append(tm.mods, bit)
	}
	return tm
}

// remapTokens rewrites a SemanticTokens answer from the plugin's legend and
// position encoding to the host's and the session's: tokens of types the
// host lacks are dropped, positions are converted using the document's
// lines (li; nil when the encodings agree), and the relative encoding is
// redone. resultId is dropped, as the host serves no deltas.
func remapTokens(v any, tm *tokenMap, li *lineIndex, from, to encoding) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	data, _ := m["data"].([]any)
	out := make([]any, 0, len(data))
	var line, char uint32         // absolute position of the plugin's token
	var lastLine, lastChar uint32 // of the last token kept, converted
	for i := 0; i+4 < len(data); i += 5 {
		var f [5]uint32
		for k := range f {
			n, _ := data[i+k].(json.Number)
			x, _ := strconv.ParseUint(string(n), 10, 32)
			f[k] = uint32(x)
		}
		if f[0] > 0 {
			line += f[0]
			char = f[1]
		} else {
			char += f[1]
		}
		if int(f[3]) >= len(tm.types) || tm.types[f[3]] < 0 {
			continue
		}
		var mods uint32
		for b := 0; b < len(tm.mods) && b < 32; b++ {
			if f[4]&(1<<b) != 0 {
				mods |= tm.mods[b]
			}
		}
		start, length := char, f[2]
		if li != nil && from != to {
			end := li.convert(line, char+length, from, to)
			start = li.convert(line, char, from, to)
			length = end - start
		}
		dl, dc := line-lastLine, start
		if dl == 0 {
			dc = start - lastChar
		}
		lastLine, lastChar = line, start
		out = append(out, dl, dc, length, tm.types[f[3]], mods)
	}
	return map[string]any{"data": out}
}
