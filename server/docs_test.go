package server

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gathering-dev/gathering/protocol"
)

// TestEveryMethodIsDocumented keeps docs/protocol.md in step with the
// method table: each gathering/* request needs a section with an example
// request and answer, each notification one with an example message.
func TestEveryMethodIsDocumented(t *testing.T) {
	sections := docSections(t)
	for name, m := range methodTable(true) {
		if !strings.HasPrefix(name, "gathering/") {
			continue
		}
		sec, ok := sections[name]
		switch {
		case !ok:
			t.Errorf("docs/protocol.md has no section for %s", name)
		case m.notification && (!strings.Contains(sec, `"method": "`+name+`"`) || !strings.Contains(sec, `"params"`)):
			t.Errorf("docs/protocol.md: %s has no example notification", name)
		case !m.notification && (!strings.Contains(sec, `"method": "`+name+`"`) || !strings.Contains(sec, `"result"`)):
			t.Errorf("docs/protocol.md: %s has no example request and answer", name)
		}
	}
}

// TestEveryServerNotificationIsDocumented does the same for what the server
// sends the client: every gathering/* method the protocol package names that
// the server does not answer is a notification it sends, and needs a
// section with an example message, params included.
func TestEveryServerNotificationIsDocumented(t *testing.T) {
	sections := docSections(t)
	table := methodTable(true)
	var sent []string
	for _, name := range protocolMethods(t) {
		if _, answered := table[name]; !answered {
			sent = append(sent, name)
		}
	}
	// The test must not pass by finding nothing.
	if !slices.Contains(sent, protocol.MethodWorkspaceDidChange) {
		t.Fatalf("found server notifications %v; want %s among them", sent, protocol.MethodWorkspaceDidChange)
	}
	for _, name := range sent {
		sec, ok := sections[name]
		if !ok {
			t.Errorf("docs/protocol.md has no section for the notification %s", name)
			continue
		}
		if !strings.Contains(sec, `"method": "`+name+`"`) || !strings.Contains(sec, `"params"`) {
			t.Errorf("docs/protocol.md: the notification %s has no example message with params", name)
		}
		if strings.Contains(sec, `"id"`) {
			t.Errorf("docs/protocol.md: the example of the notification %s has an id", name)
		}
	}
}

// TestDocExamplesMatchTheParams decodes the params of every example request
// in docs/protocol.md strictly, as the server does, into the method's params
// type: a renamed or misspelt field in an example fails here.
func TestDocExamplesMatchTheParams(t *testing.T) {
	table := methodTable(true)
	for name, sec := range docSections(t) {
		m := table[name]
		if m == nil || m.params == nil {
			continue
		}
		exs := examples(sec, "→ ")
		if len(exs) == 0 {
			t.Errorf("docs/protocol.md, %s: no example request (a line starting with →)", name)
		}
		for _, ex := range exs {
			var msg struct {
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			if err := json.Unmarshal([]byte(ex), &msg); err != nil {
				t.Errorf("docs/protocol.md, %s: the example request is not JSON (%v):\n%s", name, err, ex)
				continue
			}
			if msg.Method != name {
				t.Errorf("docs/protocol.md, %s: the example request calls %q", name, msg.Method)
			}
			if err := decodeStrict(msg.Params, reflect.New(m.params).Interface()); err != nil {
				t.Errorf("docs/protocol.md, %s: the example's params do not decode: %v", name, err)
			}
		}
	}
}

// examples returns the messages of a section's code blocks that start with
// arrow, each with its continuation lines.
func examples(sec, arrow string) []string {
	var out []string
	cur := ""
	flush := func() {
		if cur != "" {
			out = append(out, cur)
		}
		cur = ""
	}
	for line := range strings.Lines(sec) {
		switch {
		case strings.HasPrefix(line, arrow):
			flush()
			cur = strings.TrimPrefix(line, arrow)
		case cur != "" && strings.HasPrefix(line, " "):
			cur += line
		default:
			flush()
		}
	}
	flush()
	return out
}

// docSections returns the ### sections of docs/protocol.md by title, each
// up to the next heading of any level.
func docSections(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, sec := range strings.Split(string(doc), "\n### ")[1:] {
		title, body, _ := strings.Cut(sec, "\n")
		if i := strings.Index(body, "\n#"); i >= 0 {
			body = body[:i]
		}
		out[strings.TrimSpace(title)] = body
	}
	return out
}

// protocolMethods returns the values of the protocol package's Method*
// constants that name gathering/* methods.
func protocolMethods(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../protocol/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Method") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					if v, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(v, "gathering/") {
						out = append(out, v)
					}
				}
			}
		}
	}
	return out
}
