package launch

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gathering-dev/gathering/internal/lspframe"
	"github.com/gathering-dev/gathering/plugins/sdk"
)

// stdio reports whether the plugin speaks LSP on its stdin and stdout
// rather than the go-plugin wire (see [builtin.Builtin.Stdio]).
func (p *Plugin) stdio() bool { return p.builtin != nil && p.builtin.Stdio }

// stdioFrames is a stdio plugin's session as a messageStream, framed with
// Content-Length on the pipes. It reads with the SDK's transport and
// writes each message itself, header and body in one write: only the
// holder of conn.sendSem sends, so the frame buffer needs no lock of its
// own.
type stdioFrames struct {
	t     sdk.Transport // for reading
	input io.Writer     // the plugin's stdin
	frame []byte        // the last frame written, for reuse
	log   *slog.Logger
}

func (s *stdioFrames) Send(msg []byte) error {
	frame := lspframe.AppendFrame(s.frame[:0], msg)
	_, err := s.input.Write(frame)
	if cap(frame) <= keptRequestBytes { // one large message does not pin its buffer
		s.frame = frame
	}
	return err
}

// Recv skips a message over the size cap, unread, and logs it: unlike a
// gRPC stream, the framing says where the next message starts. A call it
// answered runs into its deadline.
func (s *stdioFrames) Recv() ([]byte, error) {
	for {
		msg, err := s.t.Read()
		if err == nil {
			return msg, nil
		}
		var tl *sdk.TooLargeError
		if errors.As(err, &tl) {
			s.log.Warn("plugin sent a message over the size limit; dropped", "bytes", tl.Size, "limit", tl.Max)
			continue
		}
		return nil, err
	}
}

// inputStall is how long a write to a stdio plugin's input may wait for the
// plugin to read. Writes come from the editor's read loop (document
// notifications, forwarded requests); a plugin that stops reading for this
// long is hung: it is killed, which ends the write, and supervision
// restarts it, instead of the editor's session waiting on it for ever.
const inputStall = 10 * time.Second

// stallWriter writes to a stdio plugin's input under the watch of
// [stallWatch]. A per-write deadline would do the same with a timer per
// write, and arming a timer costs several µs of each round trip.
type stallWriter struct {
	f       *os.File
	limit   time.Duration
	onStall func()       // kills the plugin
	since   atomic.Int64 // when the write under way began (Unix ns); 0 between writes
	stalled atomic.Bool
}

func newStallWriter(f *os.File, limit time.Duration, onStall func()) *stallWriter {
	w := &stallWriter{f: f, limit: limit, onStall: onStall}
	stallWatch.add(w)
	return w
}

func (w *stallWriter) Write(b []byte) (int, error) {
	w.since.Store(time.Now().UnixNano())
	n, err := w.f.Write(b)
	w.since.Store(0)
	if err != nil && w.stalled.Load() {
		// Part of a message may be in the pipe: the stream cannot go on.
		err = fmt.Errorf("the plugin has not read its input for %s", w.limit)
	}
	return n, err
}

// close stops watching w; the process has ended.
func (w *stallWriter) close() { stallWatch.remove(w) }

// stallWatch checks every stdio plugin's input once a second, from one
// goroutine that runs while there are any.
var stallWatch watch

type watch struct {
	mu      sync.Mutex
	writers map[*stallWriter]bool
	running bool
}

func (w *watch) add(sw *stallWriter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.writers == nil {
		w.writers = map[*stallWriter]bool{}
	}
	w.writers[sw] = true
	if !w.running {
		w.running = true
		go w.run()
	}
}

func (w *watch) remove(sw *stallWriter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.writers, sw)
}

func (w *watch) run() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for range t.C {
		now := time.Now().UnixNano()
		w.mu.Lock()
		if len(w.writers) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		var stalled []*stallWriter
		for sw := range w.writers {
			if since := sw.since.Load(); since != 0 && now-since > int64(sw.limit) {
				sw.stalled.Store(true)
				stalled = append(stalled, sw)
				delete(w.writers, sw)
			}
		}
		w.mu.Unlock()
		for _, sw := range stalled {
			sw.onStall()
			sw.f.Close() // ends the blocked write
		}
	}
}
