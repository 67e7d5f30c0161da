// Package golang is the built-in `go` language plugin: an LSP server written
// natively on go/parser, go/types and go/format, with no gopls, no
// golang.org/x/tools and no `go` subprocess at request time.
//
// # What it answers
//
// [Server] returns an [sdk.Server] that speaks LSP 3.17 to the host:
// incremental text sync, pushed diagnostics (syntax errors from go/parser and
// type errors from go/types, debounced by 100 ms after each open or change),
// textDocument/documentSymbol, hover, definition, references, formatting and
// completion. Positions are converted in the encoding negotiated at
// initialize (utf-16 by default, utf-8 or utf-32 when the client offers them).
//
// # Where packages come from
//
// The package of a file is every buildable .go file of its directory (build
// constraints evaluated for the plugin's GOOS/GOARCH with cgo disabled, so
// pure-Go fallbacks are chosen), with the editor text of open documents
// overriding the disk. A _test.go file is checked with the test files of its
// package; an external test package (p_test) on its own, importing p.
// Imports are resolved without the go command: the standard library from
// $GOROOT/src (and $GOROOT/src/vendor for the standard library's own vendored
// imports), packages of the file's module from go.mod's module path, and
// dependencies from $GOMODCACHE/<escaped path>@<escaped version> per go.mod's
// require lines, after replace directives (local directories or other module
// versions). Vendor directories and go.work files are not consulted.
//
// Packages outside the workspace modules are checked without function bodies
// and their errors are ignored. Checked packages are cached per directory and
// variant, bounded in number; a change to a directory drops its entries and,
// transitively, those of every cached package that imported them.
//
// # Limits
//
// References are searched in the packages of the module that contains the
// symbol's file (at most 500 package directories, each with its test files),
// plus the packages the dependency walk loaded; references from other modules
// of the workspace are not found. Completion returns at most 5,000 items and
// marks the list incomplete when capped.
package golang
