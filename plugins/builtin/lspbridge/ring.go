package lspbridge

import (
	"bytes"
	"sync"
)

// ring keeps the last size bytes written to it: the server's stderr, for the
// error that reports its exit. It is safe for concurrent use.
type ring struct {
	mu   sync.Mutex
	buf  []byte
	size int
	lost bool // earlier output was dropped
}

func newRing(size int) *ring { return &ring{size: size} }

// Write keeps the tail of p and of what came before; it never fails.
func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	if len(p) >= r.size {
		r.lost = r.lost || len(r.buf) > 0 || len(p) > r.size
		r.buf = append(r.buf[:0], p[len(p)-r.size:]...)
		return n, nil
	}
	if over := len(r.buf) + len(p) - r.size; over > 0 {
		r.lost = true
		r.buf = append(r.buf[:0], r.buf[over:]...)
	}
	r.buf = append(r.buf, p...)
	return n, nil
}

// tail returns up to n of the last lines, without a trailing newline. A
// first line whose start the ring dropped is left out, unless it is the
// only line.
func (r *ring) tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := bytes.TrimRight(r.buf, "\n")
	if r.lost {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	lines := bytes.Split(b, []byte{'\n'})
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte{'\n'}))
}
