package launch

import (
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
	sha256 string
	err    error
}

var (
	selfMu     sync.Mutex
	selfImages = map[string]*selfImage{}
)

// sealedSelf returns the process's one sealed copy of the executable the
// built-ins run from: path, or the running executable when path is empty.
// The copy is made once per path and kept for the life of the process, so
// every built-in instance and restart execs the same bytes even if the
// binary on disk is upgraded meanwhile.
func sealedSelf(path string) (*os.File, error) {
	selfMu.Lock()
	defer selfMu.Unlock()
	if img := selfImages[path]; img != nil {
		return img.file, img.err
	}
	img := &selfImage{}
	if path == "" {
		img.file, img.sha256, img.err = sandbox.SealedExecutable("gathering")
	} else {
		img.file, img.err = sealFile(path)
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

// SelfSHA256 is the hex sha256 of the sealed copy of the running executable
// the built-ins run from, "" until a built-in has started.
func SelfSHA256() string {
	selfMu.Lock()
	defer selfMu.Unlock()
	if img := selfImages[""]; img != nil {
		return img.sha256
	}
	return ""
}
