// Package layering holds the test that keeps gathering's imports flowing one
// way: cmd → server → {plugins/host, workspace, orchestration} → {store, protocol}.
package layering

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gathering-dev/gathering"

// allowed maps a package (module-relative, or a prefix ending in "/") to the
// module packages it may import directly. A package of the module that no
// rule names fails the test, so each new package declares its place.
var allowed = map[string][]string{
	"protocol":                        {},
	"protocol/lsp":                    {},
	"internal/rpc":                    {"protocol", "internal/jsonstr", "internal/jsonvalid", "internal/lspframe"},
	"internal/lspframe":               {},
	"internal/jsonvalid":              {},
	"internal/jsonstr":                {},
	"internal/testenv":                {},
	"internal/position":               {},
	"internal/layering":               {},
	"store":                           {},
	"store/":                          {"store", "store/internal/", "internal/testenv"},
	"workspace":                       {"store", "protocol", "workspace/filetree", "workspace/git", "workspace/search"},
	"workspace/document":              {"internal/position"},
	"workspace/git":                   {},
	"workspace/filetree":              {},
	"workspace/filetree/filetreetest": {},
	"workspace/search":                {},
	"plugins/sandbox":                 {"plugins/manifest"},
	"plugins/manifest":                {},
	"plugins/sdk/pluginv1":            {},
	"plugins/sdk":                     {"plugins/sdk/pluginv1", "internal/lspframe"},
	"plugins/sdk/example":             {"plugins/sdk"},
	"plugins/internal/":               {"plugins/sdk", "plugins/sdk/pluginv1"},
	"plugins/builtin/golang":          {"plugins/sdk"},
	"plugins/builtin/lspbridge":       {"plugins/sdk"},
	"plugins/builtin":                 {"plugins/sdk", "plugins/manifest", "plugins/builtin/golang", "plugins/builtin/lspbridge"},
	"plugins/host":                    {"internal/position", "internal/jsonstr", "plugins/host/launch", "plugins/manifest", "plugins/sandbox", "protocol", "protocol/lsp", "internal/rpc"},
	"plugins/host/launch":             {"plugins/manifest", "plugins/sandbox", "plugins/sdk", "plugins/sdk/pluginv1", "plugins/builtin", "protocol", "internal/rpc", "internal/jsonvalid", "internal/jsonstr", "internal/lspframe"},
	"auth":                            {"store"},
	"server":                          {"protocol", "protocol/lsp", "internal/rpc", "workspace", "workspace/document", "workspace/git", "workspace/search", "store", "auth", "plugins/host"},
	"cmd/gathering":                   {"*"},
	"bench/":                          {"*"},
	"acceptance":                      {"*"},
}

// foreign lists outside modules only one package may import.
var foreign = map[string]string{
	"github.com/sourcegraph/jsonrpc2": "internal/rpc",
	"go.lsp.dev/protocol":             "protocol/lsp",
	"go.lsp.dev/jsonrpc2":             "", // never: it reorders notifications (research/lsp.md §2)
}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func rule(rel string) ([]string, bool) {
	if r, ok := allowed[rel]; ok {
		return r, true
	}
	best := ""
	for k := range allowed {
		if strings.HasSuffix(k, "/") && strings.HasPrefix(rel, k) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return nil, false
	}
	return allowed[best], true
}

func permits(list []string, target string) bool {
	for _, a := range list {
		if a == "*" || a == target || (strings.HasSuffix(a, "/") && strings.HasPrefix(target, a)) {
			return true
		}
	}
	return false
}

func TestImportsFlowOneWay(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	var seen int
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		list, ok := rule(rel)
		if !ok {
			t.Errorf("package %s has no layering rule; add it to allowed", rel)
			continue
		}
		// Production imports follow the rules. Tests may use any lower
		// part of the module (a real store under the server, say), but not
		// the command, and the foreign-module rules hold for them too.
		for _, imp := range p.Imports {
			check(t, rel, imp, list)
		}
		for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
			if strings.HasPrefix(imp, module+"/cmd/") && rel != "acceptance" && !strings.HasPrefix(rel, "cmd/") {
				t.Errorf("tests of %s import the command %s", rel, imp)
			}
			check(t, rel, imp, []string{"*"})
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	if seen < 5 {
		t.Fatalf("go list found %d packages; the test is not looking at the module", seen)
	}
}

func check(t *testing.T, rel, imp string, list []string) {
	t.Helper()
	for mod, owner := range foreign {
		if imp == mod || strings.HasPrefix(imp, mod+"/") {
			l, _ := rule(rel)
			if owner == "" || (rel != owner && !permits(l, "*")) {
				t.Errorf("%s imports %s; only %q may", rel, imp, owner)
			}
		}
	}
	if !strings.HasPrefix(imp, module+"/") {
		return
	}
	target := strings.TrimPrefix(imp, module+"/")
	if !permits(list, target) {
		t.Errorf("%s imports %s, which its layering rule does not allow", rel, target)
	}
}
