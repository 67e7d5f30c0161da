package peer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sourcegraph/jsonrpc2"
)

// BenchmarkDecode compares what the library does to every incoming request
// with the least a JSON-RPC connection must do. The library decodes each
// message twice: once into a probe struct, to tell requests from responses,
// with id, result and error as interface{} values, and once through
// Request.UnmarshalJSON, which decodes the whole message into a
// map[string]interface{} and marshals params back to JSON. The alternative
// decodes an envelope with params kept as raw JSON, once. Run it with
//
//	go test -run='^$' -bench=Decode ./bench/internal/peer
func BenchmarkDecode(b *testing.B) {
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"didChange", didChange()},
		{"didOpen100kLines", didOpen(100_000)},
	} {
		b.Run(m.name+"/library", func(b *testing.B) {
			b.SetBytes(int64(len(m.data)))
			b.ReportAllocs()
			for b.Loop() {
				var probe struct {
					ID     any     `json:"id"`
					Method *string `json:"method"`
					Result any     `json:"result"`
					Error  any     `json:"error"`
				}
				if err := json.Unmarshal(m.data, &probe); err != nil {
					b.Fatal(err)
				}
				var r jsonrpc2.Request
				if err := json.Unmarshal(m.data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/envelope", func(b *testing.B) {
			b.SetBytes(int64(len(m.data)))
			b.ReportAllocs()
			for b.Loop() {
				var e struct {
					JSONRPC string           `json:"jsonrpc"`
					ID      *json.RawMessage `json:"id"`
					Method  *string          `json:"method"`
					Params  json.RawMessage  `json:"params"`
					Result  json.RawMessage  `json:"result"`
					Error   json.RawMessage  `json:"error"`
				}
				if err := json.Unmarshal(m.data, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// didChange is one single-character insert, as editbench sends it.
func didChange() []byte {
	return []byte(`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///bench/doc.txt","version":12345},` +
		`"contentChanges":[{"range":{"start":{"line":4711,"character":17},"end":{"line":4711,"character":17}},"text":"x"}]}}`)
}

// didOpen opens a document of n lines of 40 bytes.
func didOpen(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %06d: the quick brown fox jumps\n", i)
	}
	p, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": map[string]any{
		"textDocument": map[string]any{"uri": "file:///bench/doc.txt", "languageId": "plaintext", "version": 1, "text": b.String()},
	}})
	if err != nil {
		panic(err)
	}
	return p
}
