//go:build unix

package manifest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// testBundle is a signed plugin directory under an allowed root, and the
// keys and options that verify it.
type testBundle struct {
	root, dir string
	binary    []byte
	manifest  []byte
	key       ed25519.PrivateKey
	opts      *Options
}

func write(t *testing.T, name string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

// setup writes a valid plugin signed by a key trusted for "acme".
func setup(t *testing.T) *testBundle {
	t.Helper()
	b := &testBundle{root: filepath.Join(t.TempDir(), "plugins"), binary: []byte("#!/bin/false\nnot really a plugin\n"), key: newKey(t)}
	b.dir = filepath.Join(b.root, "demo")
	sum := sha256.Sum256(b.binary)
	write(t, filepath.Join(b.dir, "bin", "demo"), b.binary, 0o755)
	b.writeManifest(t, []byte(manifestText(hex.EncodeToString(sum[:]), int64(len(b.binary)), runtime.GOOS, runtime.GOARCH)), b.key)
	b.opts = &Options{Roots: []string{b.root}, Trust: newTrust(t, trustedKey(b.key, false, "acme"))}
	return b
}

// writeManifest writes the manifest and, unless priv is nil, its signature.
func (b *testBundle) writeManifest(t *testing.T, manifest []byte, priv ed25519.PrivateKey) {
	t.Helper()
	b.manifest = manifest
	write(t, filepath.Join(b.dir, ManifestFile), manifest, 0o644)
	if priv != nil {
		write(t, filepath.Join(b.dir, SignatureFile), Sign(priv, manifest), 0o644)
	}
}

func TestVerifySigned(t *testing.T) {
	b := setup(t)
	p, err := Verify(b.dir, b.opts)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	defer p.Close()
	if p.KeyID != KeyID(b.key.Public().(ed25519.PublicKey)) || p.Manifest.Name != "demo" || p.Binary.Path != "bin/demo" || len(p.Warnings) != 0 {
		t.Errorf("Verify = key %q, name %q, binary %q, warnings %q", p.KeyID, p.Manifest.Name, p.Binary.Path, p.Warnings)
	}
	if sum := sha256.Sum256(b.manifest); p.ManifestSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("ManifestSHA256 = %s, want %x", p.ManifestSHA256, sum)
	}
	var buf bytes.Buffer
	if n, err := p.CopyBinary(&buf); err != nil || n != int64(len(b.binary)) || !bytes.Equal(buf.Bytes(), b.binary) {
		t.Errorf("CopyBinary = %d, %v; copied %q, want %q", n, err, buf.Bytes(), b.binary)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := p.CopyBinary(&buf); err == nil {
		t.Error("CopyBinary after Close succeeded")
	}
}

func TestVerifyUnsignedDevOverride(t *testing.T) {
	b := setup(t)
	if err := os.Remove(filepath.Join(b.dir, SignatureFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(b.dir, b.opts); !isStep(err, StepSignature) || !strings.Contains(err.Error(), "dev override") {
		t.Fatalf("Verify unsigned without override = %v, want a signature refusal", err)
	}
	for _, dev := range []string{b.dir, b.root} {
		p, err := Verify(b.dir, &Options{DevOverrides: []string{dev}})
		if err != nil {
			t.Fatalf("Verify with dev override %s = %v", dev, err)
		}
		if p.KeyID != "" || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "unsigned") {
			t.Errorf("dev override: key %q, warnings %q, want an unsigned warning", p.KeyID, p.Warnings)
		}
		p.Close()
	}
}

func TestVerifyNetworkAnyWarns(t *testing.T) {
	b := setup(t)
	b.writeManifest(t, bytes.Replace(b.manifest, []byte(`network = "none"`), []byte(`network = "any"`), 1), b.key)
	p, err := Verify(b.dir, b.opts)
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	defer p.Close()
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "network") {
		t.Errorf("Warnings = %q, want one about the network", p.Warnings)
	}
}

func isStep(err error, step Step) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Step == step
}

func TestVerifyRefusals(t *testing.T) {
	for _, test := range []struct {
		name  string
		setup func(t *testing.T, b *testBundle)
		step  Step
		want  string
	}{
		{"not under a root", func(t *testing.T, b *testBundle) { b.opts.Roots = []string{t.TempDir()} }, StepLocation, "not under an allowed"},
		{"no roots", func(t *testing.T, b *testBundle) { b.opts = nil }, StepLocation, "not under an allowed"},
		{"missing dir", func(t *testing.T, b *testBundle) { b.dir += "-gone" }, StepLocation, "no such file"},
		{"sibling with root's prefix", func(t *testing.T, b *testBundle) {
			b.opts.Roots = []string{filepath.Join(b.root, "de")}
			if err := os.Mkdir(filepath.Join(b.root, "de"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, StepLocation, "not under an allowed"},
		{"group-writable root", func(t *testing.T, b *testBundle) { chmod(t, b.root, 0o775) }, StepOwnership, "group- or world-writable"},
		{"group-writable dir", func(t *testing.T, b *testBundle) { chmod(t, b.dir, 0o775) }, StepOwnership, "group- or world-writable"},
		{"world-writable manifest", func(t *testing.T, b *testBundle) { chmod(t, filepath.Join(b.dir, ManifestFile), 0o646) }, StepOwnership, ManifestFile},
		{"group-writable signature", func(t *testing.T, b *testBundle) { chmod(t, filepath.Join(b.dir, SignatureFile), 0o664) }, StepOwnership, SignatureFile},
		{"group-writable binary", func(t *testing.T, b *testBundle) { chmod(t, filepath.Join(b.dir, "bin", "demo"), 0o775) }, StepOwnership, "bin/demo"},
		{"group-writable binary dir", func(t *testing.T, b *testBundle) { chmod(t, filepath.Join(b.dir, "bin"), 0o775) }, StepOwnership, "bin"},
		{"symlinked manifest", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, "real.toml"), b.manifest, 0o644)
			replaceWithSymlink(t, "real.toml", filepath.Join(b.dir, ManifestFile))
		}, StepOwnership, "symlink"},
		{"manifest is a directory", func(t *testing.T, b *testBundle) {
			os.Remove(filepath.Join(b.dir, ManifestFile))
			if err := os.Mkdir(filepath.Join(b.dir, ManifestFile), 0o755); err != nil {
				t.Fatal(err)
			}
		}, StepManifest, "not a regular file"},
		{"manifest missing", func(t *testing.T, b *testBundle) { os.Remove(filepath.Join(b.dir, ManifestFile)) }, StepManifest, "no such file"},
		{"manifest too large", func(t *testing.T, b *testBundle) {
			b.writeManifest(t, append(b.manifest, "#"+strings.Repeat("x", MaxManifestSize)+"\n"...), b.key)
		}, StepManifest, "limit"},
		{"manifest changed after signing", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, ManifestFile), bytes.Replace(b.manifest, []byte(`network = "none"`), []byte(`network = "any"`), 1), 0o644)
		}, StepSignature, "does not match"},
		{"whitespace changed after signing", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, ManifestFile), append(b.manifest, '\n'), 0o644)
		}, StepSignature, "does not match"},
		{"untrusted key", func(t *testing.T, b *testBundle) { b.writeManifest(t, b.manifest, newKey(t)) }, StepSignature, "not trusted"},
		{"no trust", func(t *testing.T, b *testBundle) { b.opts.Trust = nil }, StepSignature, "not trusted"},
		{"revoked key", func(t *testing.T, b *testBundle) {
			b.opts.Trust = newTrust(t, trustedKey(b.key, true, "acme"))
		}, StepSignature, "revoked"},
		{"key for another publisher", func(t *testing.T, b *testBundle) {
			b.opts.Trust = newTrust(t, trustedKey(b.key, false, "other", "third"))
		}, StepPublisher, `not for publisher "acme"`},
		{"signature of another key id", func(t *testing.T, b *testBundle) {
			other := newKey(t)
			b.opts.Trust = newTrust(t, trustedKey(b.key, false, "acme"), trustedKey(other, false, "acme"))
			sig := Sign(other, b.manifest)
			sig = bytes.Replace(sig, []byte(KeyID(other.Public().(ed25519.PublicKey))), []byte(KeyID(b.key.Public().(ed25519.PublicKey))), 1)
			write(t, filepath.Join(b.dir, SignatureFile), sig, 0o644)
		}, StepSignature, "does not match"},
		{"signature not base64", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, SignatureFile), []byte("key_id = \""+KeyID(b.key.Public().(ed25519.PublicKey))+"\"\nalg = \"ed25519\"\nsig = \"!!\"\n"), 0o644)
		}, StepSignature, "base64"},
		{"signature alg", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, SignatureFile), bytes.Replace(Sign(b.key, b.manifest), []byte(`"ed25519"`), []byte(`"rsa"`), 1), 0o644)
		}, StepSignature, "not ed25519"},
		{"signature unknown key", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, SignatureFile), append(Sign(b.key, b.manifest), "comment = \"hi\"\n"...), 0o644)
		}, StepSignature, "unknown keys"},
		{"signed but invalid", func(t *testing.T, b *testBundle) {
			b.writeManifest(t, bytes.Replace(b.manifest, []byte(`name = "demo"`), []byte(`name = "Demo"`), 1), b.key)
		}, StepValidate, "name:"},
		{"signed but unknown key", func(t *testing.T, b *testBundle) {
			b.writeManifest(t, append(b.manifest, "\n[extras]\nx = 1\n"...), b.key)
		}, StepParse, "extras"},
		{"no binary for platform", func(t *testing.T, b *testBundle) { b.opts.GOOS = "plan9" }, StepBinary, "no [[binary]] for plan9/"},
		{"binary missing", func(t *testing.T, b *testBundle) { os.Remove(filepath.Join(b.dir, "bin", "demo")) }, StepBinary, "no such file"},
		{"binary symlink outside", func(t *testing.T, b *testBundle) {
			outside := filepath.Join(t.TempDir(), "evil")
			write(t, outside, b.binary, 0o755)
			replaceWithSymlink(t, outside, filepath.Join(b.dir, "bin", "demo"))
		}, StepBinary, "symlink"},
		{"binary symlink inside", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, "bin", "real"), b.binary, 0o755)
			replaceWithSymlink(t, "real", filepath.Join(b.dir, "bin", "demo"))
		}, StepBinary, "symlink"},
		{"binary dir symlink outside", func(t *testing.T, b *testBundle) {
			outside := t.TempDir()
			write(t, filepath.Join(outside, "demo"), b.binary, 0o755)
			if err := os.RemoveAll(filepath.Join(b.dir, "bin")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(b.dir, "bin")); err != nil {
				t.Fatal(err)
			}
		}, StepBinary, "symlink"},
		{"binary is a fifo", func(t *testing.T, b *testBundle) {
			os.Remove(filepath.Join(b.dir, "bin", "demo"))
			if err := syscall.Mkfifo(filepath.Join(b.dir, "bin", "demo"), 0o644); err != nil {
				t.Skip("mkfifo:", err)
			}
		}, StepBinary, "not a regular file"},
		{"binary larger", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, "bin", "demo"), append(b.binary, 'x'), 0o755)
		}, StepBinary, "manifest says"},
		{"binary smaller", func(t *testing.T, b *testBundle) {
			write(t, filepath.Join(b.dir, "bin", "demo"), b.binary[1:], 0o755)
		}, StepBinary, "manifest says"},
		{"binary digest", func(t *testing.T, b *testBundle) {
			evil := bytes.ToUpper(b.binary)
			write(t, filepath.Join(b.dir, "bin", "demo"), evil, 0o755)
		}, StepDigest, "sha256"},
	} {
		t.Run(test.name, func(t *testing.T) {
			b := setup(t)
			test.setup(t, b)
			p, err := Verify(b.dir, b.opts)
			if err == nil {
				p.Close()
				t.Fatalf("Verify succeeded, want a refusal at step %s", test.step)
			}
			if !isStep(err, test.step) || !strings.Contains(err.Error(), test.want) {
				t.Errorf("Verify = %v, want step %s with %q", err, test.step, test.want)
			}
		})
	}
}

func TestVerifyForeignOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file away")
	}
	for _, rel := range []string{".", ManifestFile, SignatureFile, "bin/demo"} {
		b := setup(t)
		if err := os.Lchown(filepath.Join(b.dir, rel), 4242, 4242); err != nil {
			t.Fatal(err)
		}
		_, err := Verify(b.dir, b.opts)
		if !isStep(err, StepOwnership) || !strings.Contains(err.Error(), "uid 4242") {
			t.Errorf("Verify with %s owned by uid 4242 = %v, want an ownership refusal", rel, err)
		}
	}
}

func chmod(t *testing.T, name string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

func replaceWithSymlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// TestCopyBinaryAfterChange changes the binary between verification and the
// copy that would feed the memfd.
func TestCopyBinaryAfterChange(t *testing.T) {
	for _, test := range []struct {
		name   string
		change func(t *testing.T, name string, orig []byte)
		step   Step // "" means the copy must still yield the verified bytes
	}{
		{"rewritten in place", func(t *testing.T, name string, orig []byte) {
			write(t, name, bytes.ToUpper(orig), 0o755)
		}, StepDigest},
		{"grown", func(t *testing.T, name string, orig []byte) {
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString("more"); err != nil {
				t.Fatal(err)
			}
		}, StepBinary},
		{"truncated", func(t *testing.T, name string, orig []byte) {
			if err := os.Truncate(name, 3); err != nil {
				t.Fatal(err)
			}
		}, StepBinary},
		{"replaced by rename", func(t *testing.T, name string, orig []byte) {
			write(t, name+".new", bytes.ToUpper(orig), 0o755)
			if err := os.Rename(name+".new", name); err != nil {
				t.Fatal(err)
			}
		}, ""},
	} {
		t.Run(test.name, func(t *testing.T) {
			b := setup(t)
			p, err := Verify(b.dir, b.opts)
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			defer p.Close()
			test.change(t, filepath.Join(b.dir, "bin", "demo"), b.binary)
			var buf bytes.Buffer
			_, err = p.CopyBinary(&buf)
			if test.step == "" {
				if err != nil || !bytes.Equal(buf.Bytes(), b.binary) {
					t.Errorf("CopyBinary = %v, %q; want the verified bytes from the file held open", err, buf.Bytes())
				}
				return
			}
			if !isStep(err, test.step) {
				t.Errorf("CopyBinary = %v, want a refusal at step %s", err, test.step)
			}
		})
	}
}
