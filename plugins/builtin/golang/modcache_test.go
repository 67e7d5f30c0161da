package golang

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDependenciesResolveFromTheModuleCacheWithoutTheGoCommand builds a
// module cache with a case-encoded module, requires it from go.mod, empties
// PATH so no go command could run, and checks the package, hovers a
// dependency's function, goes to its definition in the cache, and completes
// its members.
func TestDependenciesResolveFromTheModuleCacheWithoutTheGoCommand(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	t.Setenv("PATH", t.TempDir())
	depDir := filepath.Join(cache, "example.com", "!upper!case@v1.2.0-!r!c1")
	writeFiles(t, depDir, map[string]string{
		"go.mod":      "module example.com/UpperCase\n\ngo 1.21\n",
		"util/u.go":   "package util\n\nimport \"strings\"\n\n// Shout upper-cases s.\nfunc Shout(s string) string { return strings.ToUpper(s) }\n\nfunc quiet() {}\n",
		"util/doc.go": "// Package util is a dependency.\npackage util\n",
	})
	files := map[string]string{
		"go.mod":   "module example.com/app\n\ngo 1.22\n\nrequire example.com/UpperCase v1.2.0-RC1\n",
		"main.go":  "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/UpperCase/util\"\n)\n\nfunc main() { fmt.Println(util.Shout(\"ü\")) }\n",
		"x/x.go":   "package x\n\nimport \"example.com/UpperCase/util\"\n\nvar _ = util.\n",
		"bad/b.go": "package bad\n\nimport \"example.com/notrequired\"\n\nvar _ = notrequired.X\n",
	}
	f := newFixture(t, files)
	main := files["main.go"]
	uri := f.open("main.go", main)
	f.c.diagnostics(uri, func(d []diagnostic) bool { return len(d) == 0 })

	var h hover
	if err := f.c.call("textDocument/hover", tdp(uri, at(t, main, "Shout", 1, encUTF16)), &h); err != nil {
		t.Fatal(err)
	}
	if want := "```go\nfunc util.Shout(s string) string\n```\n\nShout upper-cases s."; h.Contents.Value != want {
		t.Errorf("hover = %q, want %q", h.Contents.Value, want)
	}
	var locs []location
	if err := f.c.call("textDocument/definition", tdp(uri, at(t, main, "Shout", 1, encUTF16)), &locs); err != nil {
		t.Fatal(err)
	}
	src := "package util\n\nimport \"strings\"\n\n// Shout upper-cases s.\nfunc Shout("
	want := location{pathToURI(filepath.Join(depDir, "util", "u.go")),
		lspRange{at(t, src, "Shout(", 0, encUTF16), at(t, src, "Shout(", 5, encUTF16)}}
	if len(locs) != 1 || locs[0] != want {
		t.Errorf("definition = %+v, want %+v", locs, want)
	}
	// Definition of the import name goes to the package clause.
	if err := f.c.call("textDocument/definition", tdp(uri, at(t, main, "util.Shout", 1, encUTF16)), &locs); err != nil {
		t.Fatal(err)
	}
	if len(locs) != 1 || !strings.HasPrefix(locs[0].URI, pathToURI(filepath.Join(depDir, "util"))) || locs[0].Range.Start.Line > 1 {
		t.Errorf("definition of the package name = %+v", locs)
	}

	x := files["x/x.go"]
	xuri := f.open("x/x.go", x)
	var list completionList
	if err := f.c.call("textDocument/completion", tdp(xuri, at(t, x, "util.\n", 5, encUTF16)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Label != "Shout" || list.Items[0].Detail != "func(s string) string" {
		t.Errorf("completion of util. = %+v, want Shout only", list.Items)
	}

	// An import no go.mod line provides is a diagnostic on the import.
	bad := files["bad/b.go"]
	buri := f.open("bad/b.go", bad)
	d := f.c.diagnostics(buri, func(d []diagnostic) bool { return len(d) > 0 })
	if !strings.Contains(d[0].Message, "no required module provides package example.com/notrequired") ||
		d[0].Range.Start != at(t, bad, `"example.com/notrequired"`, 0, encUTF16) {
		t.Errorf("diagnostic for a missing module = %+v", d)
	}
	// Once go.mod requires it (and the module is in the cache), the error
	// goes at the next check: go.mod edits invalidate the cached packages.
	writeFiles(t, filepath.Join(cache, "example.com", "notrequired@v0.1.0"), map[string]string{
		"go.mod": "module example.com/notrequired\n",
		"n.go":   "package notrequired\n\nconst X = 1\n",
	})
	writeFiles(t, f.dir, map[string]string{
		"go.mod": files["go.mod"] + "require example.com/notrequired v0.1.0\n",
	})
	f.c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": uriIn(f.dir, "main.go")}})
	f.c.diagnostics(buri, func(d []diagnostic) bool { return len(d) == 0 })
}

// TestTestFilesAreCheckedWithTheirPackage opens an in-package test file and
// an external test file; each sees what go test would let it see.
func TestTestFilesAreCheckedWithTheirPackage(t *testing.T) {
	t.Parallel()
	files := maps(demoModule, map[string]string{
		"a/in_test.go": "package a\n\nimport \"testing\"\n\nfunc TestIn(t *testing.T) { g := Greeter{}; g.count = 1; t.Log(g) }\n",
		"a/x_test.go":  "package a_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/demo/a\"\n)\n\nfunc TestX(t *testing.T) { _ = a.Answer; _ = count }\n",
	})
	f := newFixture(t, files)
	in := f.open("a/in_test.go", files["a/in_test.go"])
	f.c.diagnostics(in, func(d []diagnostic) bool { return len(d) == 0 })
	x := files["a/x_test.go"]
	xuri := f.open("a/x_test.go", x)
	d := f.c.diagnostics(xuri, func(d []diagnostic) bool { return len(d) > 0 })
	want := lspRange{at(t, x, "count }", 0, encUTF16), at(t, x, "count }", 5, encUTF16)}
	if len(d) != 1 || d[0].Message != "undefined: count" || d[0].Range != want {
		t.Errorf("external test diagnostics = %+v, want undefined: count at %+v", d, want)
	}
	// The plain package is untouched by its test files.
	auri := f.open("a/a.go", files["a/a.go"])
	f.c.diagnostics(auri, func(d []diagnostic) bool { return len(d) == 0 })
}

// TestBuildConstraintsAndCgoFiles: a file excluded by its constraints is
// still checked (on its own), and a cgo file of the workspace is checked
// with its package, C.anything accepted.
func TestBuildConstraintsAndCgoFiles(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"go.mod": "module example.com/g\n\ngo 1.22\n",
		"g.go":   "package g\n\nvar Y = X + 1\n",
		"cgo.go": "package g\n\n// #include <stdio.h>\nimport \"C\"\n\nvar X = 1\n\nfunc f() { C.puts(nil) }\n",
		"ign.go": "//go:build ignore\n\npackage main\n\nfunc main() { println(undefinedThing) }\n",
	}
	f := newFixture(t, files)
	curi := f.open("cgo.go", files["cgo.go"])
	guri := f.open("g.go", files["g.go"])
	f.c.diagnostics(curi, func(d []diagnostic) bool { return len(d) == 0 })
	f.c.diagnostics(guri, func(d []diagnostic) bool { return len(d) == 0 })
	ign := files["ign.go"]
	iuri := f.open("ign.go", ign)
	d := f.c.diagnostics(iuri, func(d []diagnostic) bool { return len(d) > 0 })
	want := lspRange{at(t, ign, "undefinedThing", 0, encUTF16), at(t, ign, "undefinedThing", len("undefinedThing"), encUTF16)}
	if len(d) != 1 || d[0].Message != "undefined: undefinedThing" || d[0].Range != want {
		t.Errorf("diagnostics of the ignored file = %+v", d)
	}
}
