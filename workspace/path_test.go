package workspace

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	for _, test := range []struct {
		path, want string
	}{
		{"a", "a"},
		{"./a", "a"},
		{"a//b/", "a/b"},
		{"a/./b", "a/b"},
		{"a/../b", "b"},
		{"a/..", "."},
		{".", "."},
		{"..a/b..", "..a/b.."},
		{"...", "..."},
		{"a b/ç.txt", "a b/ç.txt"},
		{"C", "C"},
		{"dir/C:x", "dir/C:x"},       // a colon past the first element is only a name
		{"100%25.txt", "100%25.txt"}, // decodes to "100%.txt": harmless
		{"a%20b", "a%20b"},           // decodes to "a b": harmless
		{"%zz", "%zz"},               // not an escape at all
		{"%2e%2ex", "%2e%2ex"},       // decodes to "..x", a name, not a parent
		{strings.Repeat("a/", MaxPathLen/2-1) + "b", strings.Repeat("a/", MaxPathLen/2-1) + "b"},
	} {
		got, err := CleanPath(test.path)
		if err != nil || got != test.want {
			t.Errorf("CleanPath(%q) = %q, %v, want %q, nil", test.path, got, err, test.want)
		}
	}
}

func TestCleanPathRefuses(t *testing.T) {
	for _, test := range []struct {
		path   string
		want   error
		reason string // part of the message
	}{
		{"", ErrInvalidPath, "empty"},
		{strings.Repeat("a", MaxPathLen+1), ErrInvalidPath, "limit of 4096"},
		{"a\x00b", ErrInvalidPath, "NUL"},
		{`..\..\x`, ErrInvalidPath, "backslash"},
		{`C:\x`, ErrInvalidPath, "backslash"},
		{`\\server\share`, ErrInvalidPath, "backslash"},
		{"a%2fb", ErrInvalidPath, "separator"},
		{"a%5Cb", ErrInvalidPath, "separator"},
		{"a%00b", ErrInvalidPath, "NUL"},
		{"sub/%2e/x", ErrInvalidPath, `"."`},
		{"%25" + strings.Repeat("25", maxDecodeRounds) + "2e", ErrInvalidPath, "more than"},
		{"/etc/passwd", ErrPathEscapes, "absolute"},
		{"//server/share", ErrPathEscapes, "absolute"},
		{"C:/x", ErrPathEscapes, "drive letter"},
		{"c:x", ErrPathEscapes, "drive letter"},
		{"..", ErrPathEscapes, "climbs"},
		{"../x", ErrPathEscapes, "climbs"},
		{"a/../../x", ErrPathEscapes, "climbs"},
		{"%2e%2e/x", ErrPathEscapes, "percent-encoded"},
		{"%2E%2e/x", ErrPathEscapes, "percent-encoded"},
		{".%2E/x", ErrPathEscapes, "percent-encoded"},
		{"a/%2e%2e/b", ErrPathEscapes, "percent-encoded"},
		{"%252e%252e/x", ErrPathEscapes, "percent-encoded"},
		{"%252E%252e/x", ErrPathEscapes, "percent-encoded"},
		{"%25252e%25252e/x", ErrPathEscapes, "percent-encoded"},
		{"%2e%2e%2fx", ErrPathEscapes, "percent-encoded"},
		{"x%2f%2e%2e", ErrPathEscapes, "percent-encoded"},
	} {
		got, err := CleanPath(test.path)
		if !isOnly(err, test.want) || got != "" {
			t.Errorf("CleanPath(%q) = %q, %v, want error wrapping %v", test.path, got, err, test.want)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, test.reason) {
			t.Errorf("CleanPath(%q) error %q does not say %q", test.path, msg, test.reason)
		}
	}
}

// isOnly reports whether err wraps want and not the other path sentinel, so a
// test tells an escape from a malformed path.
func isOnly(err, want error) bool {
	other := ErrPathEscapes
	if want == ErrPathEscapes {
		other = ErrInvalidPath
	}
	return errors.Is(err, want) && !errors.Is(err, other)
}

func TestPathErrorShortensLongPaths(t *testing.T) {
	_, err := CleanPath(strings.Repeat("x", 10*MaxPathLen))
	if err == nil {
		t.Fatal("CleanPath(40 KiB) = nil error, want ErrInvalidPath")
	}
	if len(err.Error()) > 300 {
		t.Errorf("CleanPath(40 KiB) error = %q (%d bytes), want an error of at most 300 bytes", err, len(err.Error()))
	}
}
