package lspframe

import "testing"

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
