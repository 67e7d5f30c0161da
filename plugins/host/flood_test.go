package host

import (
	"fmt"
	"strings"
	"testing"
)

// floodParams is one of the fault plugin's flood notifications: 10,000
// diagnostics for uri.
func floodParams(uri string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"uri":%q,"diagnostics":[`, uri)
	for i := range 10000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"range":{"start":{"line":%d,"character":0},"end":{"line":%d,"character":1}},"severity":2,"source":"fault","message":"flood %d"}`, i, i, i)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// BenchmarkFloodNotification is the host's share of one flood message: read
// the first 2,000 diagnostics of 10,000 and store them for the publisher.
func BenchmarkFloodNotification(b *testing.B) {
	alpha, _ := twoPlugins()
	st := newSetup(&testing.T{}, "utf-16", alpha)
	defer st.h.Close()
	pi := newPluginInstance(st.s, st.h.plugins[0])
	msg := floodParams(goURI)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		pi.Notification(st.s.ctx, "textDocument/publishDiagnostics", msg)
	}
}

// BenchmarkPublishMerged is one publication of 2,000 diagnostics: tag each
// and hand the merge to the editor.
func BenchmarkPublishMerged(b *testing.B) {
	alpha, _ := twoPlugins()
	st := newSetup(&testing.T{}, "utf-16", alpha)
	defer st.h.Close()
	pi := newPluginInstance(st.s, st.h.plugins[0])
	_, list, _ := readPublish(floodParams(goURI), MaxDiagnosticsPerURI)
	for b.Loop() {
		pi.retag(goURI, list)
	}
}

func TestReadPublish(t *testing.T) {
	cases := []struct {
		in, uri string
		n       int
		bad     bool
	}{
		{in: `{"uri":"file:///a","diagnostics":[{"message":"]}\"["},{"message":"b"}]}`, uri: "file:///a", n: 2},
		{in: ` { "diagnostics" : [ {"a":[1,{"b":"}"}]} , 2 , 3 ] , "version": 4, "uri" : "file:///b" } `, uri: "file:///b", n: 3},
		{in: `{"uri":"file:///c","diagnostics":null}`, uri: "file:///c", n: 0},
		{in: `{"diagnostics":[1,2,3,4,5,6],"uri":"file:///d"}`, uri: "file:///d", n: 4},              // capped at 4
		{in: `{"uri":"file:///e","diagnostics":[1,2,3,4,5,6,{"unterminated`, uri: "file:///e", n: 4}, // past the cap: not read
		{in: `{"diagnostics":[{"message":"x}`, bad: true},
		{in: `{"diagnostics":[]}`, bad: true}, // no uri
		{in: `[]`, bad: true},
	}
	for _, c := range cases {
		uri, list, err := readPublish([]byte(c.in), 4)
		if c.bad {
			if err == nil {
				t.Errorf("readPublish(%s) = %q, %d; want an error", c.in, uri, len(list))
			}
			continue
		}
		if err != nil || uri != c.uri || len(list) != c.n {
			t.Errorf("readPublish(%s) = %q, %d, %v; want %q, %d", c.in, uri, len(list), err, c.uri, c.n)
		}
	}
	_, list, _ := readPublish([]byte(cases[0].in), 4)
	if string(list[0]) != `{"message":"]}\"["}` || string(list[1]) != `{"message":"b"}` {
		t.Errorf("elements %s, %s", list[0], list[1])
	}
	_, list, _ = readPublish(floodParams(goURI), MaxDiagnosticsPerURI)
	if len(list) != MaxDiagnosticsPerURI || !strings.Contains(string(list[1999]), `"flood 1999"`) {
		t.Errorf("flood: %d kept, last %s", len(list), list[len(list)-1])
	}
}
