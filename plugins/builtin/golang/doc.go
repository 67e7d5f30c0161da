// Package golang is the built-in `go` language plugin: an LSP server written
// natively on go/parser, go/types and go/format, with no gopls, no
// golang.org/x/tools and no `go` subprocess at any time (the tests run it
// with an empty PATH).
//
// # What it answers
//
// [Server] returns an [sdk.Server] that speaks LSP 3.17 to the host:
//
//   - initialize: the capabilities below and the position encoding, the
//     first of utf-16, utf-8 and utf-32 the client lists in
//     general.positionEncodings (utf-16 when it lists none of them).
//   - textDocument/didOpen, didChange (incremental or full), didSave,
//     didClose: the editor's text of each open document, which overrides
//     the disk for every check.
//   - textDocument/publishDiagnostics, pushed 100 ms after the last of a
//     burst of changes, for every open document whose diagnostics changed:
//     syntax errors from go/parser (source "syntax") and type errors from
//     go/types (source "compiler") spanning the expression they are about.
//     didClose clears a document's diagnostics.
//   - textDocument/documentSymbol: hierarchical; types with their fields
//     (or interface methods) and the methods declared in the same file,
//     functions, variables and constants. Always DocumentSymbol[], even to a
//     client that did not declare hierarchical support.
//   - textDocument/hover: the object as Go (func (g *a.Greeter) Greet()
//     string, var a.Wide string, type T struct{…}) in a markdown go block,
//     then its doc comment.
//   - textDocument/definition: the declaring identifier, across the files
//     and packages of the module and into GOROOT and the module cache; an
//     import name goes to the package clause of the imported package.
//   - textDocument/references: see Limits.
//   - textDocument/formatting: go/format of the whole file, answered as one
//     edit spanning the changed lines (none when already formatted); a file
//     that does not parse is an error answer (-32803), never an edit.
//   - textDocument/completion: after `pkg.` the package's exported members,
//     after `x.` the fields (promoted ones too) and methods of x's type, else
//     every identifier in scope at the cursor (types.Scope.Innermost, then
//     LookupParent so later and shadowed declarations are left out). Items
//     match the typed prefix case-insensitively. Nothing inside comments and
//     literals; keywords are not offered.
//
// # Where packages come from
//
// The package of a file is every buildable .go file of its directory (build
// constraints evaluated for the plugin's GOOS/GOARCH), with open documents
// overriding the disk; a file the constraints exclude is checked on its own.
// In the workspace cgo files are included and `import "C"` is faked (any
// C.name is accepted); in GOROOT and the module cache cgo is off, so the
// pure-Go fallbacks (netgo, osusergo) are checked instead. A _test.go file is
// checked with the test files of its package; an external test package
// (p_test) on its own, importing p.
//
// Imports are resolved without the go command (go/build is used only for
// MatchFile): the standard library from $GOROOT/src (and $GOROOT/src/vendor
// for the standard library's own vendored imports); packages of the file's
// module from go.mod's module path; and dependencies from
// $GOMODCACHE/<escaped path>@<escaped version> per go.mod's require lines
// (case-encoded as golang.org/x/mod's module.EscapePath does), after replace
// directives (local directories or other module versions). GOROOT is $GOROOT,
// else the toolchain's, else found above the `go` on PATH (looked up, not
// run); the module cache is $GOMODCACHE, else $GOPATH/pkg/mod, else
// ~/go/pkg/mod. The sandbox must grant read of the workspace, GOROOT and the
// module cache, and pass those variables through. Vendor directories,
// go.work files and GOPATH mode are not supported; outside a module only the
// standard library resolves. Dependencies use the build list of the module
// of the file being checked (its go.mod's requirements), not a full MVS.
//
// # Caching
//
// Packages outside the workspace (GOROOT, module cache) are parsed with
// their function bodies blanked and checked with IgnoreFuncBodies; their
// errors are ignored. Workspace packages are checked in full with their
// types.Info. Checked packages are cached per directory and variant, at most
// 2,000 between checks (LRU); a cached package is used only while its
// directory saw no editor change, its files and directory look the same on
// disk, its go.mod is unchanged, and every package it imported is still the
// cached copy, so a change invalidates its importers transitively. Files of
// GOROOT and the module cache that a request reads for positions or doc
// comments are cached too (64, LRU).
//
// # Concurrency
//
// Each session ([sdk.Conn]) has its own state. Requests run concurrently,
// but everything that type-checks or reads checked packages holds the
// session's loader lock, so one slow check delays the requests behind it.
// Cancellation is honoured between packages by references only.
//
// # Limits
//
// References are searched in the package of the request's file and, for
// package-level objects, fields and methods, in every package directory of
// its module (each with its test files, and its external tests; at most 500
// directories; vendor, testdata, hidden, _-prefixed directories and nested
// modules skipped). References from other modules of the workspace are not
// found, and an interface method's references do not include the methods
// that implement it. Completion returns at most 5,000 items and then marks
// the list incomplete.
package golang
