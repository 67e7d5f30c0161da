package golang

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBlankFuncBodiesKeepsDeclarationsAndOffsets(t *testing.T) {
	t.Parallel()
	src := `package p

type S struct{ A int }

var table = [...]int{1, 2, 3}

func F[T interface{ ~int }](x struct{ B int }) (r int) {
	y := map[string]int{"ü😀": 1}
	return y["a"] + x.B
}

func (s *S) M() { if true { return } }

func G()
`
	got := string(blankFuncBodies([]byte(src)))
	if len(got) != len(src) || strings.Count(got, "\n") != strings.Count(src, "\n") {
		t.Fatalf("length or lines changed:\n%s", got)
	}
	for _, keep := range []string{"type S struct{ A int }", "[...]int{1, 2, 3}", "interface{ ~int }", "x struct{ B int }) (r int) {", "M() {", "func G()"} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q lost:\n%s", keep, got)
		}
	}
	for _, gone := range []string{"map[string]int", "return", "if true"} {
		if strings.Contains(got, gone) {
			t.Errorf("%q kept in a body:\n%s", gone, got)
		}
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "p.go", got, 0); err != nil {
		t.Errorf("blanked source does not parse: %v", err)
	}
}

// TestBlankFuncBodiesParsesTheStandardLibrary blanks every file of a few
// large standard packages and checks each still parses with the same
// top-level declarations at the same offsets.
func TestBlankFuncBodiesParsesTheStandardLibrary(t *testing.T) {
	t.Parallel()
	root := filepath.Join(newResolver().goroot, "src")
	for _, pkg := range []string{"net/http", "reflect", "go/types", "runtime"} {
		names, _ := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		for _, name := range names {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			a, err := parser.ParseFile(token.NewFileSet(), name, src, parser.SkipObjectResolution)
			if err != nil {
				continue
			}
			b, err := parser.ParseFile(token.NewFileSet(), name, blankFuncBodies(src), parser.SkipObjectResolution)
			if err != nil {
				t.Errorf("%s: blanked source does not parse: %v", name, err)
				continue
			}
			if len(a.Decls) != len(b.Decls) {
				t.Errorf("%s: %d declarations, %d after blanking", name, len(a.Decls), len(b.Decls))
				continue
			}
			for i := range a.Decls {
				if a.Decls[i].Pos() != b.Decls[i].Pos() {
					t.Errorf("%s: declaration %d moved", name, i)
				}
			}
		}
	}
}
