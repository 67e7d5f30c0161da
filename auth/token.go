package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// tokenPrefix starts every token, so a leaked one is easy to recognize in
// logs and by secret scanners.
const tokenPrefix = "gat_"

// tokenBytes is the token's entropy: 256 bits.
const tokenBytes = 32

// TokenHash is the SHA-256 of a token, which is all the store and the cache
// keep.
type TokenHash [sha256.Size]byte

// NewToken returns a fresh random token and its hash.
func NewToken() (string, TokenHash) {
	b := make([]byte, tokenBytes)
	rand.Read(b)
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, HashToken(tok)
}

// HashToken returns the hash of tok.
func HashToken(tok string) TokenHash { return sha256.Sum256([]byte(tok)) }

// wellFormed reports whether tok has the shape NewToken gives, so garbage
// costs no store read.
func wellFormed(tok string) bool {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}
