package launch

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Limits on what a plugin writes to stderr (research/plugins.md §4.4).
const (
	// stderrRingBytes is how much of a plugin's most recent output is kept
	// for crash reports and status.
	stderrRingBytes = 1 << 20
	// stderrLineBytes caps one logged line; longer lines are cut.
	stderrLineBytes = 4 << 10
	// stderrLogBurst and stderrLogPerSecond rate-limit the lines that reach
	// the host's log; the ring keeps them all.
	stderrLogBurst     = 100
	stderrLogPerSecond = 20
)

// ring keeps the last size bytes written to it. It is safe for
// concurrent use.
type ring struct {
	mu   sync.Mutex
	size int
	// buf grows as output comes, up to size: allocating the whole
	// stderrRingBytes up front cost every start about 5 ms of fresh pages.
	buf  []byte
	next int // where the next byte goes once buf is full
	full bool
}

func newRing(size int) *ring { return &ring{size: size} }

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	size := r.size
	if len(p) >= size {
		r.buf = append(r.buf[:0], p[len(p)-size:]...)
		r.next, r.full = 0, true
		return n, nil
	}
	if !r.full {
		room := size - len(r.buf)
		if len(p) <= room {
			r.buf = append(r.buf, p...)
			return n, nil
		}
		r.buf = append(r.buf, p[:room]...)
		p = p[room:]
		r.full, r.next = true, 0
	}
	for len(p) > 0 {
		c := copy(r.buf[r.next:], p)
		p = p[c:]
		r.next = (r.next + c) % size
	}
	return n, nil
}

// Bytes returns a copy of what the ring holds, oldest first.
func (r *ring) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return bytes.Clone(r.buf)
	}
	out := make([]byte, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// lastLine returns the last non-empty line the ring holds, cut to max bytes,
// for error messages.
func (r *ring) lastLine(max int) string {
	b := bytes.TrimRight(r.Bytes(), "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// stderrLog splits a plugin's output into lines and logs them at a limited
// rate: a token bucket of stderrLogBurst lines refilled at
// stderrLogPerSecond; lines over the rate are counted and the count is
// logged with the next line that passes. Everything also goes to the ring.
// It is safe for concurrent use (stderr and go-plugin's stdio stream both
// write to it).
type stderrLog struct {
	log    *slog.Logger
	ring   *ring
	stream string

	mu      sync.Mutex
	partial []byte
	tokens  float64
	last    time.Time
	dropped int
}

func newStderrLog(log *slog.Logger, r *ring, stream string) *stderrLog {
	return &stderrLog{log: log, ring: r, stream: stream, tokens: stderrLogBurst, last: time.Now()}
}

func (s *stderrLog) Write(p []byte) (int, error) {
	s.ring.Write(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			room := stderrLineBytes - len(s.partial)
			if room > 0 {
				s.partial = append(s.partial, rest[:min(room, len(rest))]...)
			}
			break
		}
		line := rest[:i]
		if len(s.partial) > 0 {
			room := max(stderrLineBytes-len(s.partial), 0)
			line = append(s.partial, line[:min(room, len(line))]...)
			s.partial = s.partial[:0]
		}
		s.emit(line)
		rest = rest[i+1:]
	}
	return len(p), nil
}

// flush logs an unterminated last line.
func (s *stderrLog) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.emit(s.partial)
		s.partial = nil
	}
}

func (s *stderrLog) emit(line []byte) {
	now := time.Now()
	s.tokens = min(stderrLogBurst, s.tokens+now.Sub(s.last).Seconds()*stderrLogPerSecond)
	s.last = now
	if s.tokens < 1 {
		s.dropped++
		return
	}
	s.tokens--
	if len(line) > stderrLineBytes {
		line = line[:stderrLineBytes]
	}
	attrs := []slog.Attr{slog.String("stream", s.stream), slog.String("line", string(line))}
	if s.dropped > 0 {
		attrs = append(attrs, slog.Int("dropped_lines", s.dropped))
		s.dropped = 0
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "plugin output", attrs...)
}

// copyStderr feeds r to s until r ends.
func copyStderr(s *stderrLog, r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.Write(buf[:n])
		}
		if err != nil {
			s.flush()
			return
		}
	}
}
