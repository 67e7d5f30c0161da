package golang

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
)

func (s *session) documentSymbol(ctx context.Context, raw json.RawMessage) (any, error) {
	path, src, err := s.documentSource("documentSymbol", raw)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if f == nil {
		return []documentSymbol{}, nil
	}
	return fileSymbols(f, fset.File(f.FileStart), newLineIndex(src), s.encoding()), nil
}

// fileSymbols lists f's declarations: types (with their fields, interface
// methods and the methods declared in f), functions, variables and constants.
func fileSymbols(f *ast.File, tf *token.File, index *lineIndex, enc posEncoding) []documentSymbol {
	rng := func(n ast.Node) lspRange {
		return index.rangeOf(tf.Offset(n.Pos()), tf.Offset(n.End()), enc)
	}
	sym := func(name *ast.Ident, whole ast.Node, kind int, detail string) documentSymbol {
		return documentSymbol{Name: name.Name, Detail: detail, Kind: kind, Range: rng(whole), SelectionRange: rng(name)}
	}
	out := []documentSymbol{}
	typeAt := map[string]int{} // type name → index in out
	var methods []*ast.FuncDecl
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil && len(d.Recv.List) == 1 {
				methods = append(methods, d)
				continue
			}
			out = append(out, sym(d.Name, d, symFunction, types.ExprString(d.Type)))
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				whole := ast.Node(spec)
				if len(d.Specs) == 1 {
					whole = d
				}
				switch sp := spec.(type) {
				case *ast.TypeSpec:
					ts := sym(sp.Name, whole, symClass, "")
					switch t := sp.Type.(type) {
					case *ast.StructType:
						ts.Kind, ts.Detail = symStruct, "struct{...}"
						ts.Children = fieldSymbols(t.Fields, symField, sym)
					case *ast.InterfaceType:
						ts.Kind, ts.Detail = symInterface, "interface{...}"
						ts.Children = fieldSymbols(t.Methods, symMethod, sym)
					default:
						ts.Detail = types.ExprString(sp.Type)
					}
					typeAt[sp.Name.Name] = len(out)
					out = append(out, ts)
				case *ast.ValueSpec:
					kind := symVariable
					if d.Tok == token.CONST {
						kind = symConstant
					}
					detail := ""
					if sp.Type != nil {
						detail = types.ExprString(sp.Type)
					}
					for _, name := range sp.Names {
						if name.Name != "_" {
							out = append(out, sym(name, whole, kind, detail))
						}
					}
				}
			}
		}
	}
	for _, m := range methods {
		recv := receiverName(m.Recv.List[0].Type)
		ms := sym(m.Name, m, symMethod, types.ExprString(m.Type))
		if i, ok := typeAt[recv]; ok {
			out[i].Children = append(out[i].Children, ms)
			continue
		}
		ms.Name = "(" + types.ExprString(m.Recv.List[0].Type) + ")." + m.Name.Name
		out = append(out, ms)
	}
	return out
}

func fieldSymbols(list *ast.FieldList, kind int, sym func(*ast.Ident, ast.Node, int, string) documentSymbol) []documentSymbol {
	var out []documentSymbol
	for _, field := range list.List {
		detail := types.ExprString(field.Type)
		if len(field.Names) == 0 { // embedded
			if id := embeddedName(field.Type); id != nil {
				out = append(out, sym(id, field, kind, detail))
			}
			continue
		}
		for _, name := range field.Names {
			out = append(out, sym(name, field, kind, detail))
		}
	}
	return out
}

// receiverName returns the type name of a method receiver: T for T, *T, T[P].
func receiverName(e ast.Expr) string {
	if id := embeddedName(e); id != nil {
		return id.Name
	}
	return strings.TrimPrefix(types.ExprString(e), "*")
}

// embeddedName returns the name identifier of an embedded or receiver type.
func embeddedName(e ast.Expr) *ast.Ident {
	for {
		switch t := e.(type) {
		case *ast.Ident:
			return t
		case *ast.StarExpr:
			e = t.X
		case *ast.SelectorExpr:
			return t.Sel
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		default:
			return nil
		}
	}
}
