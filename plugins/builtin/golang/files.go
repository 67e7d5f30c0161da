package golang

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
)

// maxForeignFiles bounds the cache of files outside the workspace (GOROOT
// and the module cache) whose lines or doc comments a request needed.
const maxForeignFiles = 64

// foreignFile is a file of GOROOT or the module cache, which never change
// while the plugin runs: its line index, and its syntax with comments once
// a hover asked for a doc comment in it.
type foreignFile struct {
	index *lineIndex
	fset  *token.FileSet
	file  *ast.File
	used  uint64
}

// foreign returns the cached file name, reading it on first use and
// evicting the least recently used beyond maxForeignFiles. l.mu is held.
func (l *loader) foreign(name string) (*foreignFile, error) {
	l.clock++
	if f := l.foreignFiles[name]; f != nil {
		f.used = l.clock
		return f, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	f := &foreignFile{index: newLineIndex(string(b)), used: l.clock}
	if len(l.foreignFiles) >= maxForeignFiles {
		var oldest string
		for k, v := range l.foreignFiles {
			if oldest == "" || v.used < l.foreignFiles[oldest].used {
				oldest = k
			}
		}
		delete(l.foreignFiles, oldest)
	}
	l.foreignFiles[name] = f
	return f, nil
}

// syntax returns the file parsed with comments, parsing it once.
func (f *foreignFile) syntax(name string) (*ast.File, *token.File) {
	if f.file == nil {
		f.fset = token.NewFileSet()
		f.file, _ = parser.ParseFile(f.fset, name, f.index.text, parser.ParseComments|parser.SkipObjectResolution)
		if f.file == nil {
			return nil, nil
		}
	}
	return f.file, f.fset.File(f.file.FileStart)
}

// sourceOf returns the line index and, when asked, the syntax with comments
// of a file a request points into: from the checked package c or any cached
// workspace package holding it, else the foreign-file cache for GOROOT and
// the module cache, else the open document or the disk. l.mu is held.
func (l *loader) sourceOf(c *checked, name string, withSyntax bool) (*lineIndex, *ast.File, *token.File, error) {
	holder := c
	if holder == nil || holder.texts[name] == "" && holder.fileOf(name) == nil {
		holder = l.byFile[name]
	}
	if holder != nil && holder.texts != nil {
		if _, ok := holder.texts[name]; ok {
			index, err := l.lineIndexOf(holder, name)
			f := holder.fileOf(name)
			return index, f, l.fset.File(f.FileStart), err
		}
	}
	if !l.isWorkspace(name) {
		ff, err := l.foreign(name)
		if err != nil {
			return nil, nil, nil, err
		}
		if !withSyntax {
			return ff.index, nil, nil, nil
		}
		f, tf := ff.syntax(name)
		return ff.index, f, tf, nil
	}
	src, err := l.readSource(name)
	if err != nil {
		return nil, nil, nil, err
	}
	if !withSyntax {
		return newLineIndex(src), nil, nil, nil
	}
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if f == nil {
		return newLineIndex(src), nil, nil, nil
	}
	return newLineIndex(src), f, fset.File(f.FileStart), nil
}
