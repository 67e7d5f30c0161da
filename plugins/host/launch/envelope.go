package launch

import (
	"bytes"
	"encoding/json"

	"github.com/gathering-dev/gathering/internal/jsonvalid"
)

// notificationPrefix is how encoding/json, the SDK and most LSP servers
// (gopls, vscode-languageserver) begin a notification.
var notificationPrefix = []byte(`{"jsonrpc":"2.0","method":"`)

// decodeEnvelope decodes one message from the plugin. A notification in the
// common shape {"jsonrpc":"2.0","method":"M","params":P} is split without
// scanning P: diagnostics floods are megabytes of params the host only
// passes on, and encoding/json would scan them twice. P is then not
// validated here; the Handler that decodes it does. An answer in either
// common shape, {"jsonrpc":"2.0","id":N,"result":R} or (gopls's)
// {"jsonrpc":"2.0","result":R,"id":N}, is split with R checked by one
// jsonvalid.Valid pass, since it may go to the editor as it is. Everything else
// goes through encoding/json.
//
// e is not kept, so that the caller's can stay on its stack.
func decodeEnvelope(msg []byte, e *envelope) error {
	if fastNotification(msg, e) || fastResponse(msg, e) {
		return nil
	}
	var slow envelope
	err := json.Unmarshal(msg, &slow)
	*e = slow
	return err
}

var (
	responseIDFirst     = []byte(`{"jsonrpc":"2.0","id":`)
	responseResultFirst = []byte(`{"jsonrpc":"2.0","result":`)
)

// fastResponse splits an answer with a numeric id (the host numbers its
// calls) in one of the two common shapes; it reports false, leaving e
// alone, for anything else.
func fastResponse(msg []byte, e *envelope) bool {
	msg = bytes.TrimRight(msg, " \t\r\n")
	if len(msg) < 2 || msg[len(msg)-1] != '}' {
		return false
	}
	body := msg[:len(msg)-1]
	var id, result []byte
	if rest, ok := bytes.CutPrefix(body, responseIDFirst); ok {
		n := digits(rest)
		var more bool
		result, more = bytes.CutPrefix(rest[n:], []byte(`,"result":`))
		if n == 0 || !more {
			return false
		}
		id = rest[:n]
	} else if rest, ok := bytes.CutPrefix(body, responseResultFirst); ok {
		// The id is last: ,"id":N right before the closing brace.
		n := 0
		for n < len(rest) && rest[len(rest)-1-n] >= '0' && rest[len(rest)-1-n] <= '9' {
			n++
		}
		head, ok := bytes.CutSuffix(rest[:len(rest)-n], []byte(`,"id":`))
		if n == 0 || !ok {
			return false
		}
		result, id = head, rest[len(rest)-n:]
	} else {
		return false
	}
	// R must be exactly one JSON value: that also rules out R smuggling
	// more keys into the envelope (`1,"error":{…}`).
	if len(result) == 0 || !jsonvalid.Valid(result) {
		return false
	}
	e.ID, e.Result = id, result
	return true
}

// digits counts the ASCII digits b starts with.
func digits(b []byte) int {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return n
}

func fastNotification(msg []byte, e *envelope) bool {
	rest, ok := bytes.CutPrefix(msg, notificationPrefix)
	if !ok {
		return false
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return false
	}
	method := rest[:end]
	rest, ok = bytes.CutPrefix(rest[end+1:], []byte(`,"params":`))
	if !ok {
		return false
	}
	rest = bytes.TrimRight(rest, " \t\r\n")
	if len(rest) < 3 || rest[len(rest)-1] != '}' {
		return false
	}
	params := bytes.TrimSpace(rest[:len(rest)-1])
	if len(params) < 2 {
		return false
	}
	// Only an object or array whose last byte closes it: anything else
	// (a scalar, or more keys after params) takes the careful path.
	switch {
	case params[0] == '{' && params[len(params)-1] == '}':
	case params[0] == '[' && params[len(params)-1] == ']':
	default:
		return false
	}
	e.Method, e.Params = string(method), params
	return true
}
