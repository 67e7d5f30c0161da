package rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"runtime"
	"testing"

	"github.com/gathering-dev/gathering/internal/lspframe"
)

// FuzzReadObject feeds arbitrary bytes to the framing codec: it must never
// panic, must end (every read consumes input or fails), and must not
// allocate in proportion to a Content-Length it refuses.
func FuzzReadObject(f *testing.F) {
	for _, seed := range []string{
		"Content-Length: 2\r\n\r\n{}",
		"Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}",
		"content-length: 9999999999\r\n\r\n{\"id\":7,",
		"Content-Length: 5\r\n\r\n[1,2]",
		"Content-Length: -1\r\n\r\n",
		"Content-Type: x\r\nContent-Length: 3\r\n\r\nnul",
		"\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	const max = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &codec{max: max}
		r := bufio.NewReader(bytes.NewReader(data))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("%d reads of %d bytes without an end", i, len(data))
			}
			var msg struct {
				Method string          `json:"method"`
				ID     json.RawMessage `json:"id"`
				Params json.RawMessage `json:"params"`
			}
			if err := c.ReadObject(r, &msg); err != nil {
				break
			}
			if rej := c.take(); rej != nil && rej.err == nil {
				t.Fatal("a rejection without an error")
			}
		}
		runtime.ReadMemStats(&after)
		// Bodies up to max are read whole; larger ones are skipped after a
		// small prefix. 64 KiB of slack covers decoding and the reader.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(64<<10+16*len(data)) {
			t.Errorf("reading %d bytes allocated %d bytes", len(data), grew)
		}
	})
}

// FuzzHeader checks that the usual header, read at once, gives what the
// line-by-line reading gives it: the same length, or the same refusal of
// 0, and the body starting at the same byte.
func FuzzHeader(f *testing.F) {
	for _, seed := range []string{
		"Content-Length: 2\r\n\r\n{}",
		"Content-Length: 0\r\n\r\n",
		"Content-Length: 007\r\n\r\nabcdefg",
		"Content-Length: 2\r\nX: y\r\n\r\n{}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast := bufio.NewReader(bytes.NewReader(data))
		n, ok := lspframe.ReadHeader(fast)
		if !ok {
			return
		}
		lines := bufio.NewReader(bytes.NewReader(data))
		m, err := readHeaderLines(lines)
		if n == 0 {
			if err == nil {
				t.Fatalf("%q: the lines accept a length of 0", data)
			}
			return
		}
		if err != nil || m != n {
			t.Fatalf("%q: at once %d; by lines %d, %v", data, n, m, err)
		}
		if fast.Buffered() != lines.Buffered() {
			t.Fatalf("%q: the body starts %d bytes from the end at once, %d by lines", data, fast.Buffered(), lines.Buffered())
		}
	})
}
