package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gathering-dev/gathering/bench/internal/wire"
)

func TestAnswersAreJSONAndEndAtExit(t *testing.T) {
	for method, a := range answers {
		if !json.Valid([]byte(a)) {
			t.Errorf("%s: answer is not JSON: %s", method, a)
		}
	}
	var in []byte
	for _, m := range []struct {
		id     int64
		method string
	}{{1, "textDocument/hover"}, {0, "initialized"}, {2, "workspace/symbol"}, {0, "exit"}, {3, "textDocument/hover"}} {
		in = wire.AppendFrame(in, wire.AppendRequest(nil, m.id, m.method, []byte(`{}`)))
	}
	var out bytes.Buffer
	if err := serve(bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, `"id":1,"result":{"contents"`) || !strings.Contains(got, `"id":2,"result":null`) || strings.Contains(got, `"id":3`) {
		t.Errorf("answers:\n%s", got)
	}
}
