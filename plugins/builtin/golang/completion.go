package golang

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/types"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxCompletionItems caps a completion answer; a capped list is marked
// incomplete so the client asks again as the prefix grows.
const maxCompletionItems = 5000

func (s *session) completion(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[textDocumentPositionParams](raw)
	if err != nil {
		return nil, &requestError{codeInvalidParams, fmt.Sprintf("completion params: %v", err)}
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	t, off, err := s.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	if t.inCommentOrString(off) {
		return completionList{Items: []completionItem{}}, nil
	}
	text := t.index.text
	start := off
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:start])
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		start -= size
	}
	prefix := text[start:off]
	list := &completer{prefix: strings.ToLower(prefix), seen: map[string]bool{}, pkg: t.c.pkg}
	if start > 0 && text[start-1] == '.' {
		s.completeSelector(t, start-1, list)
	} else {
		s.completeScope(t, off, list)
	}
	if list.items == nil {
		list.items = []completionItem{}
	}
	return completionList{IsIncomplete: list.capped, Items: list.items}, nil
}

// completer collects distinct items whose label starts with the prefix,
// case-insensitively, up to maxCompletionItems.
type completer struct {
	prefix string
	pkg    *types.Package
	seen   map[string]bool
	items  []completionItem
	capped bool
}

func (c *completer) add(obj types.Object) {
	name := obj.Name()
	if name == "_" || c.seen[name] || !strings.HasPrefix(strings.ToLower(name), c.prefix) {
		return
	}
	if len(c.items) >= maxCompletionItems {
		c.capped = true
		return
	}
	c.seen[name] = true
	qual := func(p *types.Package) string {
		if p == nil || p == c.pkg {
			return ""
		}
		return p.Name()
	}
	item := completionItem{Label: name, Kind: completionKind(obj)}
	switch o := obj.(type) {
	case *types.PkgName:
		item.Detail = fmt.Sprintf("%q", o.Imported().Path())
	case *types.TypeName:
		item.Detail = types.TypeString(o.Type().Underlying(), qual)
	case *types.Builtin, *types.Nil:
	default:
		item.Detail = types.TypeString(obj.Type(), qual)
	}
	c.items = append(c.items, item)
}

func completionKind(obj types.Object) int {
	switch o := obj.(type) {
	case *types.PkgName:
		return compModule
	case *types.Const:
		return compConstant
	case *types.Func:
		if o.Signature().Recv() != nil {
			return compMethod
		}
		return compFunction
	case *types.Builtin:
		return compFunction
	case *types.TypeName:
		switch o.Type().Underlying().(type) {
		case *types.Struct:
			return compStruct
		case *types.Interface:
			return compInterface
		}
		return compClass
	case *types.Var:
		if o.IsField() {
			return compField
		}
	}
	return compVariable
}

// completeScope offers every object visible at off, innermost scope first.
func (s *session) completeScope(t *target, off int, list *completer) {
	pos := t.pos(off)
	inner := t.c.info.Scopes[t.file]
	if inner == nil {
		return
	}
	if sc := inner.Innermost(pos); sc != nil {
		inner = sc
	}
	for sc := inner; sc != nil; sc = sc.Parent() {
		for _, name := range sc.Names() {
			obj := sc.Lookup(name)
			// Only what is declared before the cursor, and not shadowed.
			if _, visible := inner.LookupParent(name, pos); visible != obj {
				continue
			}
			list.add(obj)
		}
	}
}

// completeSelector offers the members of the operand before the dot at
// byte offset dot: a package's exported names, or a value's (or type's)
// fields and methods.
func (s *session) completeSelector(t *target, dot int, list *completer) {
	dotPos := t.pos(dot)
	var x ast.Expr
	ast.Inspect(t.file, func(n ast.Node) bool {
		if n == nil || n.Pos() > dotPos || n.End() < dotPos {
			return false
		}
		if e, ok := n.(ast.Expr); ok && e.End() == dotPos && (x == nil || e.Pos() < x.Pos()) {
			x = e
		}
		return true
	})
	if x == nil {
		return
	}
	info := t.c.info
	if id, ok := ast.Unparen(x).(*ast.Ident); ok {
		if pn, ok := info.Uses[id].(*types.PkgName); ok {
			scope := pn.Imported().Scope()
			for _, name := range scope.Names() {
				if obj := scope.Lookup(name); obj.Exported() {
					list.add(obj)
				}
			}
			return
		}
	}
	tv, ok := info.Types[x]
	if !ok || tv.Type == nil {
		return
	}
	T := tv.Type
	visible := func(obj types.Object) bool { return obj.Exported() || obj.Pkg() == t.c.pkg }
	// Methods: a value's addressable method set, or a type's method
	// expressions (both value and pointer receivers for a named type).
	mset := T
	if _, isPtr := T.Underlying().(*types.Pointer); !isPtr && !types.IsInterface(T) {
		mset = types.NewPointer(T)
	}
	ms := types.NewMethodSet(mset)
	for i := range ms.Len() {
		if obj := ms.At(i).Obj(); visible(obj) {
			list.add(obj)
		}
	}
	if tv.IsType() {
		return
	}
	addFields(T, visible, list, map[types.Type]bool{})
}

// addFields adds the fields of T's struct, then those promoted from its
// embedded fields, breadth first so a shallower name wins.
func addFields(T types.Type, visible func(types.Object) bool, list *completer, seen map[types.Type]bool) {
	level := []types.Type{T}
	for len(level) > 0 {
		var next []types.Type
		for _, T := range level {
			if p, ok := T.Underlying().(*types.Pointer); ok {
				T = p.Elem()
			}
			if seen[T] {
				continue
			}
			seen[T] = true
			st, ok := T.Underlying().(*types.Struct)
			if !ok {
				continue
			}
			for i := range st.NumFields() {
				f := st.Field(i)
				if visible(f) {
					list.add(f)
				}
				if f.Embedded() {
					next = append(next, f.Type())
				}
			}
		}
		level = next
	}
}

// inCommentOrString reports whether byte offset off is inside a comment or
// a string, rune or number literal, where no identifier is being typed.
func (t *target) inCommentOrString(off int) bool {
	p := t.pos(off)
	for _, g := range t.file.Comments {
		if g.Pos() < p && p <= g.End() {
			// A line comment runs to the end of its line; the cursor at the
			// end of a general comment is outside it.
			last := g.List[len(g.List)-1]
			if p < g.End() || strings.HasPrefix(last.Text, "//") {
				return true
			}
		}
	}
	in := false
	ast.Inspect(t.file, func(n ast.Node) bool {
		if in || n == nil || p <= n.Pos() || p > n.End() {
			return false
		}
		if lit, ok := n.(*ast.BasicLit); ok && p < lit.End() {
			in = true
		}
		return true
	})
	return in
}
