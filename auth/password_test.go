package auth

import (
	"strings"
	"testing"
)

// The dummy hash must cost what a real one does, so its parameters must be
// HashPassword's, and it must decode.
func TestDummyHashMatchesHashParameters(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	params := func(s string) string { return s[:strings.LastIndex(s[:strings.LastIndex(s, "$")], "$")] }
	if params(h) != params(dummyHash) {
		t.Errorf("dummy hash parameters %q, HashPassword's %q", params(dummyHash), params(h))
	}
	if _, _, _, _, _, err := decodeHash(dummyHash); err != nil {
		t.Errorf("dummy hash does not decode: %v", err)
	}
	if VerifyPassword(dummyHash, "anything at all") {
		t.Error("a password matched the dummy hash")
	}
}
