package host

import (
	"bytes"
	"strconv"

	"github.com/gathering-dev/gathering/internal/jsonstr"
)

// tagCompletion does what tagging and merging do to one plugin's
// completion answer (finish with mergeCompletion), on its bytes: every
// item's data wrapped in the plugin's tag, the answer as a CompletionList
// {"isIncomplete":…,"items":[…]}. Decoding a list of a few hundred items
// into maps and encoding it again cost more than the rest of the request's
// way through gathering; this walks the items once, copying them as it
// goes. (It once scanned an answer five times: for "itemDefaults", for
// "command", for the list's keys, for each item's and to copy it. Against
// a list gopls answers in 370 µs, that was 7 µs of a cold CPU's time.)
//
// ok is false when the answer needs what only the decoded path does:
// itemDefaults to apply, commands to namespace (an item's command, or a
// label made of parts, when the plugin declared commands), more than
// MaxCompletionItems items to cut, keys written with escapes, or anything
// that is not a completion answer. raw must be valid JSON (the launch
// layer checked it).
func tagCompletion(raw []byte, plugin, uri string, declared map[string]bool) (out []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	items, rest, incomplete, ok := completionItems(raw)
	if !ok {
		return nil, false
	}
	var tagBuf [256]byte
	tag := appendTagPrefix(tagBuf[:0], plugin, uri)
	out = newList(raw, tag, incomplete)
	if items != nil {
		var end int
		if out, end, ok = appendTaggedItems(out, items, tag, len(declared) > 0); !ok {
			return nil, false
		}
		if i := skipSpace(items, end); i != len(items)-len(rest) {
			// The common shape's items were followed by more than its
			// closing brace: walk the list's keys after all.
			return tagCompletionWalked(raw, tag, len(declared) > 0)
		}
	}
	return append(out, "]}"...), true
}

// tagCompletionWalked is tagCompletion for a list whose keys are found by
// walking it.
func tagCompletionWalked(raw, tag []byte, commands bool) ([]byte, bool) {
	items, incomplete, ok := walkedItems(raw)
	if !ok {
		return nil, false
	}
	out := newList(raw, tag, incomplete)
	if items != nil {
		var end int
		if out, end, ok = appendTaggedItems(out, items, tag, commands); !ok || skipSpace(items, end) != len(items) {
			return nil, false
		}
	}
	return append(out, "]}"...), true
}

// newList starts the tagged list of raw's items, with room for them.
func newList(raw, tag []byte, incomplete bool) []byte {
	out := make([]byte, 0, len(raw)+len(tag)*(1+len(raw)/64))
	out = append(out, `{"isIncomplete":`...)
	out = strconv.AppendBool(out, incomplete)
	return append(out, `,"items":[`...)
}

var (
	completeListPrefix   = []byte(`{"isIncomplete":false,"items":`)
	incompleteListPrefix = []byte(`{"isIncomplete":true,"items":`)
)

// completionItems finds the items of a completion answer: an array of
// items, or a list. items runs from the array's '[' to the end of raw,
// except rest, the bytes that must follow the array (the list's closing
// brace); nil items is none. A list in the shape gopls, the SDK and most
// servers write, {"isIncomplete":B,"items":[…]}, is split on its prefix
// alone, and tagCompletion checks that the items end where rest begins;
// any other list has its keys walked.
func completionItems(raw []byte) (items, rest []byte, incomplete, ok bool) {
	switch {
	case len(raw) > 0 && raw[0] == '[':
		return raw, nil, false, true
	case len(raw) == 0 || raw[0] != '{':
		return nil, nil, false, false
	}
	for _, p := range []struct {
		prefix     []byte
		incomplete bool
	}{{completeListPrefix, false}, {incompleteListPrefix, true}} {
		if after, ok := bytes.CutPrefix(raw, p.prefix); ok {
			after = bytes.TrimLeft(after, " \t\r\n")
			if len(after) > 0 && after[0] == '[' {
				return after, raw[len(raw)-1:], p.incomplete, true
			}
		}
	}
	items, incomplete, ok = walkedItems(raw)
	return items, nil, incomplete, ok
}

// walkedItems walks the keys of the completion list raw for its items
// (nil when absent or null) and isIncomplete. A list with itemDefaults
// is refused: only the decoded path applies them.
func walkedItems(raw []byte) (items []byte, incomplete, ok bool) {
	walked := eachKey(raw, func(key []byte, start, end int) bool {
		switch string(key) {
		case "isIncomplete":
			incomplete = string(raw[start:end]) == "true"
		case "items":
			items = raw[start:end]
		case "itemDefaults":
			return false
		}
		return true
	})
	switch {
	case !walked:
		return nil, false, false
	case items == nil || bytes.Equal(items, []byte("null")):
		return nil, incomplete, true
	case len(items) < 2 || items[0] != '[':
		return nil, false, false
	}
	return items, incomplete, true
}

// appendTaggedItems appends the items of the array that starts at
// items[0], each tagged, and returns the index after the array. commands
// refuses an item whose commands the decoded path would namespace.
func appendTaggedItems(out, items, tag []byte, commands bool) ([]byte, int, bool) {
	n := 0
	for i := skipSpace(items, 1); i < len(items); {
		if items[i] == ']' && n == 0 {
			return out, i + 1, true
		}
		if n++; n > MaxCompletionItems || items[i] != '{' {
			return nil, 0, false
		}
		if n > 1 {
			out = append(out, ',')
		}
		var end int
		var ok bool
		if out, end, ok = appendTagged(out, items, i, tag, commands); !ok {
			return nil, 0, false
		}
		switch i = skipSpace(items, end); {
		case i < len(items) && items[i] == ',':
			i = skipSpace(items, i+1)
		case i < len(items) && items[i] == ']':
			return out, i + 1, true
		default:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// appendTagPrefix appends the start of a tag object, up to where the
// item's own data goes: {"gathering.plugin":…,"gathering.uri":… (see
// tagData).
func appendTagPrefix(t []byte, plugin, uri string) []byte {
	t = jsonstr.Append(append(t, `{"`+tagPlugin+`":`...), plugin)
	if uri != "" {
		t = jsonstr.Append(append(t, `,"`+tagURI+`":`...), uri)
	}
	return t
}

// appendTagged appends the object that starts at b[at] with its data
// wrapped in the tag, and returns the index after the object. commands
// refuses an object with a command, or a label that is not a string,
// which namespaceCommands would change.
func appendTagged(out, b []byte, at int, tag []byte, commands bool) ([]byte, int, bool) {
	start, end := -1, -1
	objEnd, walked := walkKeys(b, at, func(key []byte, s, e int) bool {
		switch string(key) {
		case "data":
			if start >= 0 {
				return false // twice: which one counts is the decoder's to say
			}
			start, end = s, e
		case "command":
			return !commands
		case "label":
			return !commands || b[s] == '"'
		}
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
