package golang

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// templateModule copies text/template and text/template/parse from GOROOT
// into a module of its own (about 6,000 lines in two packages importing
// fmt, reflect, net/url and more), the mid-sized package the latency
// benchmarks run on.
func templateModule(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{"go.mod": "module example.com/tmpl\n\ngo 1.24\n"}
	src := filepath.Join(runtime.GOROOT(), "src", "text", "template")
	for _, sub := range []string{"", "parse"} {
		entries, err := os.ReadDir(filepath.Join(src, sub))
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(src, sub, name))
			if err != nil {
				tb.Fatal(err)
			}
			text := strings.ReplaceAll(string(b), `"text/template/parse"`, `"example.com/tmpl/parse"`)
			files[filepath.ToSlash(filepath.Join(sub, name))] = text
		}
	}
	writeFiles(tb, dir, files)
	return dir
}

// latencies runs req once per position, cycling, b.N times, and reports
// the median and 99th percentile.
func latencies(b *testing.B, positions []position, req func(p position)) {
	b.Helper()
	req(positions[0]) // warm: the package is checked once
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		req(positions[i%len(positions)])
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-µs")
}

// benchSession opens exec.go of the template module over ServeStdio and
// returns positions: the start of every identifier after a '.' (member
// selections), which hover, definition and completion all find work at.
func benchSession(b *testing.B) (client, string, []position) {
	dir := templateModule(b)
	c := newStdioClient(b)
	initialize(b, c, dir)
	text, err := os.ReadFile(filepath.Join(dir, "exec.go"))
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{dir: dir, c: c}
	uri := f.open("exec.go", string(text))
	var positions []position
	for i := 1; i < len(text)-1; i++ {
		if text[i-1] == '.' && (text[i] >= 'A' && text[i] <= 'Z' || text[i] >= 'a' && text[i] <= 'z') {
			positions = append(positions, lspPosition(string(text), i, encUTF16))
		}
	}
	return c, uri, positions
}

func BenchmarkHover(b *testing.B) {
	c, uri, positions := benchSession(b)
	latencies(b, positions, func(p position) {
		var h *hover
		if err := c.call("textDocument/hover", tdp(uri, p), &h); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkDefinition(b *testing.B) {
	c, uri, positions := benchSession(b)
	latencies(b, positions, func(p position) {
		var locs []location
		if err := c.call("textDocument/definition", tdp(uri, p), &locs); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCompletion completes right after each '.', so every request
// lists a package's or a type's members.
func BenchmarkCompletion(b *testing.B) {
	c, uri, positions := benchSession(b)
	latencies(b, positions, func(p position) {
		var list completionList
		if err := c.call("textDocument/completion", tdp(uri, p), &list); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkColdCheck type-checks a package importing fmt (or net/http) in
// a fresh session each time: every standard-library package it needs is
// parsed and checked from $GOROOT/src.
func BenchmarkColdCheck(b *testing.B) {
	for _, imp := range []string{"fmt", "net/http"} {
		b.Run(strings.ReplaceAll(imp, "/", "_"), func(b *testing.B) {
			dir := b.TempDir()
			name := filepath.Base(imp)
			writeFiles(b, dir, map[string]string{
				"go.mod":  "module example.com/cold\n\ngo 1.24\n",
				"main.go": "package main\n\nimport \"" + imp + "\"\n\nvar _ = " + name + ".Errorf\n\nfunc main() {}\n",
			})
			if imp == "net/http" {
				writeFiles(b, dir, map[string]string{"main.go": "package main\n\nimport \"net/http\"\n\nvar _ = http.Get\n\nfunc main() {}\n"})
			}
			path := filepath.Join(dir, "main.go")
			var pkgs int
			cpu0 := cpuTime()
			for range b.N {
				s := newSession()
				s.l.mu.Lock()
				t, err := s.targetOf(path)
				if err != nil || len(t.c.errs) > 0 {
					b.Fatalf("check: %v %v", err, t.c.errs)
				}
				pkgs = len(s.l.cache)
				s.l.mu.Unlock()
			}
			b.ReportMetric(float64(pkgs), "packages")
			b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine it says more about the work than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
