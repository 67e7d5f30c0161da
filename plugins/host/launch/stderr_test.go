package launch

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestRingKeepsTheLastBytes(t *testing.T) {
	r := newRing(10)
	r.Write([]byte("abc"))
	if got := string(r.Bytes()); got != "abc" {
		t.Fatalf("%q", got)
	}
	r.Write([]byte("defghij")) // exactly full
	r.Write([]byte("KL"))      // wraps
	if got := string(r.Bytes()); got != "cdefghijKL" {
		t.Fatalf("after wrapping: %q", got)
	}
	r.Write([]byte("0123456789abcdef")) // larger than the ring
	if got := string(r.Bytes()); got != "6789abcdef" {
		t.Fatalf("after a write over the size: %q", got)
	}
	r.Write([]byte("\nlast line\n"))
	if got := r.lastLine(100); got != "last line" {
		t.Fatalf("last line %q", got)
	}
}

func TestStderrLogIsRateLimited(t *testing.T) {
	var out bytes.Buffer
	r := newRing(stderrRingBytes)
	l := newStderrLog(slog.New(slog.NewTextHandler(&out, nil)), r, "stderr")
	for i := range 1000 {
		fmt.Fprintf(l, "line %d\n", i)
	}
	fmt.Fprint(l, strings.Repeat("x", 2*stderrLineBytes)+"\n")
	logged := strings.Count(out.String(), "plugin output")
	if logged < stderrLogBurst || logged > stderrLogBurst+10 {
		t.Fatalf("logged %d of 1001 lines at once, want about the burst of %d", logged, stderrLogBurst)
	}
	if got := strings.Count(string(r.Bytes()), "\n"); got != 1001 {
		t.Fatalf("the ring holds %d lines, want all 1001", got)
	}
}
