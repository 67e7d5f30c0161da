package position

import "testing"

func TestColumnAndUnits(t *testing.T) {
	s := "aé😀b\xffc" // 1, 2, 4, 1 bytes, an invalid byte, 1
	for _, test := range []struct {
		enc       Encoding
		character uint32
		col       int
	}{
		{UTF16, 0, 0}, {UTF16, 1, 1}, {UTF16, 2, 3},
		{UTF16, 3, 3}, // inside the surrogate pair: rounded down
		{UTF16, 4, 7}, {UTF16, 5, 8}, {UTF16, 6, 9}, {UTF16, 99, 10},
		{UTF32, 3, 7}, {UTF32, 5, 9},
		{UTF8, 2, 1}, // inside é: rounded down
		{UTF8, 7, 7}, {UTF8, 99, 10},
	} {
		if got := Column(test.enc, s, test.character); got != test.col {
			t.Errorf("Column(%d, %d) = %d, want %d", test.enc, test.character, got, test.col)
		}
	}
	for _, test := range []struct {
		enc   Encoding
		col   int
		units int
	}{
		{UTF16, 3, 2}, {UTF16, 7, 4}, {UTF16, 5, 2}, {UTF16, 10, 7},
		{UTF32, 7, 3}, {UTF32, 10, 6},
		{UTF8, 2, 1}, {UTF8, 10, 10},
	} {
		if got := Units(test.enc, s, test.col); got != test.units {
			t.Errorf("Units(%d, %d) = %d, want %d", test.enc, test.col, got, test.units)
		}
	}
}
