package lspbridge

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

const badPython = `def double(x: int) -> int:
    return x * 2


result: int = double("three")
`

// TestPyrightDiagnosticsThroughRun: pyright, through Run, reports the type
// error in a Python file as publishDiagnostics.
func TestPyrightDiagnosticsThroughRun(t *testing.T) {
	l := requireServer(t, "pyright")
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.py")
	if err := os.WriteFile(path, []byte(badPython), 0o644); err != nil {
		t.Fatal(err)
	}
	b := runBridged(t, l, dir, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	defer cancel()
	if err := b.initialize(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	uri := b.open(t, path, "python")
	diags, err := b.waitDiagnostics(ctx, uri, func(d []diagnostic) bool { return len(d) > 0 })
	if err != nil {
		t.Fatal(err)
	}
	want := diagnostic{
		Range:    lspRange{Start: position{Line: 4, Character: 21}, End: position{Line: 4, Character: 28}},
		Severity: 1,
		Source:   "Pyright",
		Message: `Argument of type "Literal['three']" cannot be assigned to parameter "x" of type "int" in function "double"` +
			"\n\u00a0\u00a0" + `"Literal['three']" is not assignable to "int"`, // pyright indents with no-break spaces
	}
	if len(diags) != 1 || diags[0] != want {
		t.Errorf("diagnostics = %#v, want exactly %#v", diags, want)
	}
}

const greetingTS = `const greeting: string = "hi";
export const shout = greeting.toUpperCase();
`

// TestTypeScriptHoverThroughRun: typescript-language-server (with tsserver
// from the same pinned install), through Run, answers hover in a .ts file.
func TestTypeScriptHoverThroughRun(t *testing.T) {
	l := requireServer(t, "typescript")
	dir := t.TempDir()
	path := filepath.Join(dir, "greet.ts")
	if err := os.WriteFile(path, []byte(greetingTS), 0o644); err != nil {
		t.Fatal(err)
	}
	b := runBridged(t, l, dir, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	defer cancel()
	if err := b.initialize(ctx, dir, map[string]any{"disableAutomaticTypingAcquisition": true}); err != nil {
		t.Fatal(err)
	}
	uri := b.open(t, path, "typescript")
	var h hover
	if err := b.call(ctx, "textDocument/hover", textDocumentPosition(uri, positionOf(t, greetingTS, "greeting.", 1, 2)), &h); err != nil {
		t.Fatal(err)
	}
	want := "\n```typescript\nconst greeting: string\n```\n"
	if h.Contents.Kind != "markdown" || h.Contents.Value != want {
		t.Errorf("hover = %s %q, want markdown %q", h.Contents.Kind, h.Contents.Value, want)
	}
	wantRange := lspRange{Start: position{Line: 1, Character: 21}, End: position{Line: 1, Character: 29}}
	if h.Range == nil || *h.Range != wantRange {
		t.Errorf("hover range = %+v, want %+v", h.Range, wantRange)
	}
}
