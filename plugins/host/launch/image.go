package launch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sandbox"
)

// sealPlugin copies a verified plugin's binary into a sealed memfd. The copy
// is hashed as it is made (manifest.Plugin.CopyBinary), so what runs is what
// was verified; a binary changed since Load fails here with StepDigest or
// StepBinary.
func sealPlugin(v *manifest.Plugin) (*os.File, error) {
	return sandbox.SealedCopy("plugin-"+v.Manifest.Name, v.CopyBinary)
}

// selfImage is the sealed copy of the executable the built-ins run from.
type selfImage struct {
	file   *os.File
	err    error
	sha256 func() string // computes the hash once, when first asked
}

var (
	selfMu     sync.Mutex
	selfImages = map[string]*selfImage{}
)

// sealedSelf returns the process's one sealed copy of the executable the
// built-ins run from: path, or the running executable (/proc/self/exe) when
// path is empty. The copy is made once per path and kept for the life of
// the process, so every built-in instance and restart execs the same bytes
// even if the binary on disk is upgraded meanwhile.
//
// The copy is made in the kernel (no hashing on the way, unlike a plugin
// binary, which must match its manifest): the executable is trusted, and
// its sha256 is only recorded, so it is computed when first asked for
// ([SelfSHA256]), from the sealed copy itself, off the start's path.
func sealedSelf(path string) (*os.File, error) {
	selfMu.Lock()
	defer selfMu.Unlock()
	if img := selfImages[path]; img != nil {
		return img.file, img.err
	}
	img := &selfImage{sha256: func() string { return "" }}
	src := path
	if src == "" {
		src = "/proc/self/exe"
	}
	img.file, img.err = sealFile(src)
	if img.err == nil {
		img.sha256 = sync.OnceValue(func() string { return hashSealed(img.file) })
		// Every built-in start executes this image: in huge pages it
		// starts about 8 ms sooner. Off the first start's path; when the
		// kernel cannot, the image serves as it is.
		go sandbox.CollapseImage(img.file) //nolint:errcheck // a hint
	}
	selfImages[path] = img
	return img.file, img.err
}

func sealFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open executable for built-in plugins: %w", err)
	}
	defer f.Close()
	return sandbox.SealedCopy("gathering", func(w io.Writer) (int64, error) { return io.Copy(w, f) })
}

// hashSealed hashes a sealed memfd without moving its offset (the memfd is
// shared by every start).
func hashSealed(f *os.File) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SelfSHA256 is the hex sha256 of the sealed copy of the running executable
// the built-ins run from, "" until a built-in has started. The first call
// computes it (tens of milliseconds).
func SelfSHA256() string {
	selfMu.Lock()
	img := selfImages[""]
	selfMu.Unlock()
	if img == nil {
		return ""
	}
	return img.sha256()
}
