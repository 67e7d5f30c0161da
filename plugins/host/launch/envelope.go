package launch

import (
	"bytes"
	"encoding/json"
)

// notificationPrefix is how encoding/json, the SDK and most LSP servers
// (gopls, vscode-languageserver) begin a notification.
var notificationPrefix = []byte(`{"jsonrpc":"2.0","method":"`)

// decodeEnvelope decodes one message from the plugin. A notification in the
// common shape {"jsonrpc":"2.0","method":"M","params":P} is split without
// scanning P: diagnostics floods are megabytes of params the host only
// passes on, and encoding/json would scan them twice. P is then not
// validated here; the Handler that decodes it does. Everything else goes
// through encoding/json.
func decodeEnvelope(msg []byte, e *envelope) error {
	if fastNotification(msg, e) {
		return nil
	}
	return json.Unmarshal(msg, e)
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
