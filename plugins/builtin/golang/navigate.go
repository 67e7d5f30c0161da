package golang

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"go/types"
	"strings"
)

// identAt returns the identifier of f that contains byte offset off, or ends
// there (a cursor just after a name still names it).
func (t *target) identAt(off int) *ast.Ident {
	p := t.pos(off)
	var inside, after *ast.Ident
	ast.Inspect(t.file, func(n ast.Node) bool {
		if n == nil || inside != nil || p < n.Pos() || p > n.End() {
			return false
		}
		if id, ok := n.(*ast.Ident); ok {
			if p < id.End() {
				inside = id
			} else {
				after = id
			}
		}
		return true
	})
	if inside != nil {
		return inside
	}
	return after
}

// objectAt returns the object the identifier at off declares or uses.
func (t *target) objectAt(off int) (*ast.Ident, types.Object) {
	id := t.identAt(off)
	if id == nil || t.c.info == nil {
		return nil, nil
	}
	if obj := t.c.info.Defs[id]; obj != nil {
		return id, obj
	}
	if obj := t.c.info.Uses[id]; obj != nil {
		return id, obj
	}
	// The package name of a package clause, or an implicit object.
	for n, obj := range t.c.info.Implicits {
		if n.Pos() <= id.Pos() && id.End() <= n.End() {
			return id, obj
		}
	}
	return id, nil
}

func (s *session) hover(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[textDocumentPositionParams](raw)
	if err != nil {
		return nil, &requestError{codeInvalidParams, fmt.Sprintf("hover params: %v", err)}
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	t, off, err := s.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	id, obj := t.objectAt(off)
	if obj == nil {
		return nil, nil
	}
	text := "```go\n" + s.signature(obj, t.c.pkg) + "\n```"
	if doc := s.docOf(t, obj); doc != "" {
		text += "\n\n" + strings.TrimSpace(doc)
	}
	r := t.index.rangeOf(t.offset(id.Pos()), t.offset(id.End()), s.encoding())
	return hover{Contents: markupContent{Kind: "markdown", Value: text}, Range: &r}, nil
}

// signature renders obj as Go, qualified by package name outside pkg.
func (s *session) signature(obj types.Object, pkg *types.Package) string {
	qual := func(p *types.Package) string {
		if p == nil || p == pkg || (pkg != nil && p.Path() == pkg.Path()) {
			return ""
		}
		return p.Name()
	}
	switch o := obj.(type) {
	case *types.PkgName:
		return fmt.Sprintf("package %s (%q)", o.Imported().Name(), o.Imported().Path())
	case *types.TypeName:
		if o.IsAlias() {
			return "type " + o.Name() + " = " + types.TypeString(types.Unalias(o.Type()), qual)
		}
		if _, ok := o.Type().(*types.TypeParam); ok {
			return types.ObjectString(o, qual)
		}
		return gofmt("type " + o.Name() + typeParamsString(o, qual) + " " + types.TypeString(o.Type().Underlying(), qual))
	case *types.Func:
		sig := o.Signature()
		if sig.Recv() == nil {
			return types.ObjectString(o, qual)
		}
		var b bytes.Buffer
		b.WriteString("func (")
		if name := sig.Recv().Name(); name != "" && name != "_" {
			b.WriteString(name + " ")
		}
		b.WriteString(types.TypeString(sig.Recv().Type(), qual) + ") " + o.Name())
		types.WriteSignature(&b, sig, qual)
		return b.String()
	}
	return types.ObjectString(obj, qual)
}

func typeParamsString(o *types.TypeName, qual types.Qualifier) string {
	n, ok := o.Type().(*types.Named)
	if !ok || n.TypeParams().Len() == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := range n.TypeParams().Len() {
		if i > 0 {
			b.WriteString(", ")
		}
		tp := n.TypeParams().At(i)
		b.WriteString(tp.Obj().Name() + " " + types.TypeString(tp.Constraint(), qual))
	}
	b.WriteByte(']')
	return b.String()
}

// docOf returns the doc comment of obj's declaration, from the checked
// syntax when the file is in the target package, else by parsing the file.
// l.mu is held.
func (s *session) docOf(t *target, obj types.Object) string {
	if !obj.Pos().IsValid() {
		return ""
	}
	posn := s.l.fset.PositionFor(obj.Pos(), false)
	if posn.Filename == "" {
		return ""
	}
	if _, ok := obj.(*types.PkgName); ok {
		return "" // an import: its own file has no doc for it
	}
	_, f, tf, err := s.l.sourceOf(t.c, posn.Filename, true)
	if err != nil || f == nil {
		return ""
	}
	return docAt(f, tf, posn.Offset)
}

// docAt returns the doc (or line) comment of the declaration whose name
// starts at byte offset off of f.
func docAt(f *ast.File, tf *token.File, off int) string {
	at := func(id *ast.Ident) bool { return id != nil && tf.Offset(id.Pos()) == off }
	text := func(groups ...*ast.CommentGroup) string {
		for _, g := range groups {
			if g != nil {
				return g.Text()
			}
		}
		return ""
	}
	doc, found := "", false
	ast.Inspect(f, func(n ast.Node) bool {
		if found || n == nil {
			return false
		}
		if n.Pos().IsValid() && n.End().IsValid() && (tf.Offset(n.End()) < off || tf.Offset(n.Pos()) > off) {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncDecl:
			if at(n.Name) {
				doc, found = text(n.Doc), true
			}
		case *ast.GenDecl:
			for _, spec := range n.Specs {
				var lone *ast.CommentGroup
				if len(n.Specs) == 1 {
					lone = n.Doc
				}
				switch sp := spec.(type) {
				case *ast.TypeSpec:
					if at(sp.Name) {
						doc, found = text(sp.Doc, lone, sp.Comment), true
					}
				case *ast.ValueSpec:
					for _, name := range sp.Names {
						if at(name) {
							doc, found = text(sp.Doc, lone, n.Doc, sp.Comment), true
						}
					}
				}
			}
		case *ast.Field:
			for _, name := range n.Names {
				if at(name) {
					doc, found = text(n.Doc, n.Comment), true
				}
			}
		}
		return !found
	})
	return doc
}

func (s *session) definition(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[textDocumentPositionParams](raw)
	if err != nil {
		return nil, &requestError{codeInvalidParams, fmt.Sprintf("definition params: %v", err)}
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	t, off, err := s.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	_, obj := t.objectAt(off)
	if obj == nil {
		return []location{}, nil
	}
	if pn, ok := obj.(*types.PkgName); ok {
		return s.packageLocation(t.c, pn.Imported())
	}
	loc, ok, err := s.objectLocation(t.c, obj)
	if err != nil || !ok {
		return []location{}, err
	}
	return []location{loc}, nil
}

// objectLocation returns where obj's name is declared; ok is false for
// objects without a position (built-ins). l.mu is held.
func (s *session) objectLocation(c *checked, obj types.Object) (location, bool, error) {
	if !obj.Pos().IsValid() {
		return location{}, false, nil
	}
	posn := s.l.fset.PositionFor(obj.Pos(), false)
	if posn.Filename == "" {
		return location{}, false, nil
	}
	return s.spanLocation(c, posn.Filename, posn.Offset, posn.Offset+len(obj.Name()))
}

// spanLocation converts a byte span of a file to an LSP location.
func (s *session) spanLocation(c *checked, file string, start, end int) (location, bool, error) {
	index, err := s.l.lineIndexOf(c, file)
	if err != nil {
		return location{}, false, fmt.Errorf("read %s for its positions: %w", file, err)
	}
	return location{URI: s.uriOf(file), Range: index.rangeOf(start, end, s.encoding())}, true, nil
}

// packageLocation points at the package clause of the imported package's
// first file.
func (s *session) packageLocation(c *checked, imported *types.Package) (any, error) {
	for _, d := range c.deps {
		if d.pkg != imported || len(d.files) == 0 {
			continue
		}
		f := d.files[0]
		posn := s.l.fset.PositionFor(f.Name.Pos(), false)
		loc, ok, err := s.spanLocation(d, posn.Filename, posn.Offset, posn.Offset+len(f.Name.Name))
		if err != nil || !ok {
			return []location{}, err
		}
		return []location{loc}, nil
	}
	return []location{}, nil
}

// gofmt lays out a declaration as gofmt would (a struct one field per
// line), or returns it as it is if it does not parse.
func gofmt(decl string) string {
	const header = "package p\n\n"
	out, err := format.Source([]byte(header + decl))
	if err != nil {
		return decl
	}
	return strings.TrimSpace(strings.TrimPrefix(string(out), header))
}
