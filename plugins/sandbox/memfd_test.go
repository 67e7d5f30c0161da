//go:build linux

package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gathering-dev/gathering/plugins/manifest"
	"golang.org/x/sys/unix"
)

func TestSealedCopyRefusesChange(t *testing.T) {
	content := []byte("\x7fELF not really, but sealed")
	f, err := SealedCopy("sealed", func(w io.Writer) (int64, error) {
		n, err := w.Write(content)
		return int64(n), err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !IsSealed(f) {
		t.Fatal("IsSealed = false")
	}
	if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back %q, %v", got, err)
	}
	if _, err := f.WriteAt([]byte("X"), 0); !errors.Is(err, unix.EPERM) {
		t.Errorf("write to the sealed memfd = %v, want EPERM", err)
	}
	if err := f.Truncate(1); !errors.Is(err, unix.EPERM) {
		t.Errorf("shrink = %v, want EPERM", err)
	}
	if err := f.Truncate(1 << 20); !errors.Is(err, unix.EPERM) {
		t.Errorf("grow = %v, want EPERM", err)
	}
	// A writable mapping is refused too, and so is reopening for writing.
	if _, err := unix.Mmap(int(f.Fd()), 0, len(content), unix.PROT_WRITE, unix.MAP_SHARED); !errors.Is(err, unix.EPERM) {
		t.Errorf("writable shared mmap = %v, want EPERM", err)
	}
	if w, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.O_WRONLY, 0); err == nil {
		if _, err := w.Write([]byte("X")); !errors.Is(err, unix.EPERM) {
			t.Errorf("write through a reopened fd = %v, want EPERM", err)
		}
		w.Close()
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, 0); !errors.Is(err, unix.EPERM) {
		t.Errorf("seals can still be changed: %v", err)
	}
}

func TestSealedCopyDropsFailedCopy(t *testing.T) {
	before := openFDs(t)
	f, err := SealedCopy("bad", func(w io.Writer) (int64, error) {
		w.Write([]byte("half a binary"))
		return 13, errors.New("digest mismatch")
	})
	if f != nil || err == nil {
		t.Fatalf("SealedCopy = %v, %v; want no file and an error", f, err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open fds %d → %d: the failed memfd was not closed", before, after)
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestWrongDigestNeverRuns goes through the real manifest verification:
// the binary is changed in place after Verify (the race SecureConfig loses),
// and CopyBinary's digest check while filling the memfd refuses it, so no
// memfd exists to execute. The unchanged binary runs.
func TestWrongDigestNeverRuns(t *testing.T) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "probe")
	bin := filepath.Join(dir, "bin", "probe")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(self)
	m := fmt.Sprintf("schema = 1\nname = \"probe\"\nversion = \"1.0.0\"\npublisher = \"test\"\n\n[protocol]\nplugin_api = [1]\n\n"+
		"[[binary]]\nos = %q\narch = %q\npath = \"bin/probe\"\nsha256 = %q\nsize = %d\n\n[languages]\nids = [\"go\"]\n",
		runtime.GOOS, runtime.GOARCH, hex.EncodeToString(sum[:]), len(self))
	if err := os.WriteFile(filepath.Join(dir, manifest.ManifestFile), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := &manifest.Options{Roots: []string{root}, DevOverrides: []string{root}}
	setByte := func(b byte) {
		w, err := os.OpenFile(bin, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteAt([]byte{b}, int64(len(self)/2)); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}

	p, err := manifest.Verify(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	setByte(self[len(self)/2] ^ 0xff) // same inode, same size, other bytes
	f, err := SealedCopy("probe", p.CopyBinary)
	p.Close()
	var me *manifest.Error
	if f != nil || !errors.As(err, &me) || me.Step != manifest.StepDigest {
		t.Fatalf("SealedCopy of a binary changed after Verify = %v, %v; want no file and a digest error", f, err)
	}

	setByte(self[len(self)/2])
	p, err = manifest.Verify(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	f, err = SealedCopy("probe", p.CopyBinary)
	if err != nil {
		t.Fatalf("SealedCopy with the right digest = %v", err)
	}
	defer f.Close()
	e := newTestEnv(t)
	e.binary = f
	got, _ := e.run(e.spec("hello"))
	e.expect(got, map[string]string{"hello": "ok"})
}

func TestSealedExecutable(t *testing.T) {
	f, sum, err := SealedExecutable("self")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(self); sum != hex.EncodeToString(want[:]) {
		t.Errorf("digest %s, want %x", sum, want)
	}
	if !IsSealed(f) {
		t.Error("not sealed")
	}
	e := newTestEnv(t)
	e.binary = f
	got, _ := e.run(e.spec("hello"))
	e.expect(got, map[string]string{"hello": "ok"})
}

// TestCollapseImage: an image in huge pages holds the same bytes, keeps its
// seals and still runs, the built-ins' way too.
func TestCollapseImage(t *testing.T) {
	f, sum, err := SealedExecutable("collapsed")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := CollapseImage(f); err != nil {
		t.Skipf("this kernel keeps the image in small pages: %v", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<40)); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		t.Errorf("digest after the collapse %s, want %s", got, sum)
	}
	if !IsSealed(f) {
		t.Error("not sealed after the collapse")
	}
	bothWays(t, func(t *testing.T, e *testEnv) {
		e.binary = f
		got, _ := e.run(e.spec("hello"))
		e.expect(got, map[string]string{"hello": "ok"})
	})
}
