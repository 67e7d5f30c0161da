package golang

import (
	"testing"
)

// TestEveryEncodingPlacesHoverDefinitionAndCompletionAfterMultiByteText
// runs the same requests on lines with ü and 😀 before the identifier in
// each encoding a client may choose.
func TestEveryEncodingPlacesHoverDefinitionAndCompletionAfterMultiByteText(t *testing.T) {
	t.Parallel()
	a, b := demoModule["a/a.go"], demoModule["b/b.go"]
	for _, tc := range []struct {
		name string
		enc  posEncoding
	}{{"utf-8", encUTF8}, {"utf-16", encUTF16}, {"utf-32", encUTF32}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, demoModule, tc.name)
			auri, buri := f.open("a/a.go", a), f.open("b/b.go", b)
			// Hover on Wide where it follows "😀ü" in a.
			var h hover
			if err := f.c.call("textDocument/hover", tdp(auri, at(t, a, `Wide}`, 2, tc.enc)), &h); err != nil {
				t.Fatal(err)
			}
			wantRange := lspRange{at(t, a, `Wide}`, 0, tc.enc), at(t, a, `Wide}`, 4, tc.enc)}
			if h.Range == nil || *h.Range != wantRange || h.Contents.Value != "```go\nvar Wide string\n```\n\nWide follows multi-byte text." {
				t.Errorf("hover = %+v (range %+v), want range %+v", h.Contents, h.Range, wantRange)
			}
			// Definition of Greet where it follows "ü😀" + in b.
			var locs []location
			if err := f.c.call("textDocument/definition", tdp(buri, at(t, b, "Greet()", 4, tc.enc)), &locs); err != nil {
				t.Fatal(err)
			}
			want := location{auri, lspRange{at(t, a, "Greet() string", 0, tc.enc), at(t, a, "Greet() string", 5, tc.enc)}}
			if len(locs) != 1 || locs[0] != want {
				t.Errorf("definition = %+v, want %+v", locs, want)
			}
			// Completion of "g.Gr" typed after "ü😀" + on the same line.
			text := replaceOnce(b, "g.Greet()", "g.Gr")
			f.c.notify("textDocument/didChange", map[string]any{
				"textDocument": map[string]any{"uri": buri, "version": 2}, "contentChanges": []map[string]any{{"text": text}}})
			var list completionList
			if err := f.c.call("textDocument/completion", tdp(buri, at(t, text, "g.Gr", 4, tc.enc)), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 1 || list.Items[0].Label != "Greet" || list.Items[0].Kind != compMethod {
				t.Errorf("completion = %+v, want just the method Greet", list.Items)
			}
			// An incremental edit whose range is in the encoding's units:
			// "ü😀" becomes "😀😀😀" before g.Greet() on the same line; the
			// definition at the new position must still land on Greet.
			start, end := at(t, b, `ü😀"`, 0, tc.enc), at(t, b, `ü😀"`, len("ü😀"), tc.enc)
			f.c.notify("textDocument/didChange", map[string]any{
				"textDocument": map[string]any{"uri": buri, "version": 3},
				"contentChanges": []map[string]any{
					{"text": b},
					{"range": lspRange{start, end}, "text": "😀😀😀"},
				}})
			edited := replaceOnce(b, `ü😀"`, `😀😀😀"`)
			for _, n := range []int{0, 4} {
				if err := f.c.call("textDocument/definition", tdp(buri, at(t, edited, "Greet()", n, tc.enc)), &locs); err != nil {
					t.Fatal(err)
				}
				if len(locs) != 1 || locs[0] != want {
					t.Errorf("definition after the edit, %d bytes into Greet = %+v, want %+v", n, locs, want)
				}
			}
		})
	}
}

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	panic("replaceOnce: " + old + " not found")
}
