package launch_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
)

// BenchmarkColdStartGo measures the first start of the go built-in in a
// process, as the brief's target counts it: Load, the sealed memfd copy of
// the executable, then Start (sandbox command, launcher, namespaces,
// Landlock, seccomp, handshake, GetInfo, Session), until the answer to
// initialize.
func BenchmarkColdStartGo(b *testing.B) {
	benchStartGo(b, true)
}

// BenchmarkStartGoShared is every later start of the go built-in in the
// same process (another editor session, a restart): the sealed copy is
// shared, the rest is as in BenchmarkColdStartGo.
func BenchmarkStartGoShared(b *testing.B) {
	benchStartGo(b, false)
}

func benchStartGo(b *testing.B, cold bool) {
	dir, _, _ := goModule(b)
	cfg := config(b, "go")
	warm, _ := launch.Load(cfg)
	if i, err := launch.Start(context.Background(), warm.Lookup("go"), launch.StartOptions{Init: initGo(dir)}); err == nil {
		i.Close()
	}
	var times []time.Duration
	b.ResetTimer()
	for range b.N {
		if cold {
			b.StopTimer()
			launch.ForgetSelfImage()
			b.StartTimer()
		}
		t0 := time.Now()
		set, err := launch.Load(cfg)
		if err != nil {
			b.Fatal(err)
		}
		i, err := launch.Start(context.Background(), set.Lookup("go"), launch.StartOptions{Init: initGo(dir)})
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
		b.StopTimer()
		i.Close()
		set.Close()
		b.StartTimer()
	}
	reportQuantiles(b, "start", times)
}

// BenchmarkColdStartDir measures a start of a signed directory plugin (the
// sdk example): Load (ownership, signature, sha256 of the whole binary),
// Start (copy into a sealed memfd, hashing again, then as for go), until
// the answer to initialize.
func BenchmarkColdStartDir(b *testing.B) {
	bin := buildPlugin(b, examplePkg)
	s := newSigner(b, "acme")
	root := b.TempDir()
	pluginDir(b, s, root, "todo", "0.1.0", bin, "")
	cfg := config(b)
	cfg.Dirs, cfg.Trust = []string{root}, s.trust
	var times []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		set, err := launch.Load(cfg)
		if err != nil {
			b.Fatal(err)
		}
		i, err := launch.Start(context.Background(), set.Lookup("todo"), launch.StartOptions{Init: func(ctx context.Context, i *launch.Instance) error {
			_, err := i.Call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}})
			return err
		}})
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
		b.StopTimer()
		i.Close()
		set.Close()
		b.StartTimer()
	}
	reportQuantiles(b, "start", times)
}

// BenchmarkCallOverhead sends the same small request (an LSP hover's
// params) to the same plugin logic (the echo server) two ways, alternating
// in one run: through Instance.Call (host → gRPC Session stream → sandboxed
// plugin → back) and over a raw Content-Length stdio pipe to sdk.ServeStdio
// in a plain subprocess. It reports each one's median and p99, the
// difference of the medians and the median of the per-pair differences;
// the target is a difference under 200 µs.
func BenchmarkCallOverhead(b *testing.B) {
	set := load(b, config(b, "echo"))
	i := start(b, set, "echo", launch.StartOptions{})
	direct := startStdio(b)
	params := json.RawMessage(`{"textDocument":{"uri":"file:///home/user/project/internal/server/handler.go"},"position":{"line":120,"character":17}}`)
	ctx := context.Background()
	for range 200 { // warm both paths
		if _, err := i.Call(ctx, "echo", params); err != nil {
			b.Fatal(err)
		}
		if _, err := direct.call("echo", params); err != nil {
			b.Fatal(err)
		}
	}
	viaHost := make([]time.Duration, 0, b.N)
	viaStdio := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		got, err := i.Call(ctx, "echo", params)
		t1 := time.Now()
		if err != nil || len(got) != len(params) {
			b.Fatalf("via host: %s %v", got, err)
		}
		got, err = direct.call("echo", params)
		t2 := time.Now()
		if err != nil || len(got) != len(params) {
			b.Fatalf("via stdio: %s %v", got, err)
		}
		viaHost = append(viaHost, t1.Sub(t0))
		viaStdio = append(viaStdio, t2.Sub(t1))
	}
	b.StopTimer()
	h, s := quantile(viaHost, 0.5), quantile(viaStdio, 0.5)
	b.ReportMetric(float64(h.Nanoseconds())/1e3, "host-p50-µs")
	b.ReportMetric(float64(quantile(viaHost, 0.99).Nanoseconds())/1e3, "host-p99-µs")
	b.ReportMetric(float64(s.Nanoseconds())/1e3, "stdio-p50-µs")
	b.ReportMetric(float64(quantile(viaStdio, 0.99).Nanoseconds())/1e3, "stdio-p99-µs")
	b.ReportMetric(float64((h-s).Nanoseconds())/1e3, "overhead-p50-µs")
	diffs := make([]time.Duration, len(viaHost))
	for k := range viaHost {
		diffs[k] = viaHost[k] - viaStdio[k]
	}
	b.ReportMetric(float64(quantile(diffs, 0.5).Nanoseconds())/1e3, "overhead-median-of-pairs-µs")
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

func reportQuantiles(b *testing.B, name string, ds []time.Duration) {
	b.ReportMetric(float64(quantile(ds, 0.5).Microseconds())/1e3, name+"-p50-ms")
	b.ReportMetric(float64(quantile(ds, 0.9).Microseconds())/1e3, name+"-p90-ms")
}

// stdioPeer is a minimal LSP client over a subprocess's stdio: the
// baseline the host's overhead is measured against.
type stdioPeer struct {
	in  io.WriteCloser
	out *bufio.Reader
	id  int
}

func startStdio(b testing.TB) *stdioPeer {
	cmd := exec.Command(os.Args[0], stdioCommand)
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
	return &stdioPeer{in: in, out: bufio.NewReaderSize(out, 64<<10)}
}

// call sends one request and reads messages until its answer, decoding the
// envelope once as the host does.
func (p *stdioPeer) call(method string, params json.RawMessage) (json.RawMessage, error) {
	p.id++
	body := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, p.id, method, params)
	msg := fmt.Appendf(nil, "Content-Length: %d\r\n\r\n", len(body))
	if _, err := p.in.Write(append(msg, body...)); err != nil {
		return nil, err
	}
	for {
		n := -1
		for {
			line, err := p.out.ReadString('\n')
			if err != nil {
				return nil, err
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(p.out, buf); err != nil {
			return nil, err
		}
		var e struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(buf, &e); err != nil {
			return nil, err
		}
		if string(e.ID) == strconv.Itoa(p.id) {
			if e.Error != nil {
				return nil, fmt.Errorf("error: %s", e.Error)
			}
			return e.Result, nil
		}
	}
}
