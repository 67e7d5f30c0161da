package lspbridge

import (
	"encoding/json"
	"os"
	"testing"
)

// TestRewriteInitialize checks that the server is told to watch the bridge,
// not the host's pid from another namespace, and that nothing else changes.
func TestRewriteInitialize(t *testing.T) {
	b := &bridge{}
	in := []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":4242,"rootUri":"file:///w","capabilities":{"x":[1,2]}}}`)
	out := b.rewriteInitialize(in)
	var m struct {
		ID     int `json:"id"`
		Params struct {
			ProcessID    int             `json:"processId"`
			RootURI      string          `json:"rootUri"`
			Capabilities json.RawMessage `json:"capabilities"`
		} `json:"params"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if m.Params.ProcessID != os.Getpid() || m.ID != 1 || m.Params.RootURI != "file:///w" || string(m.Params.Capabilities) != `{"x":[1,2]}` {
		t.Errorf("rewritten initialize = %s", out)
	}
	if !b.initialized {
		t.Error("initialized not set")
	}
	// Anything else passes through byte for byte.
	for _, msg := range []string{
		`{"jsonrpc":"2.0","id":2,"method":"textDocument/hover","params":{"text":"\"initialize\""}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"method":"initialize"}}`,
	} {
		if got := (&bridge{}).rewriteInitialize([]byte(msg)); string(got) != msg {
			t.Errorf("rewriteInitialize(%s) = %s", msg, got)
		}
	}
}
