//go:build linux

package sandbox

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// firstLine starts cmd, waits for the probe's first output line, then
// waits for it to exit. It returns the time from Start to the line.
func firstLine(b *testing.B, cmd *exec.Cmd) time.Duration {
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		b.Fatalf("no first line: %v", err)
	}
	d := time.Since(start)
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
	return d
}

// report adds the median time to the first line as a metric.
func report(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "ms-to-first-line-p50")
}

// BenchmarkStart times Start → the probe plugin's first output line, for
// the same sealed memfd executed bare (/proc/self/fd/3, no launcher) and
// through the launcher with and without namespaces, and run by the launcher
// in its own process (Spec.SelfImage, the built-ins' way); with
// SANDBOX_BENCH_LAUNCHER=path/to/gathering, through that launcher too.
func BenchmarkStart(b *testing.B) {
	bin := sealedTestBinary(b)
	cache, socket, ws := b.TempDir(), b.TempDir(), b.TempDir()
	spec := Spec{Launcher: os.Args[0], Binary: bin, Args: []string{"probe", "hello"}, Env: []string{helperEnv + "=1"},
		Read: []string{ws}, Limits: testLimits(), SocketDir: socket, CacheDir: cache}

	b.Run("bare", func(b *testing.B) {
		var ds []time.Duration
		for b.Loop() {
			ds = append(ds, firstLine(b, &exec.Cmd{Path: pluginPath, Args: []string{"probe", "hello"}, Env: []string{helperEnv + "=1"}, ExtraFiles: []*os.File{bin}}))
		}
		report(b, ds)
	})
	noNamespaces := spec
	noNamespaces.DisableNamespaces = true
	b.Run("launcher-no-namespaces", func(b *testing.B) { startEach(b, noNamespaces) })
	if exe := os.Getenv("SANDBOX_BENCH_LAUNCHER"); exe != "" {
		// A real gathering binary as the launcher: its package
		// initialisation is part of the cost.
		withLauncher := spec
		withLauncher.Launcher = exe
		b.Run("launcher-everything-"+filepath.Base(exe), func(b *testing.B) { startEach(b, withLauncher) })
	}
	for _, selfImage := range []bool{false, true} {
		name := "launcher-everything"
		if selfImage {
			name += "-in-process"
		}
		everything := spec
		everything.SelfImage = selfImage
		b.Run(name, func(b *testing.B) { startEach(b, everything) })
	}
}

// startEach times the command of spec to its first line, once per
// iteration, and reports the median.
func startEach(b *testing.B, spec Spec) {
	var ds []time.Duration
	for b.Loop() {
		cmd, _, err := Command(spec)
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, firstLine(b, cmd))
	}
	report(b, ds)
}
