package manifest

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyEncoding(t *testing.T) {
	priv := newKey(t)
	got, err := DecodePrivateKey(EncodePrivateKey(priv))
	if err != nil || !got.Equal(priv) {
		t.Errorf("DecodePrivateKey(EncodePrivateKey(k)) = %v, %v; want k", got, err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	if got, err := DecodePublicKey(EncodePublicKey(pub)); err != nil || !got.Equal(pub) {
		t.Errorf("DecodePublicKey(EncodePublicKey(k)) = %v, %v; want k", got, err)
	}
	if id := KeyID(pub); len(id) != 16 {
		t.Errorf("KeyID = %q, want 16 hex digits", id)
	}
	for _, bad := range []string{"", "!!", "c2hvcnQ="} {
		if _, err := DecodePrivateKey([]byte(bad)); err == nil {
			t.Errorf("DecodePrivateKey(%q) succeeded", bad)
		}
		if _, err := DecodePublicKey(bad); err == nil {
			t.Errorf("DecodePublicKey(%q) succeeded", bad)
		}
	}
}

func TestParseSignature(t *testing.T) {
	priv := newKey(t)
	s, err := ParseSignature(Sign(priv, []byte("schema = 1\n")))
	if err != nil || s.KeyID != KeyID(priv.Public().(ed25519.PublicKey)) || s.Alg != "ed25519" {
		t.Fatalf("ParseSignature(Sign) = %+v, %v", s, err)
	}
	if _, err := ParseSignature([]byte(strings.Repeat("#", MaxSignatureSize+1))); err == nil {
		t.Error("ParseSignature of an oversized file succeeded")
	}
}

func TestParseTrust(t *testing.T) {
	a, b := newKey(t), newKey(t)
	ka, kb := trustedKey(a, false, "acme"), trustedKey(b, true, "beta")
	entry := func(id, key, publishers string) string {
		return "[[trusted_key]]\nid = \"" + id + "\"\ned25519 = \"" + key + "\"\npublishers = [" + publishers + "]\n"
	}
	good := entry(ka.ID, ka.PublicKey, `"acme"`) + entry(kb.ID, kb.PublicKey, `"beta", "gamma"`) + "revoked = true\n"
	tr, err := ParseTrust([]byte(good))
	if err != nil {
		t.Fatalf("ParseTrust = %v", err)
	}
	if k := tr.key(kb.ID); k == nil || !k.Revoked || len(k.Publishers) != 2 || tr.key("nope") != nil {
		t.Errorf("ParseTrust keys = %+v", tr.Keys)
	}

	for _, test := range []struct{ name, text, want string }{
		{"id mismatch", entry(kb.ID, ka.PublicKey, `"acme"`), "does not match its key"},
		{"bad key", entry(ka.ID, "abc", `"acme"`), "not an ed25519 public key"},
		{"duplicate", entry(ka.ID, ka.PublicKey, `"acme"`) + entry(ka.ID, ka.PublicKey, `"acme"`), "listed twice"},
		{"no publishers", entry(ka.ID, ka.PublicKey, ``), "publishers is empty"},
		{"bad publisher", entry(ka.ID, ka.PublicKey, `"Acme Inc"`), "publisher"},
		{"unknown key", entry(ka.ID, ka.PublicKey, `"acme"`) + "not_after = 2030-01-01\n", "unknown keys"},
		{"bad toml", "[[trusted_key]\n", "parse trust"},
	} {
		t.Run(test.name, func(t *testing.T) {
			if _, err := ParseTrust([]byte(test.text)); err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("ParseTrust = %v, want an error with %q", err, test.want)
			}
		})
	}

	name := filepath.Join(t.TempDir(), "trust.toml")
	if err := os.WriteFile(name, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if tr, err := LoadTrust(name); err != nil || len(tr.Keys) != 2 {
		t.Errorf("LoadTrust = %v, %v", tr, err)
	}
	if _, err := LoadTrust(name + ".missing"); err == nil {
		t.Error("LoadTrust of a missing file succeeded")
	}
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func trustedKey(priv ed25519.PrivateKey, revoked bool, publishers ...string) TrustedKey {
	pub := priv.Public().(ed25519.PublicKey)
	return TrustedKey{ID: KeyID(pub), PublicKey: EncodePublicKey(pub), Publishers: publishers, Revoked: revoked}
}

// newTrust builds a Trust through ParseTrust's checks.
func newTrust(t *testing.T, keys ...TrustedKey) *Trust {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("[[trusted_key]]\nid = \"" + k.ID + "\"\ned25519 = \"" + k.PublicKey + "\"\npublishers = [\"" + strings.Join(k.Publishers, `", "`) + "\"]\n")
		if k.Revoked {
			b.WriteString("revoked = true\n")
		}
	}
	tr, err := ParseTrust([]byte(b.String()))
	if err != nil {
		t.Fatalf("ParseTrust: %v\n%s", err, b.String())
	}
	return tr
}

// TestLoadTrustRefusesAWritableFile: anyone who can write the trust file
// can make their own key trusted, so a group- or world-writable one is
// refused, as a plugin directory would be.
func TestLoadTrustRefusesAWritableFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "trust.toml")
	if err := os.WriteFile(name, []byte("# no keys yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTrust(name); err != nil {
		t.Fatalf("LoadTrust(0644) = %v", err)
	}
	if err := os.Chmod(name, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTrust(name); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Errorf("LoadTrust(0666) = %v, want a refusal naming the mode", err)
	}
}
