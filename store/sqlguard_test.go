package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dynamicSQL lists the driver calls whose SQL is not a constant expression,
// each reviewed by hand: "dir/file.go:Func" → the SQL argument's exact
// source. Anything else that is not built from constants fails
// TestDriversUseOnlyConstantSQL, and so does an entry that no longer matches.
var dynamicSQL = map[string]string{
	// A migration's SQL is one of the driver's embedded migrations/*.sql files.
	"sqlite/migrate.go:apply":   "m.SQL",
	"postgres/migrate.go:apply": "m.SQL",
	// Fixed conditions joined with AND; every value is a parameter.
	"sqlite/auth.go:ListAudit":   `query + " ORDER BY id DESC LIMIT ?"`,
	"postgres/auth.go:ListAudit": `query + " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))`,
}

// sqlCall is one call of a method that takes SQL, with its SQL argument.
type sqlCall struct {
	pos      token.Position
	key      string // "dir/file.go:Func", relative to the walked root's parent
	sql      string // the SQL argument's source
	constant bool
}

// sqlCalls parses the non-test Go files under root, package by package, and
// returns every call of Exec, Query, QueryRow, their Context forms, Prepare
// and PrepareContext.
func sqlCalls(t *testing.T, root string) []sqlCall {
	t.Helper()
	byDir := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" && path != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var calls []sqlCall
	fset := token.NewFileSet()
	for _, paths := range byDir {
		var files []*ast.File
		for _, path := range paths {
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		consts := constNames(files)
		for i, f := range files {
			rel, err := filepath.Rel(filepath.Dir(root), paths[i])
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok {
					continue
				}
				ast.Inspect(fn, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					if arg := sqlArgument(call); arg != nil {
						calls = append(calls, sqlCall{
							pos:      fset.Position(call.Pos()),
							key:      filepath.ToSlash(rel) + ":" + fn.Name.Name,
							sql:      types.ExprString(arg),
							constant: constantString(arg, consts),
						})
					}
					return true
				})
			}
		}
	}
	return calls
}

// constNames returns the name of every constant declared in files, at
// package level or in a function.
func constNames(files []*ast.File) map[string]bool {
	names := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if d, ok := n.(*ast.GenDecl); ok && d.Tok == token.CONST {
				for _, spec := range d.Specs {
					for _, name := range spec.(*ast.ValueSpec).Names {
						names[name.Name] = true
					}
				}
			}
			return true
		})
	}
	return names
}

// sqlArgument returns the SQL argument of a call of a method that takes
// SQL, or nil for any other call. It reads the syntax only, so it knows
// database/sql's forms (Exec(query, …), ExecContext(ctx, query, …),
// Prepare(query)) and pgx's (Exec(ctx, sql, …), Prepare(ctx, name, sql)) by
// their arguments. A guess that picks the wrong argument fails loudly.
func sqlArgument(call *ast.CallExpr) ast.Expr {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) == 0 {
		return nil
	}
	switch sel.Sel.Name {
	case "Prepare", "PrepareContext":
		return call.Args[len(call.Args)-1]
	case "ExecContext", "QueryContext", "QueryRowContext":
		if len(call.Args) < 2 {
			return call.Args[0]
		}
		return call.Args[1]
	case "Exec", "Query", "QueryRow":
		if len(call.Args) >= 2 && isContext(call.Args[0]) {
			return call.Args[1]
		}
		return call.Args[0]
	}
	return nil
}

var ctxName = regexp.MustCompile(`(?i)ctx$`)

// isContext reports whether e reads as a context: a variable named ctx or
// …Ctx, or a call of package context or of a Context method.
func isContext(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return ctxName.MatchString(e.Name)
	case *ast.CallExpr:
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok {
			pkg, _ := sel.X.(*ast.Ident)
			return sel.Sel.Name == "Context" || pkg != nil && pkg.Name == "context"
		}
	}
	return false
}

// constantString reports whether e is built only from string literals and
// named constants with +.
func constantString(e ast.Expr, consts map[string]bool) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.Ident:
		return consts[e.Name]
	case *ast.ParenExpr:
		return constantString(e.X, consts)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && constantString(e.X, consts) && constantString(e.Y, consts)
	}
	return false
}

func TestDriversUseOnlyConstantSQL(t *testing.T) {
	used := map[string]bool{}
	for _, driver := range []string{"sqlite", "postgres"} {
		calls := sqlCalls(t, driver)
		if len(calls) < 10 {
			t.Errorf("%s: found %d SQL calls; the walk is not seeing the driver", driver, len(calls))
		}
		for _, c := range calls {
			if c.constant {
				continue
			}
			if want, ok := dynamicSQL[c.key]; ok && want == c.sql {
				used[c.key] = true
				continue
			}
			t.Errorf("%s: SQL built at run time in %s: %s\n\tbuild it from string literals and constants and pass every value as a parameter, or review it and list it in dynamicSQL", c.pos, c.key, c.sql)
		}
	}
	for key, sql := range dynamicSQL {
		if !used[key] {
			t.Errorf("dynamicSQL[%q] = %s matches no call any more; remove it", key, sql)
		}
	}
}

func TestSQLGuardCatchesBadSamples(t *testing.T) {
	const sample = "testdata/sqlguard"
	src, err := os.ReadFile(filepath.Join(sample, "sample.go"))
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasSuffix(line, "// want") {
			want = append(want, i+1)
		}
	}
	var got []int
	calls := sqlCalls(t, sample)
	for _, c := range calls {
		if !c.constant {
			got = append(got, c.pos.Line)
		}
	}
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("non-constant SQL reported on lines %v, want %v (the lines marked // want)", got, want)
	}
	if len(calls) <= len(want) {
		t.Errorf("only %d calls seen; the sample's good calls were missed", len(calls))
	}
}
