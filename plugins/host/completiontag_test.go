package host

import (
	"encoding/json"
	"reflect"
	"testing"
)

// slowCompletion is what Request makes of one plugin's completion answer:
// decoded, tagged, merged and encoded.
func slowCompletion(t *testing.T, raw []byte, name, uri string, declared map[string]bool) any {
	t.Helper()
	pi := &pluginInstance{p: &plugin{name: name}, commands: declared}
	q := &query{method: "textDocument/completion", route: routes["textDocument/completion"], uri: uri}
	out, err := (&Session{}).finish(q, []*answer{{pi: pi, raw: raw}})
	if err != nil {
		t.Fatalf("slow path: %v", err)
	}
	v, err := decodeJSON(out)
	if err != nil {
		t.Fatalf("slow path output %s: %v", out, err)
	}
	return v
}

func TestTagCompletionMatchesDecodedPath(t *testing.T) {
	for _, c := range []struct {
		raw      string
		declared map[string]bool
		fast     bool
	}{
		{raw: `[]`, fast: true},
		{raw: `[{"label":"a"},{"label":"b","data":1},{"data":{"x":[1,"}"]},"label":"c"}]`, fast: true},
		{raw: `{"isIncomplete":true,"items":[{"label":"a","data":null} , { "label" : "b" }]}`, fast: true},
		{raw: ` {"items":[{"label":"a"}],"isIncomplete":false,"other":{"k":"v"}} `, fast: true},
		{raw: `{"isIncomplete":false,"items":null}`, fast: true},
		{raw: `{"isIncomplete":false,"items":[{}]}`, fast: true},
		{raw: `[{"label":"a","command":{"title":"t","command":"x"}}]`, fast: true},
		{raw: `[{"label":"a","command":{"title":"t","command":"x"}}]`, declared: map[string]bool{"x": true}},
		{raw: `[{"label":[{"value":"a","command":{"title":"t","command":"x"}}]}]`, declared: map[string]bool{"x": true}},
		{raw: `[{"label":"a","documentation":"see the command x"}]`, declared: map[string]bool{"x": true}, fast: true},
		{raw: `{"isIncomplete":true,"items":[{"label":"a"}],"itemDefaults":{"data":5}}`},
		{raw: `{"isIncomplete":true,"items":[{"label":"a"}],"isIncomplete":false}`, fast: true},
		{raw: `{"isIncomplete":false,"items":[{"label":"a"}],"items":[{"label":"b"}]}`, fast: true},
		{raw: `{"isIncomplete":false,"items":[{"label":"a","documentation":"itemDefaults"}]}`, fast: true},
		{raw: `{"isIncomplete":false,"items":[]}`, fast: true},
		{raw: `{"isIncomplete":false,"items": [ ] }`, fast: true},
		{raw: `{"isIncomplete":false,"itemDefaults":{"data":5},"items":[{"label":"a"}]}`},
		{raw: `[{"label":"a","data":1,"data":2}]`},
		{raw: `[{"label":"a","d\u0061ta":1}]`},
		{raw: `[1]`},
		{raw: `"text"`},
	} {
		out, ok := tagCompletion([]byte(c.raw), "gamma", "file:///a.go", c.declared)
		if ok != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.raw, ok, c.fast)
			continue
		}
		if !ok {
			continue
		}
		got, err := decodeJSON(out)
		if err != nil {
			t.Errorf("%s: fast path wrote %s: %v", c.raw, out, err)
			continue
		}
		if want := slowCompletion(t, []byte(c.raw), "gamma", "file:///a.go", c.declared); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nfast %s\nslow %v", c.raw, out, want)
		}
	}
}

// FuzzTagCompletion: whatever the byte path takes, it answers what the
// decoded path answers.
func FuzzTagCompletion(f *testing.F) {
	for _, s := range []string{
		`[{"label":"a","data":{"n":1}},{"label":"b"}]`,
		`{"isIncomplete":true,"items":[{"label":"x","data":[1,2]}]}`,
		`{"items":[{"label":"é\"}","data":"\u00e9"}]}`,
	} {
		f.Add([]byte(s), "", false)
		f.Add([]byte(s), "file:///a.go", true)
	}
	f.Add([]byte(`[{"label":[{"value":"a","command":{"command":"x"}}]},{"label":"b","command":{"command":"x"}}]`), "", true)
	f.Add([]byte(`{"isIncomplete":false,"items":[{"label":"a"}],"itemDefaults":{"data":1}}`), "", false)
	f.Fuzz(func(t *testing.T, raw []byte, uri string, commands bool) {
		if !json.Valid(raw) {
			return // the launch layer passes only valid JSON
		}
		var declared map[string]bool
		if commands {
			declared = map[string]bool{"x": true}
		}
		out, ok := tagCompletion(raw, "gamma", uri, declared)
		if !ok {
			return
		}
		got, err := decodeJSON(out)
		if err != nil {
			t.Fatalf("%s: fast path wrote %s: %v", raw, out, err)
		}
		if want := slowCompletion(t, raw, "gamma", uri, declared); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\nfast %s\nslow %v", raw, out, want)
		}
	})
}

// BenchmarkTagCompletion tags gopls's answer to a completion in
// bench/pluginbench's module: the work on every forwarded completion.
func BenchmarkTagCompletion(b *testing.B) {
	raw := []byte(`{"isIncomplete":true,"items":[{"label":"Greet","kind":3,"detail":"func(name string) string","documentation":{"kind":"markdown","value":"Greet says hello to name.\n"},"preselect":true,"sortText":"00000","filterText":"Greet","insertTextFormat":1,"textEdit":{"range":{"start":{"line":11,"character":17},"end":{"line":11,"character":17}},"newText":"Greet"}},{"label":"Shout","kind":3,"detail":"func(s string) string","documentation":{"kind":"markdown","value":"Shout is loud.\n"},"sortText":"00001","filterText":"Shout","insertTextFormat":1,"textEdit":{"range":{"start":{"line":11,"character":17},"end":{"line":11,"character":17}},"newText":"Shout"}}]}`)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, ok := tagCompletion(raw, "gopls", "file:///home/u/mod/main.go", nil); !ok {
			b.Fatal("the byte path refused gopls's answer")
		}
	}
}
