package jsonvalid

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

// nest returns inner wrapped in n levels of open and close.
func nest(open, inner, close string, n int) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

var cases = []string{
	// Empty input and whitespace.
	"", " ", " \t\r\n", "\f1", "1\f", "\v1", "\u00a01", " 1 ", "\t\r\n[\n1\r]\t",
	// Top-level scalars and trailing garbage.
	"0", "-0", "1", "-1", "123", "true", "false", "null", `""`, `"a"`,
	"1 2", "true false", "nullx", "truex", "1true", "[]]", "{}}", "[] []", "1,", "\x00",
	"tru", "fals", "nul", "True", "NULL", "t", "f", "n",
	// Numbers.
	"01", "-01", "00", "-", "--1", "+1", "1.", "1.5", "-1.5", ".5", "1.e5", "1e", "1e+", "1e-",
	"1e5", "1E5", "1e+5", "1e-05", "1.5e", "0.0", "-0.0e-0", "0x10", "1e5.5", "1.2.3", "1ee5",
	"Infinity", "NaN", "12345678901234567890123456789", "[-]", "[01]", "[1.]", "{\"a\":-}",
	// Arrays and objects.
	"[", "]", "[]", "[ ]", "[1]", "[1,2]", "[1,]", "[,1]", "[,]", "[1 2]", "[1,,2]",
	"{", "}", "{}", "{ }", `{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a" 1}`,
	`{"a"}`, `{"a":}`, `{1:2}`, `{a:1}`, `{"a":1,"b":[{"c":null}]}`, `{"a"::1}`, `{"a":1:2}`,
	`[}`, `{]`, `[{]}`, `{"a":[}`, `[{"a":1},{"b":2}]`, `{"":""}`, `{"a":1,"a":2}`,
	// Strings and escapes.
	`"`, `"abc`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\x"`, `"\a"`, `"\'"`, `"\u"`, `"\u12"`,
	`"\u123"`, `"\u1234"`, `"\uABCD"`, `"\uabcd"`, `"\u12G4"`, `"\uD800"`, `"\uDC00\uD800"`,
	`"\U1234"`, `"\u00"`, "\"\t\"", "\"\n\"", "\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\" \"",
	"\"\xff\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "\"héllo, 世界\"", "\xff", "[\"\xfe\"]",
	`"0123456789abcdef\"0123456789"`, `"0123456789abcdef\\"`, "\"0123456789\x01abcdef\"",
	`"0123456789abcdefg`, `"01234567\`, `"0123456`, "\"abcdefgh\xa0\x9f\x80\x81xyz\"",
	// Deep nesting, balanced and not, at and beyond encoding/json's limit.
	nest("[", "", "]", maxDepth),
	nest("[", "", "]", maxDepth+1),
	nest("[", "[1,{}]", "]", maxDepth-1),
	nest("[", "[1,{\"a\":[]}]", "]", maxDepth-1),
	nest("{\"a\":", "{}", "}", maxDepth-1),
	nest("{\"a\":", "{\"b\":[]}", "}", maxDepth-1),
	nest("{\"a\":", "1", "}", maxDepth),
	nest("[{\"k\":", "0", "}]", maxDepth/2),
	nest("[{\"k\":", "[]", "}]", maxDepth/2),
	nest("[", "", "]", 100000),
	nest("[", "", "]", 1000000),
	nest("{\"a\":", "1", "}", 100000),
	strings.Repeat("[", 100000),
	strings.Repeat("[", maxDepth),
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth-1),
	strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth),
	nest("[", "", "]", 100) + "]",
	strings.Repeat("[", 100) + strings.Repeat("}", 100),
	nest("[{\"k\":", "1", "}]", 40),
}

func TestValid(t *testing.T) {
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			name := c
			if len(name) > 40 {
				name = name[:40] + "..."
			}
			t.Errorf("Valid(%q) = %v, encoding/json.Valid = %v", name, got, want)
		}
	}
}

func TestSpecial(t *testing.T) {
	// Words mixing stop bytes with bytes adjacent to them and high bytes.
	alphabet := []byte{0, 1, 0x1f, 0x20, 0x21, '"', '#', '[', '\\', ']', 'a', 0x7f, 0x80, 0x9f, 0xa0, 0xa2, 0xdc, 0xff}
	r := rand.New(rand.NewPCG(1, 2))
	var w [8]byte
	for range 200000 {
		first := 8
		for j := range w {
			w[j] = alphabet[r.IntN(len(alphabet))]
			if first == 8 && (w[j] < 0x20 || w[j] == '"' || w[j] == '\\') {
				first = j
			}
		}
		if got := bits.TrailingZeros64(special(binary.LittleEndian.Uint64(w[:]))) / 8; got != first {
			t.Fatalf("special(%q) locates byte %d, want %d", w, got, first)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{nest("[", "", "]", maxDepth), true},
		{nest("[", "", "]", maxDepth+1), false},
		{nest("{\"a\":", "[]", "}", maxDepth-1), true},
		{nest("{\"a\":", "[]", "}", maxDepth), false},
	} {
		if got := Valid([]byte(tc.in)); got != tc.want {
			t.Errorf("Valid(%.20q...) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestLSPDocuments(t *testing.T) {
	for _, doc := range [][]byte{params, completion(3), completion(80)} {
		if !Valid(doc) || !json.Valid(doc) {
			t.Errorf("document rejected: %.80s", doc)
		}
		if len(doc) > 2000 {
			continue
		}
		// Every proper prefix of a JSON object is invalid.
		for i := range len(doc) {
			if got, want := Valid(doc[:i]), json.Valid(doc[:i]); got != want {
				t.Fatalf("prefix %d: Valid = %v, encoding/json.Valid = %v", i, got, want)
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	doc := completion(40) // about 10 KB
	if len(doc) < 9000 {
		t.Fatalf("document is only %d bytes", len(doc))
	}
	if n := testing.AllocsPerRun(100, func() { Valid(doc) }); n != 0 {
		t.Errorf("Valid allocates %v times per call", n)
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range cases {
		if len(c) <= 1000 {
			f.Add([]byte(c))
		}
	}
	f.Add(params)
	f.Add(completion(2))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json.Valid = %v", b, got, want)
		}
	})
}

// params is an LSP textDocument/completion params object.
var params = []byte(`{"textDocument":{"uri":"file:///home/user/src/gathering/internal/server/handler.go"},` +
	`"position":{"line":128,"character":17},"context":{"triggerKind":2,"triggerCharacter":"."},` +
	`"workDoneToken":"wd-7f3a"}`)

// completion returns an LSP CompletionList with n items.
func completion(n int) []byte {
	type pos struct {
		Line      int `json:"line"`
		Character int `json:"character"`
	}
	type item struct {
		Label         string `json:"label"`
		Kind          int    `json:"kind"`
		Detail        string `json:"detail"`
		Documentation struct {
			Kind  string `json:"kind"`
			Value string `json:"value"`
		} `json:"documentation"`
		SortText string `json:"sortText"`
		TextEdit struct {
			Range struct {
				Start pos `json:"start"`
				End   pos `json:"end"`
			} `json:"range"`
			NewText string `json:"newText"`
		} `json:"textEdit"`
	}
	list := struct {
		IsIncomplete bool   `json:"isIncomplete"`
		Items        []item `json:"items"`
	}{Items: make([]item, n)}
	for i := range list.Items {
		it := &list.Items[i]
		name := fmt.Sprintf("Handle%d", i)
		it.Label = name
		it.Kind = 2 + i%3
		it.Detail = "func(ctx) error"
		it.Documentation.Kind = "markdown"
		it.Documentation.Value = fmt.Sprintf("Serves \"%d\".\n```go\nf(C:\\x)\n```", i)
		it.SortText = fmt.Sprintf("%05d", i)
		it.TextEdit.Range.Start = pos{128, 13}
		it.TextEdit.Range.End = pos{128, 17}
		it.TextEdit.NewText = name
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err)
	}
	return b
}

func BenchmarkValid(b *testing.B) {
	inputs := []struct {
		name string
		doc  []byte
	}{
		{"params", params},
		{"completion", completion(80)},
	}
	impls := []struct {
		name  string
		valid func([]byte) bool
	}{
		{"jsonvalid", Valid},
		{"encoding_json", json.Valid},
	}
	for _, in := range inputs {
		for _, impl := range impls {
			b.Run(in.name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(in.doc)))
				b.ReportAllocs()
				for b.Loop() {
					if !impl.valid(in.doc) {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}
