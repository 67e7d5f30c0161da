package golang

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// demoModule is the module most tests run on: two packages, std imports
// and multi-byte text beside identifiers.
var demoModule = map[string]string{
	"go.mod": "module example.com/demo\n\ngo 1.22\n",
	"a/a.go": `// Package a greets.
package a

import (
	"fmt"
	"strings"
)

// Greeter says hello.
type Greeter struct {
	// Name is who is greeted.
	Name  string
	count int
}

// Greet returns a greeting for g's name.
func (g *Greeter) Greet() string {
	g.count++
	return fmt.Sprintf("hello, %s", strings.ToUpper(g.Name))
}

// Answer is the answer.
const Answer = 42

var smile = []string{"😀ü", Wide}

// Wide follows multi-byte text.
var Wide = "ä"
`,
	"b/b.go": `package b

import "example.com/demo/a"

// Use greets x.
func Use() string {
	g := &a.Greeter{Name: "x😀"}
	h := "ü😀" + g.Greet()
	return h + a.Wide
}
`,
}

// client drives a go plugin session the way the host does.
type client interface {
	call(method string, params, result any) error
	notify(method string, params any)
	// diagnostics waits until the latest diagnostics published for uri
	// satisfy ok, and returns them.
	diagnostics(uri string, ok func([]diagnostic) bool) []diagnostic
	close()
}

// recorder keeps the diagnostics the plugin published, by URI.
type recorder struct {
	mu    sync.Mutex
	cond  *sync.Cond
	diags map[string][]diagnostic
	count int
}

func newRecorder() *recorder {
	r := &recorder{diags: map[string][]diagnostic{}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) publish(raw []byte) {
	var p publishDiagnosticsParams
	if err := json.Unmarshal(raw, &p); err != nil {
		panic(err)
	}
	r.mu.Lock()
	r.diags[p.URI] = p.Diagnostics
	r.count++
	r.cond.Broadcast()
	r.mu.Unlock()
}

func (r *recorder) wait(t testing.TB, uri string, ok func([]diagnostic) bool) []diagnostic {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	timer := time.AfterFunc(90*time.Second, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if d, seen := r.diags[uri]; seen && ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("no diagnostics for %s that satisfy the test; last: %+v", uri, r.diags[uri])
		}
		r.cond.Wait()
	}
}

// session helpers shared by the tests.

type fixture struct {
	t   *testing.T
	dir string
	c   client
}

func uriIn(dir, name string) string { return pathToURI(filepath.Join(dir, filepath.FromSlash(name))) }

// open sends didOpen for the file name with its text on disk (or text).
func (f *fixture) open(name, text string) string {
	uri := uriIn(f.dir, name)
	f.c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "go", "version": 1, "text": text}})
	return uri
}

// at returns the position of the n-th byte after the first occurrence of
// marker in text (n may be negative), in enc.
func at(t testing.TB, text, marker string, n int, enc posEncoding) position {
	t.Helper()
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("marker %q not in text", marker)
	}
	return lspPosition(text, i+n, enc)
}

func tdp(uri string, p position) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": uri}, "position": p}
}

func initialize(t testing.TB, c client, root string, encodings ...string) map[string]any {
	t.Helper()
	var res map[string]any
	params := map[string]any{"processId": nil, "rootUri": pathToURI(root),
		"capabilities": map[string]any{"general": map[string]any{"positionEncodings": encodings}}}
	if err := c.call("initialize", params, &res); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	c.notify("initialized", map[string]any{})
	return res
}

var _ = context.Background
