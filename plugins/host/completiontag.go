package host

import (
	"bytes"
	"encoding/json"
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
		good := eachElement(items, func(item []byte) bool {
			if n++; n > MaxCompletionItems || len(item) < 2 || item[0] != '{' {
				return false
			}
			if n > 1 {
				out = append(out, ',')
			}
			var ok bool
			out, ok = appendTagged(out, item, tag)
			return ok
		})
		if !good {
			return nil, false
		}
	}
	return append(out, "]}"...), true
}

// tagPrefix is the start of a tag object, up to where the item's own data
// goes: {"gathering.plugin":…,"gathering.uri":… (see tagData).
func tagPrefix(plugin, uri string) []byte {
	t := make([]byte, 0, len(tagPlugin)+len(tagURI)+len(plugin)+len(uri)+16)
	t = appendString(append(t, `{"`+tagPlugin+`":`...), plugin)
	if uri != "" {
		t = appendString(append(t, `,"`+tagURI+`":`...), uri)
	}
	return t
}

// appendString appends s as encoding/json writes it: a string of plain
// characters as it is, quoted, without json.Marshal's reflection (which
// cost more than tagging a whole completion list); anything else through
// json.Marshal.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	return append(append(append(dst, '"'), s...), '"')
}

// appendTagged appends item, an object, with its data wrapped in the tag.
func appendTagged(out, item, tag []byte) ([]byte, bool) {
	start, end := -1, -1
	walked := eachKey(item, func(key []byte, s, e int) bool {
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
		return out, false
	}
	if start < 0 {
		// No data of its own: the tag becomes its last member.
		body := bytes.TrimSpace(item[1 : len(item)-1])
		out = append(out, '{')
		if len(body) > 0 {
			out = append(append(out, body...), ',')
		}
		out = append(append(out, `"data":`...), tag...)
		return append(out, "}}"...), true
	}
	out = append(out, item[:start]...)
	out = append(append(append(out, tag...), `,"data":`...), item[start:end]...)
	out = append(out, '}')
	return append(out, item[end:]...), true
}

// eachKey calls f with each key (unquoted; a key written with escapes
// stops the walk) and the bounds of its value in the JSON object obj,
// until f returns false; it reports whether obj was walked whole.
func eachKey(obj []byte, f func(key []byte, start, end int) bool) bool {
	i := skipSpace(obj, 1)
	if i < len(obj) && obj[i] == '}' {
		return true
	}
	for i < len(obj) {
		end, err := skipString(obj, i)
		if err != nil {
			return false
		}
		key := obj[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		vend, err := skipValue(obj, i)
		if err != nil || !f(key, i, vend) {
			return false
		}
		i = skipSpace(obj, vend)
		if i >= len(obj) {
			return false
		}
		if obj[i] == '}' {
			return true
		}
		if obj[i] != ',' {
			return false
		}
		i = skipSpace(obj, i+1)
	}
	return false
}

// eachElement calls f with each raw element of the JSON array arr, until f
// returns false; it reports whether arr was walked whole.
func eachElement(arr []byte, f func(elem []byte) bool) bool {
	i := skipSpace(arr, 1)
	if i < len(arr) && arr[i] == ']' {
		return true
	}
	for i < len(arr) {
		end, err := skipValue(arr, i)
		if err != nil || !f(arr[i:end]) {
			return false
		}
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return false
		}
		if arr[i] == ']' {
			return true
		}
		if arr[i] != ',' {
			return false
		}
		i = skipSpace(arr, i+1)
	}
	return false
}
