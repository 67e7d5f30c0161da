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
	var tagBuf [256]byte
	tag := appendTagPrefix(tagBuf[:0], plugin, uri)
	commands := len(declared) > 0
	// A list in the shape gopls, the SDK and most servers write,
	// {"isIncomplete":B,"items":[…]}, is split on its prefix alone; its
	// items must then end right before its closing brace, or the list's
	// keys are walked after all.
	for _, p := range []struct {
		prefix     []byte
		incomplete bool
	}{{completeListPrefix, false}, {incompleteListPrefix, true}} {
		if after, ok := bytes.CutPrefix(raw, p.prefix); ok {
			if out, ok := tagItems(raw, bytes.TrimLeft(after, " \t\r\n"), tag, p.incomplete, commands, len("}")); ok {
				return out, true
			}
			break
		}
	}
	items, incomplete, ok := completionItems(raw)
	if !ok {
		return nil, false
	}
	return tagItems(raw, items, tag, incomplete, commands, 0)
}

var (
	completeListPrefix   = []byte(`{"isIncomplete":false,"items":`)
	incompleteListPrefix = []byte(`{"isIncomplete":true,"items":`)
)

// tagItems writes the list of raw's items, the array that starts at
// items[0] (nil is none), each tagged, when exactly tail bytes of items
// follow the array. commands refuses an item whose commands the decoded
// path would namespace.
func tagItems(raw, items, tag []byte, incomplete, commands bool, tail int) ([]byte, bool) {
	out := make([]byte, 0, len(raw)+len(tag)*(1+len(raw)/64))
	out = append(out, `{"isIncomplete":`...)
	out = strconv.AppendBool(out, incomplete)
	out = append(out, `,"items":[`...)
	if items != nil {
		if len(items) == 0 || items[0] != '[' {
			return nil, false
		}
		var end int
		var ok bool
		if out, end, ok = appendTaggedItems(out, items, tag, commands); !ok || skipSpace(items, end) != len(items)-tail {
			return nil, false
		}
	}
	return append(out, "]}"...), true
}

// completionItems finds the items of a completion answer: the answer
// itself when it is an array, else the list's "items" (walked for).
func completionItems(raw []byte) (items []byte, incomplete, ok bool) {
	switch {
	case len(raw) > 0 && raw[0] == '[':
		return raw, false, true
	case len(raw) == 0 || raw[0] != '{':
		return nil, false, false
	}
	return walkedItems(raw)
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
