package manifest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Step names one verification step. [Verify] runs them in the order of [Steps].
type Step string

// The verification steps.
const (
	StepLocation  Step = "location"  // the directory lies under an allowed root
	StepOwnership Step = "ownership" // owner and mode of directories and files
	StepManifest  Step = "manifest"  // plugin.toml is a regular file within the size limit
	StepSignature Step = "signature" // plugin.toml.sig by a trusted, unrevoked key
	StepParse     Step = "parse"     // strict TOML decoding
	StepValidate  Step = "validate"  // field rules and host policy
	StepPublisher Step = "publisher" // the key may sign for the manifest's publisher
	StepBinary    Step = "binary"    // the binary for this platform: no symlink, regular, size
	StepDigest    Step = "digest"    // the binary's sha256
)

// Steps returns every step in the order [Verify] runs them.
func Steps() []Step {
	return []Step{StepLocation, StepOwnership, StepManifest, StepSignature, StepParse, StepValidate, StepPublisher, StepBinary, StepDigest}
}

// Error is a refusal: the step that failed, the path it concerned (relative
// to the plugin directory when inside it), and why.
type Error struct {
	Step Step
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.Step, e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Options configure [Verify]. A nil *Options trusts nothing and allows no
// directory.
type Options struct {
	// Roots are the directories plugin directories may lie under: a system
	// directory and the user's data directory, typically.
	Roots []string
	// DevOverrides are directories (plugin directories or roots of them)
	// whose plugins may be unsigned. Each unsigned plugin loaded from one
	// gets a warning. A signature that is present is still checked.
	DevOverrides []string
	// Trust holds the keys whose signatures are accepted; nil trusts none.
	Trust *Trust
	// Policy is the host's policy; nil means the defaults.
	Policy *Policy
	// GOOS and GOARCH pick the [[binary]]; empty means this process's.
	GOOS, GOARCH string
}

// Plugin is a verified plugin. It holds its binary open, so that
// [Plugin.CopyBinary] reads the very file that was verified; Close releases it.
type Plugin struct {
	// Dir is the plugin directory with symlinks resolved.
	Dir string
	// Manifest is the validated manifest, defaults filled in.
	Manifest *Manifest
	// ManifestSHA256 is the hex sha256 of plugin.toml's exact bytes.
	ManifestSHA256 string
	// KeyID is the key that signed the manifest, or "" when unsigned.
	KeyID string
	// Binary is the [[binary]] entry for the platform.
	Binary Binary
	// Warnings are things the host must show the user, such as an unsigned
	// plugin loaded from a dev override.
	Warnings []string

	bin *os.File
}

// Close releases the binary. It is safe to call more than once.
func (p *Plugin) Close() error {
	if p.bin == nil {
		return nil
	}
	err := p.bin.Close()
	p.bin = nil
	return err
}

// CopyBinary copies the verified binary into w, from the file opened during
// verification (never re-opened by path), and checks its size and sha256 as
// it copies. On error, w has received bytes that must not be used: the
// caller discards them (a memfd is then never sealed or executed). It
// returns an [*Error] with [StepBinary] if the size differs and
// [StepDigest] if the digest does. CopyBinary may run concurrently with
// itself but not with Close.
func (p *Plugin) CopyBinary(w io.Writer) (int64, error) {
	if p.bin == nil {
		return 0, &Error{Step: StepBinary, Path: p.Binary.Path, Err: os.ErrClosed}
	}
	want, err := hex.DecodeString(p.Binary.SHA256)
	if err != nil {
		return 0, &Error{Step: StepDigest, Path: p.Binary.Path, Err: err}
	}
	h := sha256.New()
	// Read one byte more than promised, so growth is seen without reading
	// an unbounded file.
	n, err := io.Copy(io.MultiWriter(w, h), io.NewSectionReader(p.bin, 0, p.Binary.Size+1))
	if err != nil {
		return n, &Error{Step: StepBinary, Path: p.Binary.Path, Err: fmt.Errorf("copy: %w", err)}
	}
	if n != p.Binary.Size {
		return n, &Error{Step: StepBinary, Path: p.Binary.Path, Err: fmt.Errorf("read %d bytes, manifest says %d", n, p.Binary.Size)}
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
		return n, &Error{Step: StepDigest, Path: p.Binary.Path, Err: fmt.Errorf("sha256 %x, manifest says %s", h.Sum(nil), p.Binary.SHA256)}
	}
	return n, nil
}

// Verify checks the plugin in dir, step by step (see [Steps]), and returns
// it with its binary held open, or the first refusal as an [*Error]. The
// caller closes the returned Plugin.
func Verify(dir string, opts *Options) (*Plugin, error) {
	if opts == nil {
		opts = &Options{}
	}
	// Location: canonicalise once; from then on everything goes through root.
	canon, err := filepath.EvalSymlinks(dir)
	if err == nil {
		canon, err = filepath.Abs(canon)
	}
	if err != nil {
		return nil, &Error{Step: StepLocation, Path: dir, Err: err}
	}
	base, ok := under(canon, opts.Roots)
	devBase, dev := under(canon, opts.DevOverrides)
	if !ok && !dev {
		return nil, &Error{Step: StepLocation, Path: canon, Err: errors.New("not under an allowed plugin root or dev override")}
	}
	if !ok {
		// Only a dev override holds it; walk ownership from there. Under an
		// allowed root, the walk starts at the root, which checks more.
		base = devBase
	}

	// Ownership of every directory from the allowed root down.
	rel, _ := filepath.Rel(base, canon)
	walk := base
	if err := checkOwner(walk, nil); err != nil {
		return nil, &Error{Step: StepOwnership, Path: walk, Err: err}
	}
	if rel != "." {
		for part := range strings.SplitSeq(rel, string(filepath.Separator)) {
			walk = filepath.Join(walk, part)
			if err := checkOwner(walk, nil); err != nil {
				return nil, &Error{Step: StepOwnership, Path: walk, Err: err}
			}
		}
	}
	root, err := os.OpenRoot(canon)
	if err != nil {
		return nil, &Error{Step: StepLocation, Path: canon, Err: err}
	}
	defer root.Close()

	// Manifest.
	raw, err := readSmall(root, ManifestFile, MaxManifestSize, StepManifest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{Step: StepManifest, Path: ManifestFile, Err: err}
	} else if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	p := &Plugin{Dir: canon, ManifestSHA256: hex.EncodeToString(sum[:])}

	// Signature, before the untrusted bytes are parsed.
	var key *TrustedKey
	sigRaw, err := readSmall(root, SignatureFile, MaxSignatureSize, StepSignature)
	switch {
	case errors.Is(err, fs.ErrNotExist) && dev:
		p.Warnings = append(p.Warnings, fmt.Sprintf("unsigned plugin loaded from dev override %s; it is not verified by any key", devBase))
	case errors.Is(err, fs.ErrNotExist):
		return nil, &Error{Step: StepSignature, Path: SignatureFile, Err: errors.New("missing; unsigned plugins load only from a dev override")}
	case err != nil:
		return nil, err
	default:
		if key, err = checkSignature(sigRaw, raw, opts.Trust); err != nil {
			return nil, err
		}
		p.KeyID = key.ID
	}

	m, err := Parse(raw, opts.Policy)
	if err != nil {
		return nil, err
	}
	p.Manifest = m
	if key != nil && !slices.Contains(key.Publishers, m.Publisher) {
		return nil, &Error{Step: StepPublisher, Path: SignatureFile, Err: fmt.Errorf("key %s may sign for %s, not for publisher %q", key.ID, strings.Join(key.Publishers, ", "), m.Publisher)}
	}
	if m.Permissions.Network == "any" {
		p.Warnings = append(p.Warnings, "plugin asks for network access to anywhere; it gets no network namespace")
	}

	// Binary.
	goos, goarch := opts.GOOS, opts.GOARCH
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	for _, b := range m.Binaries {
		if b.OS == goos && b.Arch == goarch {
			p.Binary = b
		}
	}
	if p.Binary.Path == "" {
		return nil, &Error{Step: StepBinary, Err: fmt.Errorf("no [[binary]] for %s/%s", goos, goarch)}
	}
	if p.bin, err = openBinary(root, p.Binary); err != nil {
		return nil, err
	}
	if _, err := p.CopyBinary(io.Discard); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// under reports the longest of roots that contains dir, with symlinks resolved.
func under(dir string, roots []string) (string, bool) {
	best, found := "", false
	for _, r := range roots {
		c, err := filepath.EvalSymlinks(r)
		if err != nil {
			continue
		}
		if c, err = filepath.Abs(c); err != nil {
			continue
		}
		if rel, err := filepath.Rel(c, dir); err == nil && filepath.IsLocal(rel) {
			if !found || len(c) > len(best) {
				best, found = c, true
			}
		}
	}
	return best, found
}

// checkOwner refuses a file or directory that is not a plain file or
// directory, not owned by root or this user, or writable by group or others.
// fi is name's Lstat, or nil to take it.
func checkOwner(name string, fi fs.FileInfo) error {
	if fi == nil {
		var err error
		if fi, err = os.Lstat(name); err != nil {
			return err
		}
	}
	return checkInfo(fi)
}

func checkInfo(fi fs.FileInfo) error {
	if t := fi.Mode().Type(); t != 0 && t != fs.ModeDir {
		return fmt.Errorf("is a %v, not a regular file or directory", t)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("mode %#o is group- or world-writable", perm)
	}
	if uid, ok := fileOwner(fi); ok && uid != 0 && uid != os.Getuid() {
		return fmt.Errorf("owned by uid %d, not root or uid %d", uid, os.Getuid())
	}
	return nil
}

// readSmall reads a regular file of at most limit bytes through root,
// checking its owner and mode on the open file. A missing file returns an
// error matching fs.ErrNotExist.
func readSmall(root *os.Root, name string, limit int64, step Step) ([]byte, error) {
	lfi, err := root.Lstat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, &Error{Step: step, Path: name, Err: err}
	}
	if lfi.Mode().Type() == fs.ModeSymlink {
		return nil, &Error{Step: StepOwnership, Path: name, Err: errors.New("is a symlink")}
	}
	// Checked before opening: opening a FIFO would block.
	if !lfi.Mode().IsRegular() {
		return nil, &Error{Step: step, Path: name, Err: fmt.Errorf("is a %v, not a regular file", lfi.Mode().Type())}
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, &Error{Step: step, Path: name, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &Error{Step: step, Path: name, Err: err}
	}
	if !os.SameFile(lfi, fi) {
		return nil, &Error{Step: step, Path: name, Err: errors.New("changed while it was opened")}
	}
	if err := checkInfo(fi); err != nil {
		return nil, &Error{Step: StepOwnership, Path: name, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{Step: step, Path: name, Err: errors.New("not a regular file")}
	}
	if fi.Size() > limit {
		return nil, &Error{Step: step, Path: name, Err: fmt.Errorf("%d bytes, over the %d-byte limit", fi.Size(), limit)}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &Error{Step: step, Path: name, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &Error{Step: step, Path: name, Err: fmt.Errorf("over the %d-byte limit", limit)}
	}
	return data, nil
}

// checkSignature verifies sigRaw over manifest with a key of trust and
// returns that key.
func checkSignature(sigRaw, manifest []byte, trust *Trust) (*TrustedKey, error) {
	fail := func(format string, args ...any) (*TrustedKey, error) {
		return nil, &Error{Step: StepSignature, Path: SignatureFile, Err: fmt.Errorf(format, args...)}
	}
	s, err := ParseSignature(sigRaw)
	if err != nil {
		return fail("%v", err)
	}
	key := trust.key(s.KeyID)
	switch {
	case key == nil:
		return fail("key %q is not trusted", s.KeyID)
	case key.Revoked:
		return fail("key %s is revoked", key.ID)
	}
	sig, err := base64.StdEncoding.DecodeString(s.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fail("sig is not base64 of a %d-byte signature", ed25519.SignatureSize)
	}
	if !ed25519.Verify(key.pub, signedMessage(manifest), sig) {
		return fail("signature by key %s does not match %s", key.ID, ManifestFile)
	}
	return key, nil
}

// openBinary opens b through root after checking each directory on its path
// and the file itself: no symlinks, owner and mode, a regular file of the
// promised size.
func openBinary(root *os.Root, b Binary) (*os.File, error) {
	name := filepath.FromSlash(b.Path)
	dir := path.Dir(b.Path)
	if dir != "." {
		walk := ""
		for part := range strings.SplitSeq(dir, "/") {
			walk = path.Join(walk, part)
			fi, err := root.Lstat(filepath.FromSlash(walk))
			if err != nil {
				return nil, &Error{Step: StepBinary, Path: walk, Err: err}
			}
			if fi.Mode().Type() == fs.ModeSymlink {
				return nil, &Error{Step: StepBinary, Path: walk, Err: errors.New("is a symlink")}
			}
			if err := checkInfo(fi); err != nil {
				return nil, &Error{Step: StepOwnership, Path: walk, Err: err}
			}
		}
	}
	lfi, err := root.Lstat(name)
	if err != nil {
		return nil, &Error{Step: StepBinary, Path: b.Path, Err: err}
	}
	if lfi.Mode().Type() == fs.ModeSymlink {
		return nil, &Error{Step: StepBinary, Path: b.Path, Err: errors.New("is a symlink")}
	}
	if !lfi.Mode().IsRegular() {
		return nil, &Error{Step: StepBinary, Path: b.Path, Err: fmt.Errorf("is a %v, not a regular file", lfi.Mode().Type())}
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, &Error{Step: StepBinary, Path: b.Path, Err: err}
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		err = &Error{Step: StepBinary, Path: b.Path, Err: err}
	case !os.SameFile(lfi, fi):
		err = &Error{Step: StepBinary, Path: b.Path, Err: errors.New("changed while it was opened")}
	case !fi.Mode().IsRegular():
		err = &Error{Step: StepBinary, Path: b.Path, Err: errors.New("not a regular file")}
	case checkInfo(fi) != nil:
		err = &Error{Step: StepOwnership, Path: b.Path, Err: checkInfo(fi)}
	case fi.Size() != b.Size:
		err = &Error{Step: StepBinary, Path: b.Path, Err: fmt.Errorf("%d bytes, manifest says %d", fi.Size(), b.Size)}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
