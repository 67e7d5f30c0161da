package manifest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// signedPrefix is prepended to the manifest's exact bytes before signing, so
// a manifest signature cannot be replayed as a signature over anything else.
const signedPrefix = "ide-plugin-manifest/v1\n"

// KeyID returns the id of a public key: the hex of the first 8 bytes of its
// SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// EncodePrivateKey returns the key-file form of priv: its base64 seed and a newline.
func EncodePrivateKey(priv ed25519.PrivateKey) []byte {
	return []byte(base64.StdEncoding.EncodeToString(priv.Seed()) + "\n")
}

// DecodePrivateKey reads what [EncodePrivateKey] wrote.
func DecodePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("not an ed25519 private key file (want one line of base64 of a 32-byte seed)")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// EncodePublicKey returns pub in base64, the form trust files use.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// DecodePublicKey reads what [EncodePublicKey] wrote.
func DecodePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("not an ed25519 public key (want base64 of 32 bytes)")
	}
	return ed25519.PublicKey(b), nil
}

// Signature is the content of plugin.toml.sig.
type Signature struct {
	KeyID string `toml:"key_id"`
	// Alg is always "ed25519".
	Alg string `toml:"alg"`
	// Sig is the base64 Ed25519 signature over "ide-plugin-manifest/v1\n"
	// followed by the manifest's exact bytes.
	Sig string `toml:"sig"`
}

// Sign signs a manifest's exact bytes and returns the content of plugin.toml.sig.
func Sign(priv ed25519.PrivateKey, manifest []byte) []byte {
	sig := ed25519.Sign(priv, signedMessage(manifest))
	return fmt.Appendf(nil, "key_id = %q\nalg = \"ed25519\"\nsig = %q\n",
		KeyID(priv.Public().(ed25519.PublicKey)), base64.StdEncoding.EncodeToString(sig))
}

func signedMessage(manifest []byte) []byte {
	return append([]byte(signedPrefix), manifest...)
}

// ParseSignature decodes plugin.toml.sig strictly.
func ParseSignature(data []byte) (*Signature, error) {
	if len(data) > MaxSignatureSize {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit", len(data), MaxSignatureSize)
	}
	var s Signature
	if err := decodeStrict(data, &s); err != nil {
		return nil, err
	}
	if s.Alg != "ed25519" {
		return nil, fmt.Errorf("alg %q is not ed25519", s.Alg)
	}
	return &s, nil
}

// Trust is the host's trust configuration: the keys whose signatures it
// accepts and for which publishers. In TOML:
//
//	[[trusted_key]]
//	id = "0123456789abcdef"          # KeyID of the public key
//	ed25519 = "base64 public key"
//	publishers = ["acme"]
//	revoked = false
//
// A Trust is read-only after [ParseTrust] and safe for concurrent use. A nil
// *Trust trusts no key.
type Trust struct {
	Keys []TrustedKey `toml:"trusted_key"`
}

// TrustedKey is one key of a [Trust].
type TrustedKey struct {
	ID         string   `toml:"id"`
	PublicKey  string   `toml:"ed25519"`
	Publishers []string `toml:"publishers"`
	// Revoked keys are kept so that their signatures are refused by name.
	Revoked bool `toml:"revoked"`

	pub ed25519.PublicKey
}

// ParseTrust decodes and checks a trust file: unknown keys are errors, each
// id must be the [KeyID] of its public key and appear once, and each key
// names at least one valid publisher.
func ParseTrust(data []byte) (*Trust, error) {
	var t Trust
	if err := decodeStrict(data, &t); err != nil {
		return nil, fmt.Errorf("parse trust: %w", err)
	}
	for i := range t.Keys {
		k := &t.Keys[i]
		pub, err := DecodePublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("trusted_key[%d]: %w", i, err)
		}
		if id := KeyID(pub); k.ID != id {
			return nil, fmt.Errorf("trusted_key[%d]: id %q does not match its key, whose id is %q", i, k.ID, id)
		}
		if slices.ContainsFunc(t.Keys[:i], func(o TrustedKey) bool { return o.ID == k.ID }) {
			return nil, fmt.Errorf("trusted_key[%d]: id %q is listed twice", i, k.ID)
		}
		if len(k.Publishers) == 0 {
			return nil, fmt.Errorf("trusted_key[%d]: publishers is empty", i)
		}
		for _, p := range k.Publishers {
			if !publisherRE().MatchString(p) {
				return nil, fmt.Errorf("trusted_key[%d]: publisher %q does not match %s", i, p, publisherRE())
			}
		}
		k.pub = pub
	}
	return &t, nil
}

// LoadTrust reads a trust file with [ParseTrust]. The file decides whose
// code runs, so it is held to the rule plugin directories are: a regular
// file owned by root or this user, not writable by group or others.
func LoadTrust(name string) (*Trust, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkInfo(fi); err != nil {
		return nil, fmt.Errorf("trust file %s: %w", name, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("trust file %s is over 1 MiB", name)
	}
	return ParseTrust(data)
}

// key returns the trusted key with id, or nil.
func (t *Trust) key(id string) *TrustedKey {
	if t == nil {
		return nil
	}
	for i := range t.Keys {
		if t.Keys[i].ID == id && t.Keys[i].pub != nil {
			return &t.Keys[i]
		}
	}
	return nil
}
