package lspbridge

import (
	"context"
	"go/format"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

const goMod = "module example.com/greet\n\ngo 1.26\n"

const mainGo = `package main

import "fmt"

// Greeting returns a friendly greeting for name.
func Greeting(name string) string {
	return "hello, " + name
}

func main() {
	fmt.Println(Greeting("world"))
	fmt.Println(Greeting("gopher"))
	fmt.Pr
}
`

// unformattedGo is valid Go that gofmt would change.
const unformattedGo = "package main\n\nfunc  helper( a,b int)int{\nreturn a+b}\n"

// goModule writes the test module into a fresh directory.
func goModule(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"go.mod": goMod, "main.go": mainGo, "helper.go": unformattedGo} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type hover struct {
	Contents struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"contents"`
	Range *lspRange `json:"range"`
}

type completionList struct {
	IsIncomplete bool `json:"isIncomplete"`
	Items        []struct {
		Label  string `json:"label"`
		Kind   int    `json:"kind"`
		Detail string `json:"detail"`
	} `json:"items"`
}

type textEdit struct {
	Range   lspRange `json:"range"`
	NewText string   `json:"newText"`
}

// TestGoplsThroughRun drives a real gopls through Run and checks hover,
// definition, references, completion and formatting on a module made here.
func TestGoplsThroughRun(t *testing.T) {
	l := requireServer(t, "gopls")
	dir := goModule(t)
	b := runBridged(t, l, dir, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	defer cancel()
	if err := b.initialize(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	mainURI := b.open(t, filepath.Join(dir, "main.go"), "go")
	helperURI := b.open(t, filepath.Join(dir, "helper.go"), "go")

	use := positionOf(t, mainGo, "Greeting(", 2, 2) // inside the first call in main
	decl := lspRange{Start: position{Line: 5, Character: 5}, End: position{Line: 5, Character: 13}}

	t.Run("hover", func(t *testing.T) {
		var h hover
		if err := b.call(ctx, "textDocument/hover", textDocumentPosition(mainURI, use), &h); err != nil {
			t.Fatal(err)
		}
		want := "```go\nfunc Greeting(name string) string\n```\n\n---\n\nGreeting returns a friendly greeting for name.\n\n\n---\n\n" +
			"[`main.Greeting` on pkg.go.dev](https://pkg.go.dev/example.com/greet#Greeting)"
		if h.Contents.Kind != "markdown" || h.Contents.Value != want {
			t.Errorf("hover = %s %q, want markdown %q", h.Contents.Kind, h.Contents.Value, want)
		}
		wantRange := lspRange{Start: position{Line: 10, Character: 13}, End: position{Line: 10, Character: 21}}
		if h.Range == nil || *h.Range != wantRange {
			t.Errorf("hover range = %+v, want %+v", h.Range, wantRange)
		}
	})

	t.Run("definition", func(t *testing.T) {
		var locs []location
		if err := b.call(ctx, "textDocument/definition", textDocumentPosition(mainURI, use), &locs); err != nil {
			t.Fatal(err)
		}
		want := []location{{URI: mainURI, Range: decl}}
		if !reflect.DeepEqual(locs, want) {
			t.Errorf("definition = %+v, want %+v", locs, want)
		}
	})

	t.Run("references", func(t *testing.T) {
		params := textDocumentPosition(mainURI, use)
		params["context"] = map[string]bool{"includeDeclaration": true}
		var locs []location
		if err := b.call(ctx, "textDocument/references", params, &locs); err != nil {
			t.Fatal(err)
		}
		sort.Slice(locs, func(i, j int) bool { return locs[i].Range.Start.Line < locs[j].Range.Start.Line })
		want := []location{
			{URI: mainURI, Range: decl},
			{URI: mainURI, Range: lspRange{Start: position{Line: 10, Character: 13}, End: position{Line: 10, Character: 21}}},
			{URI: mainURI, Range: lspRange{Start: position{Line: 11, Character: 13}, End: position{Line: 11, Character: 21}}},
		}
		if !reflect.DeepEqual(locs, want) {
			t.Errorf("references = %+v, want %+v", locs, want)
		}
	})

	t.Run("completion", func(t *testing.T) {
		at := positionOf(t, mainGo, "fmt.Pr\n", 1, len("fmt.Pr"))
		var list completionList
		if err := b.call(ctx, "textDocument/completion", textDocumentPosition(mainURI, at), &list); err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, it := range list.Items {
			labels = append(labels, it.Label)
		}
		want := []string{"Print", "Printf", "Println"}
		if got := slices.Sorted(slices.Values(labels)); !reflect.DeepEqual(got, want) {
			t.Errorf("completion labels = %q, want %q", labels, want)
		}
	})

	t.Run("formatting", func(t *testing.T) {
		var edits []textEdit
		params := map[string]any{
			"textDocument": map[string]string{"uri": helperURI},
			"options":      map[string]any{"tabSize": 4, "insertSpaces": false},
		}
		if err := b.call(ctx, "textDocument/formatting", params, &edits); err != nil {
			t.Fatal(err)
		}
		got := applyEdits(t, unformattedGo, edits)
		want, err := format.Source([]byte(unformattedGo))
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("formatting gave %q, want gofmt's %q (edits %+v)", got, want, edits)
		}
	})
}

// applyEdits applies LSP text edits (UTF-16 columns; the test text is ASCII).
func applyEdits(t testing.TB, text string, edits []textEdit) string {
	t.Helper()
	lines := strings.SplitAfter(text, "\n")
	offset := func(p position) int {
		if p.Line >= len(lines) {
			return len(text)
		}
		n := 0
		for _, l := range lines[:p.Line] {
			n += len(l)
		}
		return n + p.Character
	}
	sorted := slices.Clone(edits)
	sort.SliceStable(sorted, func(i, j int) bool { return offset(sorted[i].Range.Start) > offset(sorted[j].Range.Start) })
	for _, e := range sorted {
		s, en := offset(e.Range.Start), offset(e.Range.End)
		text = text[:s] + e.NewText + text[en:]
	}
	return text
}
