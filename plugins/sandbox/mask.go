//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// maskShared mounts an empty tmpfs over each of p.Mask, binds back the
// granted paths beneath them (opened before they are covered), and makes
// each tmpfs read-only. It runs in the plugin's private mount namespace.
func maskShared(p *policy) error {
	type bindBack struct {
		path string
		fd   int
	}
	var backs []bindBack
	defer func() {
		for _, b := range backs {
			unix.Close(b.fd)
		}
	}()
	for _, list := range [][]string{p.SystemRead, p.SystemRW, p.Read, p.Write, p.Exec} {
		for _, path := range list {
			// A grant reached through a symlink into a masked directory
			// (/etc/resolv.conf → /run/…) is bound back where it resolves.
			if real, err := filepath.EvalSymlinks(path); err == nil {
				path = real
			}
			if !beneathAny(path, p.Mask) || slices.ContainsFunc(backs, func(b bindBack) bool { return b.path == path }) {
				continue
			}
			fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			if err != nil {
				return fmt.Errorf("open grant %s: %w", path, err)
			}
			backs = append(backs, bindBack{path, fd})
		}
	}
	// Parents first, so that a nested grant lands inside its parent's bind.
	slices.SortStableFunc(backs, func(a, b bindBack) int { return len(a.path) - len(b.path) })
	var masked []string
	for _, dir := range p.Mask {
		if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
			continue // missing, or a symlink such as /var/run → /run
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=64k"); err != nil {
			return fmt.Errorf("tmpfs over %s: %w", dir, err)
		}
		masked = append(masked, dir)
	}
	for _, b := range backs {
		var st unix.Stat_t
		if err := unix.Fstat(b.fd, &st); err != nil {
			return fmt.Errorf("stat grant %s: %w", b.path, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if err := os.MkdirAll(b.path, 0o755); err != nil {
				return fmt.Errorf("mount point for %s: %w", b.path, err)
			}
		} else {
			if err := os.MkdirAll(filepath.Dir(b.path), 0o755); err != nil {
				return fmt.Errorf("mount point for %s: %w", b.path, err)
			}
			if f, err := os.OpenFile(b.path, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
				f.Close()
			}
		}
		src := fmt.Sprintf("/proc/self/fd/%d", b.fd)
		if err := unix.Mount(src, b.path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s back: %w", b.path, err)
		}
	}
	for _, dir := range masked {
		if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			return fmt.Errorf("make the tmpfs over %s read-only: %w", dir, err)
		}
	}
	// The working directory may have been covered: enter it again by path.
	if cwd, err := os.Getwd(); err == nil {
		unix.Chdir(cwd)
	}
	return nil
}

// beneathAny reports whether path is one of dirs or lies beneath one.
func beneathAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}
