package golang

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseGoModReadsBlocksQuotesAndReplacements(t *testing.T) {
	data := `// a comment
module "example.com/Demo" // trailing

go 1.23.1

require example.com/one v1.2.3
require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	example.com/two v0.0.0-20240101000000-abcdefabcdef
)

replace example.com/two => ../two
replace (
	example.com/one v1.2.3 => example.com/fork v1.2.4
)
exclude example.com/three v1.0.0
`
	m, err := parseGoMod([]byte(data), "/work/demo")
	if err != nil {
		t.Fatal(err)
	}
	if m.path != "example.com/Demo" || m.goVersion != "go1.23.1" {
		t.Errorf("path %q go %q", m.path, m.goVersion)
	}
	want := map[string]string{
		"example.com/one":            "v1.2.3",
		"github.com/BurntSushi/toml": "v1.6.0",
		"example.com/two":            "v0.0.0-20240101000000-abcdefabcdef",
	}
	if len(m.requires) != len(want) {
		t.Errorf("requires %v, want %v", m.requires, want)
	}
	for k, v := range want {
		if m.requires[k] != v {
			t.Errorf("requires[%s] = %q, want %q", k, m.requires[k], v)
		}
	}
	if r := m.replaces["example.com/two"]; r.dir != "/work/two" {
		t.Errorf("replace two = %+v, want dir /work/two", r)
	}
	if r := m.replaces["example.com/one@v1.2.3"]; r.path != "example.com/fork" || r.version != "v1.2.4" {
		t.Errorf("replace one = %+v", r)
	}
	if _, err := parseGoMod([]byte("go 1.22\n"), "/x"); err == nil {
		t.Error("a go.mod without module parsed")
	}
}

func TestEscapePathFollowsTheModuleCacheCaseEncoding(t *testing.T) {
	cases := map[string]string{
		"github.com/BurntSushi/toml": "github.com/!burnt!sushi/toml",
		"example.com/lower":          "example.com/lower",
		"v1.0.0-RC1":                 "v1.0.0-!r!c1",
	}
	for in, want := range cases {
		if got := escapePath(in); got != want {
			t.Errorf("escapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveMapsStdModuleAndModuleCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	work := t.TempDir()
	writeFiles(t, work, map[string]string{
		"go.mod": "module example.com/demo\n\ngo 1.22\n\nrequire (\n\texample.com/Dep v1.0.0\n\texample.com/other v0.1.0\n)\n\nreplace example.com/other => ./third_party/other\n",
	})
	r := newResolver()
	mod := r.moduleOf(filepath.Join(work, "a"))
	if mod == nil || mod.path != "example.com/demo" {
		t.Fatalf("moduleOf = %+v", mod)
	}
	cases := map[string]string{
		"strings":                 filepath.Join(r.goroot, "src", "strings"),
		"example.com/demo/a/b":    filepath.Join(work, "a", "b"),
		"example.com/Dep/sub":     filepath.Join(cache, "example.com", "!dep@v1.0.0", "sub"),
		"example.com/other/inner": filepath.Join(work, "third_party", "other", "inner"),
	}
	for path, want := range cases {
		got, err := r.resolve(path, work, mod)
		if err != nil || got != want {
			t.Errorf("resolve(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := r.resolve("example.com/missing", work, mod); err == nil {
		t.Error("an import of no required module resolved")
	}
	// The standard library's vendored imports resolve from GOROOT/src/vendor.
	if got, err := r.resolve("golang.org/x/net/http/httpguts", filepath.Join(r.goroot, "src", "net", "http"), mod); err != nil ||
		got != filepath.Join(r.goroot, "src", "vendor", "golang.org", "x", "net", "http", "httpguts") {
		t.Errorf("vendored std import resolved to %q, %v", got, err)
	}
}

// writeFiles creates files (slash-separated names relative to dir).
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
