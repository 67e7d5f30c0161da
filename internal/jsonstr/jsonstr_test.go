package jsonstr

import (
	"encoding/json"
	"testing"
)

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "textDocument/hover", "file:///a%20b.go", `q"uote`, `back\slash`, "<&>", "tab\t", "é", "\xff", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := Append([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("Append(%q) = %s, want x%s", s, got, want)
		}
	})
}

func TestAppendAllocatesNothingForPlainStrings(t *testing.T) {
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { Append(buf[:0], "file:///home/u/main.go") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
