package sdk_test

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// The two benchmarks send the same small request to the same Server in a
// subprocess and wait for its answer, one at a time: through go-plugin's
// gRPC Session stream, and over ServeStdio on a pipe. Each reports the p50
// and p99 of the round trips besides the mean (ns/op).

const benchRequest = `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"textDocument":{"uri":"file:///a.go"},"position":{"line":1,"character":2}}}`

func BenchmarkSessionRoundTrip(b *testing.B) {
	c, _ := launch(b, "serve")
	s := openSession(b, c)
	msg := &pluginv1.Frame{Message: []byte(benchRequest)}
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := s.Send(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	report(b, durations)
}

func BenchmarkStdioRoundTrip(b *testing.B) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = testEnv("stdio")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	r := bufio.NewReader(out)
	w := bufio.NewWriter(in)
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := frame(w, []byte(benchRequest)); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if _, err := readFrame(r); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	report(b, durations)
}

func report(b *testing.B, d []time.Duration) {
	b.StopTimer()
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99-ns")
}
