package golang

import (
	"errors"
	"go/format"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

func newFixture(t *testing.T, files map[string]string, encodings ...string) *fixture {
	dir := t.TempDir()
	writeFiles(t, dir, files)
	c := newClient(t)
	initialize(t, c, dir, encodings...)
	return &fixture{t: t, dir: dir, c: c}
}

func TestInitializeAnswersCapabilitiesAndTheChosenEncoding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		offered []string
		want    string
	}{{nil, "utf-16"}, {[]string{"utf-8", "utf-16"}, "utf-8"}, {[]string{"utf-32"}, "utf-32"}} {
		dir := t.TempDir()
		c := newClient(t)
		res := initialize(t, c, dir, tc.offered...)
		caps := res["capabilities"].(map[string]any)
		if caps["positionEncoding"] != tc.want {
			t.Errorf("offered %q: positionEncoding %v, want %s", tc.offered, caps["positionEncoding"], tc.want)
		}
		for _, k := range []string{"hoverProvider", "definitionProvider", "referencesProvider",
			"documentSymbolProvider", "documentFormattingProvider", "completionProvider"} {
			if caps[k] == nil {
				t.Errorf("capability %s missing", k)
			}
		}
		if sync := caps["textDocumentSync"].(map[string]any); sync["change"] != float64(2) || sync["openClose"] != true {
			t.Errorf("textDocumentSync %v, want incremental with open/close", sync)
		}
	}
}

func TestHoverShowsSignatureAndDocAcrossPackagesAndStd(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demoModule)
	b := demoModule["b/b.go"]
	uri := f.open("b/b.go", b)
	cases := []struct {
		marker string
		want   string
	}{
		{"Greet()", "```go\nfunc (g *a.Greeter) Greet() string\n```\n\nGreet returns a greeting for g's name."},
		{"Greeter{", "```go\ntype Greeter struct {\n\tName  string\n\tcount int\n}\n```\n\nGreeter says hello."},
		{"Name:", "```go\nfield Name string\n```\n\nName is who is greeted."},
		{"Wide", "```go\nvar a.Wide string\n```\n\nWide follows multi-byte text."},
		{"h := ", "```go\nvar h string\n```"},
		{"a.Greeter", "```go\npackage a (\"example.com/demo/a\")\n```"},
	}
	for _, c := range cases {
		var h hover
		if err := f.c.call("textDocument/hover", tdp(uri, at(t, b, c.marker, 0, encUTF16)), &h); err != nil {
			t.Fatalf("hover %s: %v", c.marker, err)
		}
		if h.Contents.Kind != "markdown" || h.Contents.Value != c.want {
			t.Errorf("hover %s = %q, want %q", c.marker, h.Contents.Value, c.want)
		}
	}
	// Into the standard library: signature and the first line of its doc.
	a := demoModule["a/a.go"]
	auri := f.open("a/a.go", a)
	var h hover
	if err := f.c.call("textDocument/hover", tdp(auri, at(t, a, "ToUpper", 2, encUTF16)), &h); err != nil {
		t.Fatal(err)
	}
	if want := "```go\nfunc strings.ToUpper(s string) string\n```\n\nToUpper returns s with all Unicode letters mapped to their upper case."; h.Contents.Value != want {
		t.Errorf("hover ToUpper = %q, want %q", h.Contents.Value, want)
	}
	wantRange := lspRange{at(t, a, "ToUpper", 0, encUTF16), at(t, a, "ToUpper", len("ToUpper"), encUTF16)}
	if h.Range == nil || *h.Range != wantRange {
		t.Errorf("hover range %+v, want %+v", h.Range, wantRange)
	}
	// Nothing to say about a keyword.
	var none *hover
	if err := f.c.call("textDocument/hover", tdp(auri, at(t, a, "return", 1, encUTF16)), &none); err != nil || none != nil {
		t.Errorf("hover on a keyword = %+v, %v; want null", none, err)
	}
}

func TestDefinitionAcrossPackagesAndIntoGOROOT(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demoModule)
	a, b := demoModule["a/a.go"], demoModule["b/b.go"]
	buri := f.open("b/b.go", b)
	def := func(uri, text, marker string, n int) []location {
		t.Helper()
		var locs []location
		if err := f.c.call("textDocument/definition", tdp(uri, at(t, text, marker, n, encUTF16)), &locs); err != nil {
			t.Fatalf("definition %s: %v", marker, err)
		}
		return locs
	}
	aURI := uriIn(f.dir, "a/a.go")
	span := func(text, marker string, n, length int) lspRange {
		return lspRange{at(t, text, marker, n, encUTF16), at(t, text, marker, n+length, encUTF16)}
	}
	cases := []struct {
		marker string
		n      int
		want   location
	}{
		{"Greet()", 1, location{aURI, span(a, "Greet() string", 0, 5)}},
		{"Greeter{", 0, location{aURI, span(a, "Greeter struct", 0, 7)}},
		{"Name:", 0, location{aURI, span(a, "Name  string", 0, 4)}},
		{"a.Wide", 3, location{aURI, span(a, "Wide =", 0, 4)}},
		{"h + ", 0, location{buri, span(b, "h := ", 0, 1)}},
	}
	for _, c := range cases {
		locs := def(buri, b, c.marker, c.n)
		if len(locs) != 1 || locs[0] != c.want {
			t.Errorf("definition %s = %+v, want %+v", c.marker, locs, c.want)
		}
	}
	// Into GOROOT: strings.ToUpper is declared in $GOROOT/src/strings/strings.go.
	auri := f.open("a/a.go", a)
	locs := def(auri, a, "ToUpper", 1)
	goroot := newResolver().goroot
	file := filepath.Join(goroot, "src", "strings", "strings.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := location{pathToURI(file), span(string(src), "func ToUpper(", 5, 7)}
	if len(locs) != 1 || locs[0] != want {
		t.Errorf("definition ToUpper = %+v, want %+v", locs, want)
	}
	// A built-in has no source location.
	if locs := def(auri, a, "string {", 0); len(locs) != 0 {
		t.Errorf("definition of built-in string = %+v, want none", locs)
	}
}

func TestReferencesFindUsesInEveryPackageOfTheModule(t *testing.T) {
	t.Parallel()
	files := maps(demoModule, map[string]string{
		"a/a_test.go": "package a\n\nimport \"testing\"\n\nfunc TestGreet(t *testing.T) { _ = (&Greeter{}).Greet() }\n",
		"c/c.go":      "package c\n\nimport \"example.com/demo/a\"\n\nvar G = new(a.Greeter).Greet\n",
	})
	f := newFixture(t, files)
	a := files["a/a.go"]
	auri := f.open("a/a.go", a)
	var locs []location
	params := tdp(auri, at(t, a, "Greet() string", 2, encUTF16))
	params["context"] = map[string]any{"includeDeclaration": true}
	if err := f.c.call("textDocument/references", params, &locs); err != nil {
		t.Fatal(err)
	}
	span := func(name, marker string, n int) location {
		text := files[name]
		return location{uriIn(f.dir, name), lspRange{at(t, text, marker, n, encUTF16), at(t, text, marker, n+5, encUTF16)}}
	}
	want := []location{
		span("a/a.go", "Greet() string", 0),
		span("a/a_test.go", "Greet()", 0),
		span("b/b.go", "Greet()", 0),
		span("c/c.go", "Greet\n", 0),
	}
	if !reflect.DeepEqual(locs, want) {
		t.Errorf("references = %+v\nwant %+v", locs, want)
	}
	// Without the declaration; and a local variable stays in its file.
	params["context"] = map[string]any{"includeDeclaration": false}
	if err := f.c.call("textDocument/references", params, &locs); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(locs, want[1:]) {
		t.Errorf("references without declaration = %+v", locs)
	}
	b := files["b/b.go"]
	buri := f.open("b/b.go", b)
	params = tdp(buri, at(t, b, "g :=", 0, encUTF16))
	params["context"] = map[string]any{"includeDeclaration": true}
	if err := f.c.call("textDocument/references", params, &locs); err != nil {
		t.Fatal(err)
	}
	g1 := location{buri, lspRange{at(t, b, "g :=", 0, encUTF16), at(t, b, "g :=", 1, encUTF16)}}
	g2 := location{buri, lspRange{at(t, b, "g.Greet", 0, encUTF16), at(t, b, "g.Greet", 1, encUTF16)}}
	if !reflect.DeepEqual(locs, []location{g1, g2}) {
		t.Errorf("references of local g = %+v, want %+v", locs, []location{g1, g2})
	}
}

func maps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestDiagnosticsReportSyntaxAndTypeErrorsWithTheirRanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demoModule)
	b := demoModule["b/b.go"]
	uri := f.open("b/b.go", b)
	f.c.diagnostics(uri, func(d []diagnostic) bool { return len(d) == 0 })

	// A type error: an int where a string is returned; the range is the
	// expression, after multi-byte text on the same line.
	bad := strings.Replace(b, "return h + a.Wide", "return \"ü😀\" + a.Answer", 1)
	f.c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 2},
		"contentChanges": []map[string]any{{"text": bad}}})
	d := f.c.diagnostics(uri, func(d []diagnostic) bool { return len(d) > 0 })
	want := []diagnostic{{
		Range:    lspRange{at(t, bad, `"ü😀" + a.Answer`, 0, encUTF16), at(t, bad, `"ü😀" + a.Answer`, len(`"ü😀" + a.Answer`), encUTF16)},
		Severity: 1, Source: "compiler",
		Message: `invalid operation: "ü😀" + a.Answer (mismatched types untyped string and untyped int)`,
	}, {
		Range:    lspRange{at(t, bad, "h := ", 0, encUTF16), at(t, bad, "h := ", 1, encUTF16)},
		Severity: 1, Source: "compiler", Message: "declared and not used: h",
	}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("type error diagnostics = %+v\nwant %+v", d, want)
	}

	// A syntax error, sent as an incremental change in the middle of a line.
	pos := at(t, bad, "return", 0, encUTF16)
	f.c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 3},
		"contentChanges": []map[string]any{{"range": lspRange{pos, pos}, "text": "x := )\n\t"}}})
	d = f.c.diagnostics(uri, func(d []diagnostic) bool {
		return len(d) > 0 && d[0].Source == "syntax"
	})
	broken := strings.Replace(bad, "return", "x := )\n\treturn", 1)
	wantRange := lspRange{at(t, broken, ")\n\treturn", 0, encUTF16), at(t, broken, ")\n\treturn", 1, encUTF16)}
	if d[0].Range != wantRange || !strings.Contains(d[0].Message, "expected operand") {
		t.Errorf("syntax error diagnostic = %+v, want at %+v", d[0], wantRange)
	}

	// Closing clears them (the file on disk has no errors).
	f.c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": uri}})
	f.c.diagnostics(uri, func(d []diagnostic) bool { return len(d) == 0 })
	// Reopened broken, then fixed: the diagnostics come and go again.
	uri = f.open("b/b.go", broken)
	f.c.diagnostics(uri, func(d []diagnostic) bool { return len(d) > 0 && d[0].Source == "syntax" })
	f.c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 4},
		"contentChanges": []map[string]any{{"text": b}}})
	f.c.diagnostics(uri, func(d []diagnostic) bool { return len(d) == 0 })
}

func TestDiagnosticsFollowAnEditInAnImportedPackage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demoModule)
	a, b := demoModule["a/a.go"], demoModule["b/b.go"]
	buri := f.open("b/b.go", b)
	auri := f.open("a/a.go", a)
	f.c.diagnostics(buri, func(d []diagnostic) bool { return len(d) == 0 })
	// Renaming Wide in a (editor text only, not saved) breaks b.
	f.c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": auri, "version": 2},
		"contentChanges": []map[string]any{{"text": strings.ReplaceAll(a, "Wide", "Broad")}}})
	d := f.c.diagnostics(buri, func(d []diagnostic) bool { return len(d) > 0 })
	want := lspRange{at(t, b, "Wide", 0, encUTF16), at(t, b, "Wide", 4, encUTF16)}
	if len(d) != 1 || d[0].Range != want || d[0].Message != "undefined: a.Wide" {
		t.Errorf("diagnostics after the edit in a = %+v, want undefined: a.Wide at %+v", d, want)
	}
}

func TestDocumentSymbolsNestFieldsAndMethodsUnderTheirTypes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demoModule)
	a := demoModule["a/a.go"]
	uri := f.open("a/a.go", a)
	var syms []documentSymbol
	if err := f.c.call("textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": uri}}, &syms); err != nil {
		t.Fatal(err)
	}
	type flat struct {
		Name string
		Kind int
	}
	var got []flat
	var walk func([]documentSymbol, string)
	walk = func(ss []documentSymbol, prefix string) {
		for _, s := range ss {
			got = append(got, flat{prefix + s.Name, s.Kind})
			walk(s.Children, prefix+s.Name+".")
		}
	}
	walk(syms, "")
	want := []flat{{"Greeter", symStruct}, {"Greeter.Name", symField}, {"Greeter.count", symField},
		{"Greeter.Greet", symMethod}, {"Answer", symConstant}, {"smile", symVariable}, {"Wide", symVariable}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("symbols = %+v, want %+v", got, want)
	}
	wide := syms[len(syms)-1]
	sel := lspRange{at(t, a, "Wide =", 0, encUTF16), at(t, a, "Wide =", 4, encUTF16)}
	if wide.SelectionRange != sel {
		t.Errorf("Wide selection range %+v, want %+v", wide.SelectionRange, sel)
	}
}

func TestFormattingEqualsGoFormatAndRefusesBrokenCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demoModule)
	messy := "package a\nimport \"fmt\"\nfunc  F( ) {\nfmt.Println( \"ü😀\" )\n}\n\n\n\nvar   X=1\n"
	uri := f.open("a/messy.go", messy)
	var edits []textEdit
	if err := f.c.call("textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": uri},
		"options": map[string]any{"tabSize": 4, "insertSpaces": false}}, &edits); err != nil {
		t.Fatal(err)
	}
	want, err := format.Source([]byte(messy))
	if err != nil {
		t.Fatal(err)
	}
	if got := applyEdits(t, messy, edits, encUTF16); got != string(want) {
		t.Errorf("formatted =\n%s\nwant\n%s", got, want)
	}
	// Already formatted: no edits.
	a := demoModule["a/a.go"]
	auri := f.open("a/a.go", a)
	if err := f.c.call("textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": auri}}, &edits); err != nil || len(edits) != 0 {
		t.Errorf("formatting a formatted file = %+v, %v", edits, err)
	}
	// A syntax error is an error answer, not an edit.
	buri := f.open("a/broken.go", "package a\nfunc {\n")
	err = f.c.call("textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": buri}}, &edits)
	var rpcErr *sdk.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != codeRequestFailed || !strings.Contains(rpcErr.Message, "expected") {
		t.Errorf("formatting broken code: err %v, want code %d saying what was expected", err, codeRequestFailed)
	}
}

// applyEdits applies non-overlapping LSP edits to text.
func applyEdits(t testing.TB, text string, edits []textEdit, enc posEncoding) string {
	t.Helper()
	slices.SortFunc(edits, func(a, b textEdit) int {
		if a.Range.Start.Line != b.Range.Start.Line {
			return int(b.Range.Start.Line) - int(a.Range.Start.Line)
		}
		return int(b.Range.Start.Character) - int(a.Range.Start.Character)
	})
	for _, e := range edits {
		index := newLineIndex(text)
		s, en := index.offset(e.Range.Start, enc), index.offset(e.Range.End, enc)
		text = text[:s] + e.NewText + text[en:]
	}
	return text
}

func TestCompletionOffersScopePackageMembersAndFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demoModule)
	b := demoModule["b/b.go"]
	uri := f.open("b/b.go", b)
	complete := func(text, marker string, n int) completionList {
		t.Helper()
		f.c.notify("textDocument/didChange", map[string]any{
			"textDocument": map[string]any{"uri": uri, "version": 9}, "contentChanges": []map[string]any{{"text": text}}})
		var list completionList
		if err := f.c.call("textDocument/completion", tdp(uri, at(t, text, marker, n, encUTF16)), &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	labels := func(l completionList) []string {
		var out []string
		for _, it := range l.Items {
			out = append(out, it.Label)
		}
		return out
	}
	check := func(what string, got []string, has, hasNot []string) {
		t.Helper()
		for _, h := range has {
			if !slices.Contains(got, h) {
				t.Errorf("%s: %q missing from %q", what, h, got)
			}
		}
		for _, h := range hasNot {
			if slices.Contains(got, h) {
				t.Errorf("%s: %q offered in %q", what, h, got)
			}
		}
	}

	// After "a." on a line of its own (a syntax error while typing).
	text := strings.Replace(b, "\treturn h", "\ta.\n\treturn h", 1)
	check("a.", labels(complete(text, "a.\n", 2)), []string{"Greeter", "Answer", "Wide"}, []string{"smile", "fmt", "Use"})
	// With a prefix: only matching names.
	text = strings.Replace(b, "\treturn h", "\t_ = a.Gr\n\treturn h", 1)
	check("a.Gr", labels(complete(text, "a.Gr\n", 4)), []string{"Greeter"}, []string{"Answer", "Wide"})
	// Fields and methods of a value of another package: unexported ones excluded.
	text = strings.Replace(b, "\treturn h", "\tg.\n\treturn h", 1)
	check("g.", labels(complete(text, "g.\n", 2)), []string{"Name", "Greet"}, []string{"count", "Answer"})
	// Identifiers in scope: locals declared before the cursor, the package's
	// names, imports and the universe; not locals declared later.
	text = strings.Replace(b, "\treturn h", "\t_ = \n\tlater := 1\n\t_ = later\n\treturn h", 1)
	check("scope", labels(complete(text, "_ = \n", 4)), []string{"g", "h", "a", "Use", "string", "len", "nil"}, []string{"later", "fmt"})
	// Struct fields of a value declared in the same package.
	a := demoModule["a/a.go"]
	auri := f.open("a/a.go", a)
	text = strings.Replace(a, "\tg.count++", "\tg.c\n\tg.count++", 1)
	f.c.notify("textDocument/didChange", map[string]any{
		"textDocument": map[string]any{"uri": auri, "version": 2}, "contentChanges": []map[string]any{{"text": text}}})
	var list completionList
	if err := f.c.call("textDocument/completion", tdp(auri, at(t, text, "g.c\n", 3, encUTF16)), &list); err != nil {
		t.Fatal(err)
	}
	check("g.c in a", labels(list), []string{"count"}, []string{"Name", "Greet"})
	if list.IsIncomplete {
		t.Error("a short list is marked incomplete")
	}
	// Nothing inside comments and strings.
	for _, marker := range []string{"says hello", "hello, %s"} {
		if err := f.c.call("textDocument/completion", tdp(auri, at(t, text, marker, 3, encUTF16)), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 0 {
			t.Errorf("completion inside %q offered %d items", marker, len(list.Items))
		}
	}
}

func TestCompletionCapsTheListAndSaysItIsIncomplete(t *testing.T) {
	t.Parallel()
	var src strings.Builder
	src.WriteString("package big\n\nconst (\n")
	for i := range maxCompletionItems + 10 {
		src.WriteString("\tC" + strconv.Itoa(i) + " = 0\n")
	}
	src.WriteString(")\n\nvar _ = \n")
	files := map[string]string{"go.mod": "module example.com/big\n", "big.go": src.String()}
	f := newFixture(t, files)
	uri := f.open("big.go", files["big.go"])
	var list completionList
	if err := f.c.call("textDocument/completion", tdp(uri, at(t, files["big.go"], "var _ = ", 8, encUTF16)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != maxCompletionItems || !list.IsIncomplete {
		t.Errorf("completion gave %d items, incomplete %v; want %d, true", len(list.Items), list.IsIncomplete, maxCompletionItems)
	}
}

// TestDiagnosticsKeepRelatedPlacesTogether: go/types reports the other
// declaration of a redeclared name as an error of its own; it arrives as the
// related information of the one diagnostic, not as a second diagnostic.
func TestDiagnosticsKeepRelatedPlacesTogether(t *testing.T) {
	t.Parallel()
	src := "package r\n\nfunc F() {}\n\nfunc F() {}\n"
	f := newFixture(t, map[string]string{"go.mod": "module example.com/r\n\ngo 1.22\n", "r.go": src})
	uri := f.open("r.go", src)
	d := f.c.diagnostics(uri, func(d []diagnostic) bool { return len(d) > 0 })
	if len(d) != 1 {
		t.Fatalf("diagnostics = %+v, want one", d)
	}
	if !strings.Contains(d[0].Message, "F redeclared in this block") {
		t.Errorf("message %q", d[0].Message)
	}
	if got := d[0].Range.Start.Line; got != 4 {
		t.Errorf("diagnostic on line %d, want 4 (the second F)", got)
	}
	rel := d[0].RelatedInformation
	if len(rel) != 1 || rel[0].Message != "other declaration of F" || rel[0].Location.URI != uri || rel[0].Location.Range.Start.Line != 2 {
		t.Errorf("related information = %+v, want the other declaration on line 2", rel)
	}
}
