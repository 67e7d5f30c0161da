// Package workspace owns projects and the files beneath them: it decides
// which paths and file:// URIs a client may use, reaches a project's files
// only through [os.Root], and validates projects and maps LSP workspace
// folders to them before anything reaches the store.
//
// # Paths
//
// Clients name files by slash-separated paths relative to a project root, or
// by file:// URIs. [CleanPath] refuses, by their text, paths that are
// malformed ([ErrInvalidPath]) or that reach outside the root
// ([ErrPathEscapes]); a [Root] then resolves the rest through [os.Root], which
// refuses symbolic links that lead out, also reported as [ErrPathEscapes].
// Callers answer both with invalid params.
//
// # Projects
//
// A project is a name and an absolute root directory, kept by the store
// package. [Projects] validates names and roots before they reach the store,
// with errors that wrap store.ErrInvalid, and [Projects.EnsureFolder] maps an
// LSP workspace folder to its project, creating it on first sight.
//
// Documents and position encodings live in the sibling package document.
package workspace
