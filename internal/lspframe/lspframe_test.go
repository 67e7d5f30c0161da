package lspframe

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestParseLength(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int64
		good bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"999999999999999999", 999999999999999999, true},
		{"1000000000000000000", 0, false}, // 19 digits
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1x", 0, false},
		{" 1", 0, false},
	} {
		if n, ok := ParseLength([]byte(c.in)); n != c.n || ok != c.good {
			t.Errorf("ParseLength(%q) = %d, %v; want %d, %v", c.in, n, ok, c.n, c.good)
		}
	}
}

func TestAppendHeader(t *testing.T) {
	if got := string(AppendHeader([]byte("x"), 123)); got != "xContent-Length: 123\r\n\r\n" {
		t.Errorf("AppendHeader = %q", got)
	}
}

func TestCutHeader(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int64
		size int
		good bool
	}{
		{"Content-Length: 42\r\n\r\n{", 42, 22, true},
		{"Content-Length: 0\r\n\r\n", 0, 21, true},
		{"Content-Length: 42\r\n\r", 0, 0, false},                      // not whole yet
		{"Content-Length: 42\r\nContent-Type: x\r\n\r\n", 0, 0, false}, // another header
		{"content-length: 42\r\n\r\n", 0, 0, false},                    // another spelling
		{"Content-Length:42\r\n\r\n", 0, 0, false},
		{"Content-Length: 4 2\r\n\r\n", 0, 0, false},
		{"Content-Length: \r\n\r\n", 0, 0, false},
		{"Content-Length: 1000000000000000000\r\n\r\n", 0, 0, false}, // 19 digits
		{"Content-Length: 42\n\n", 0, 0, false},
		{"", 0, 0, false},
	} {
		n, size, ok := CutHeader([]byte(c.in))
		if n != c.n || size != c.size || ok != c.good {
			t.Errorf("CutHeader(%q) = %d, %d, %v; want %d, %d, %v", c.in, n, size, ok, c.n, c.size, c.good)
		}
	}
}

// ReadHeader takes the usual header whole from the buffer, and leaves
// anything else, even the usual header split across reads, unread.
func TestReadHeader(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("Content-Length: 2\r\n\r\n{}Content-Length: 3\r\nX: y\r\n\r\n"))
	if n, ok := ReadHeader(r); !ok || n != 2 {
		t.Fatalf("first header: %d, %v", n, ok)
	}
	if body, _ := r.Peek(2); string(body) != "{}" {
		t.Fatalf("after the header: %q", body)
	}
	r.Discard(2)
	if _, ok := ReadHeader(r); ok {
		t.Fatal("read a header with another line")
	}
	if line, _ := r.ReadString('\n'); line != "Content-Length: 3\r\n" {
		t.Fatalf("refused header was consumed: next line %q", line)
	}

	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("Content-Length: 2\r\n"))
		pw.Write([]byte("\r\n{}"))
		pw.Close()
	}()
	r = bufio.NewReader(pr)
	if _, ok := ReadHeader(r); ok {
		t.Fatal("read a header not yet whole")
	}
	if line, _ := r.ReadString('\n'); line != "Content-Length: 2\r\n" {
		t.Fatalf("split header was consumed: next line %q", line)
	}
	if _, ok := ReadHeader(bufio.NewReader(strings.NewReader(""))); ok {
		t.Fatal("read a header at the end of the stream")
	}
}

func TestAppendFrame(t *testing.T) {
	if got := string(AppendFrame([]byte("x"), []byte("{}"))); got != "xContent-Length: 2\r\n\r\n{}" {
		t.Errorf("AppendFrame = %q", got)
	}
}
