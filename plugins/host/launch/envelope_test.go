package launch

import (
	"encoding/json"
	"testing"
)

func TestDecodeEnvelope(t *testing.T) {
	for _, c := range []struct {
		msg          string
		fast         bool
		method, prms string
		id           string
		bad          bool
	}{
		{msg: `{"jsonrpc":"2.0","method":"textDocument/publishDiagnostics","params":{"uri":"a","diagnostics":[]}}`, fast: true, method: "textDocument/publishDiagnostics", prms: `{"uri":"a","diagnostics":[]}`},
		{msg: `{"jsonrpc":"2.0","method":"m","params":[1,2]}` + "\n", fast: true, method: "m", prms: `[1,2]`},
		{msg: `{"jsonrpc":"2.0","method":"m","params":{"a":1},"id":3}`, method: "m", prms: `{"a":1}`, id: "3"},
		{msg: `{"jsonrpc":"2.0","method":"m","params":5}`, method: "m", prms: `5`},
		{msg: `{"jsonrpc":"2.0","method":"m\"x","params":{}}`, method: `m"x`, prms: `{}`},
		{msg: `{"jsonrpc":"2.0","id":7,"result":{"x":1}}`, id: "7", fast: true},
		{msg: `{"jsonrpc":"2.0","result":{"x":[1,"}"]},"id":12}`, id: "12", fast: true},
		{msg: `{"jsonrpc":"2.0","id":12,"result":null}` + "\n", id: "12", fast: true},
		{msg: `{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"m"},"id":4}`, id: "4"},
		{msg: `{"jsonrpc":"2.0","id":4,"result":1,"id":5}`, id: "5"},
		{msg: `{"jsonrpc":"2.0","id":"4","result":1}`, id: `"4"`},
		{msg: `{"jsonrpc":"2.0","result":{"a":1},"id":}`, bad: true},
		{msg: `this is not JSON {`, bad: true},
		{msg: `{"jsonrpc":"2.0","method":"m","params":{}`, bad: true},
	} {
		var e envelope
		fast := fastNotification([]byte(c.msg), &envelope{}) || fastResponse([]byte(c.msg), &envelope{})
		err := decodeEnvelope([]byte(c.msg), &e)
		if c.bad {
			if err == nil {
				t.Errorf("%s: decoded as %+v", c.msg, e)
			}
			continue
		}
		if err != nil || fast != c.fast || e.Method != c.method || string(e.ID) != c.id || (c.prms != "" && string(e.Params) != c.prms) {
			t.Errorf("%s: fast %v, %+v (params %s), %v", c.msg, fast, e, e.Params, err)
		}
		if fast {
			var slow envelope
			json.Unmarshal([]byte(c.msg), &slow)
			if slow.Method != e.Method || string(slow.Params) != string(e.Params) || string(slow.ID) != string(e.ID) || string(slow.Result) != string(e.Result) {
				t.Errorf("%s: fast path %+v, encoding/json %+v", c.msg, e, slow)
			}
		}
	}
}

// FuzzFastResponse: whatever the fast path splits, encoding/json decodes
// to the same id and result.
func FuzzFastResponse(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":7,"result":{"x":1}}`,
		`{"jsonrpc":"2.0","result":[1,{"a":"}"}],"id":12}`,
		`{"jsonrpc":"2.0","result":1,"error":{},"id":4}`,
		`{"jsonrpc":"2.0","id":4,"result":1,"id":5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var fast envelope
		if !fastResponse(msg, &fast) {
			return
		}
		var slow envelope
		if err := json.Unmarshal(msg, &slow); err != nil {
			t.Fatalf("%s: fast path took what encoding/json refuses: %v", msg, err)
		}
		if string(slow.ID) != string(fast.ID) || string(slow.Result) != string(fast.Result) || slow.Method != "" || slow.Error != nil {
			t.Fatalf("%s: fast %s %s, encoding/json %+v", msg, fast.ID, fast.Result, slow)
		}
	})
}

func TestEncodeRequest(t *testing.T) {
	for _, c := range []struct {
		id     int64
		method string
		params any
		want   string
	}{
		{7, "textDocument/hover", json.RawMessage(`{"a":1}`), `{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{"a":1}}`},
		{0, "$/cancelRequest", map[string]int{"id": 3}, `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":3}}`},
		{1, `odd"<name>`, nil, `{"jsonrpc":"2.0","id":1,"method":"odd\"\u003cname\u003e"}`},
	} {
		got, err := encodeRequest(c.id, c.method, c.params)
		if err != nil || string(got) != c.want {
			t.Errorf("encodeRequest(%d, %q) = %s, %v; want %s", c.id, c.method, got, err, c.want)
		}
	}
	if _, err := encodeRequest(1, "m", json.RawMessage(`{"a":`)); err == nil {
		t.Error("encodeRequest took params that are not JSON")
	}
}
