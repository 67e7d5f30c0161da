package host

import (
	"bytes"

	"github.com/gathering-dev/gathering/internal/jsonstr"
)

// tagCompletion does what tagging and merging do to one plugin's
// completion answer (finish with mergeCompletion), on its bytes: every
// item's data wrapped in the plugin's tag, the answer as a CompletionList
// {"isIncomplete":…,"items":[…]}. Decoding a list of a few hundred items
// into maps and encoding it again cost more than the rest of the request's
// way through gathering; this copies the bytes once.
//
// ok is false when the answer needs what only the decoded path does:
// itemDefaults to apply, commands to namespace (when the plugin declared
// any), more than MaxCompletionItems items to cut, keys written with
// escapes, or anything that is not a completion answer. raw must be valid
// JSON (the launch layer checked it).
func tagCompletion(raw []byte, plugin, uri string, declared map[string]bool) (out []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if bytes.Contains(raw, []byte(`"itemDefaults"`)) || len(declared) > 0 && bytes.Contains(raw, []byte(`"command"`)) {
		return nil, false
	}
	incomplete := false
	var items []byte
	switch {
	case len(raw) > 0 && raw[0] == '[':
		items = raw
	case len(raw) > 0 && raw[0] == '{':
		walked := eachKey(raw, func(key []byte, start, end int) bool {
			switch string(key) {
			case "isIncomplete":
				incomplete = string(raw[start:end]) == "true"
			case "items":
				items = raw[start:end]
			}
			return true
		})
		if !walked {
			return nil, false
		}
	default:
		return nil, false
	}
	tag := tagPrefix(plugin, uri)
	out = make([]byte, 0, len(raw)+len(tag)*(1+len(raw)/64))
	out = append(out, `{"isIncomplete":`...)
	if incomplete {
		out = append(out, "true"...)
	} else {
		out = append(out, "false"...)
	}
	out = append(out, `,"items":[`...)
	n := 0
	if items != nil && !bytes.Equal(items, []byte("null")) {
		if len(items) < 2 || items[0] != '[' {
			return nil, false
		}
		// Each item is walked once: its members' bounds give its end.
		for i := skipSpace(items, 1); i < len(items) && items[i] != ']'; {
			if n++; n > MaxCompletionItems || items[i] != '{' {
				return nil, false
			}
			if n > 1 {
				out = append(out, ',')
			}
			var end int
			if out, end, ok = appendTagged(out, items, i, tag); !ok {
				return nil, false
			}
			switch i = skipSpace(items, end); {
			case i < len(items) && items[i] == ',':
				i = skipSpace(items, i+1)
			case i >= len(items) || items[i] != ']':
				return nil, false
			}
		}
	}
	return append(out, "]}"...), true
}

// tagPrefix is the start of a tag object, up to where the item's own data
// goes: {"gathering.plugin":…,"gathering.uri":… (see tagData).
func tagPrefix(plugin, uri string) []byte {
	t := make([]byte, 0, len(tagPlugin)+len(tagURI)+len(plugin)+len(uri)+16)
	t = jsonstr.Append(append(t, `{"`+tagPlugin+`":`...), plugin)
	if uri != "" {
		t = jsonstr.Append(append(t, `,"`+tagURI+`":`...), uri)
	}
	return t
}

// appendTagged appends the object that starts at b[at] with its data
// wrapped in the tag, and returns the index after the object.
func appendTagged(out, b []byte, at int, tag []byte) ([]byte, int, bool) {
	start, end := -1, -1
	objEnd, walked := walkKeys(b, at, func(key []byte, s, e int) bool {
		if string(key) != "data" {
			return true
		}
		if start >= 0 {
			return false // twice: which one counts is the decoder's to say
		}
		start, end = s, e
		return true
	})
	if !walked {
		return out, 0, false
	}
	item := b[at:objEnd]
	if start < 0 {
		// No data of its own: the tag becomes its last member.
		body := bytes.TrimSpace(item[1 : len(item)-1])
		out = append(out, '{')
		if len(body) > 0 {
			out = append(append(out, body...), ',')
		}
		out = append(append(out, `"data":`...), tag...)
		return append(out, "}}"...), objEnd, true
	}
	out = append(out, b[at:start]...)
	out = append(append(append(out, tag...), `,"data":`...), b[start:end]...)
	out = append(out, '}')
	return append(out, b[end:objEnd]...), objEnd, true
}

// eachKey calls f with each key (unquoted; a key written with escapes
// stops the walk) and the bounds of its value in the JSON object obj,
// until f returns false; it reports whether obj was walked whole.
func eachKey(obj []byte, f func(key []byte, start, end int) bool) bool {
	end, ok := walkKeys(obj, 0, f)
	return ok && end == len(obj)
}

// walkKeys is eachKey on the object that starts at b[at], with the rest of
// b after it; it also returns the index after the object.
func walkKeys(b []byte, at int, f func(key []byte, start, end int) bool) (int, bool) {
	i := skipSpace(b, at+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for i < len(b) {
		end, err := skipString(b, i)
		if err != nil {
			return 0, false
		}
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return 0, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipSpace(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil || !f(key, i, vend) {
			return 0, false
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return 0, false
		}
		if b[i] == '}' {
			return i + 1, true
		}
		if b[i] != ',' {
			return 0, false
		}
		i = skipSpace(b, i+1)
	}
	return 0, false
}
