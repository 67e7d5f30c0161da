package workspace

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// MaxPathLen is the longest path, in bytes, that [CleanPath] and
// [Root.RelFromURI] accept. It matches Linux's PATH_MAX.
const MaxPathLen = 4096

// Errors for paths a client may not use. Every error from [CleanPath] and
// from a [Root] method that refuses a path wraps exactly one of them, after a
// message naming the path and the reason.
var (
	// ErrInvalidPath means the path is malformed: empty, too long, or holding
	// a NUL byte, a backslash, or a percent-encoded separator, NUL or ".".
	ErrInvalidPath = errors.New("invalid path")

	// ErrPathEscapes means the path names something outside the project
	// root: it is absolute, carries a drive letter, climbs out with "..",
	// plain or percent-encoded, or goes through a symbolic link that leads
	// out of the root.
	ErrPathEscapes = errors.New("path escapes the project root")
)

// CleanPath validates p, a slash-separated path relative to a project root as
// a client sends it, and returns its clean form (see [path.Clean]). The root
// itself is ".". CleanPath only looks at the text; symbolic links are checked
// when a [Root] method resolves the path.
//
// It refuses, wrapping [ErrInvalidPath]: the empty path, paths longer than
// [MaxPathLen], NUL bytes, backslashes (so Windows and UNC forms such as
// `..\x`, `C:\x` and `\\server\share` never reach the file system), and
// elements that percent-decode, once or repeatedly, to "." or to text holding
// a separator or NUL byte.
//
// It refuses, wrapping [ErrPathEscapes]: absolute paths, paths that start
// with a drive letter ("C:"), paths whose ".." elements climb above the root
// ("a/../.." but not "a/../b"), and elements that percent-decode, once or
// repeatedly and in any letter case, to "..", such as "%2e%2e" and
// "%252E%252e". A file named like that is refused rather than risk a later
// decoding turning it into a parent reference.
func CleanPath(p string) (string, error) {
	switch {
	case p == "":
		return "", pathError(ErrInvalidPath, p, "empty path (the root is \".\")")
	case len(p) > MaxPathLen:
		return "", pathError(ErrInvalidPath, p, fmt.Sprintf("%d bytes, longer than the limit of %d", len(p), MaxPathLen))
	case strings.IndexByte(p, 0) >= 0:
		return "", pathError(ErrInvalidPath, p, "contains a NUL byte")
	case strings.IndexByte(p, '\\') >= 0:
		return "", pathError(ErrInvalidPath, p, `contains a backslash; separate elements with "/"`)
	case p[0] == '/':
		return "", pathError(ErrPathEscapes, p, "absolute path")
	case hasDriveLetter(p):
		return "", pathError(ErrPathEscapes, p, "starts with a drive letter")
	}
	for elem := range strings.SplitSeq(p, "/") {
		if err := checkEncoded(p, elem); err != nil {
			return "", err
		}
	}
	clean := path.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", pathError(ErrPathEscapes, p, `".." climbs above the root`)
	}
	return clean, nil
}

// maxDecodeRounds bounds how many times checkEncoded percent-decodes one
// element. Each round shortens an element that changes, so this only caps
// the work on a pathological name; a name still encoded after this many
// rounds is refused.
const maxDecodeRounds = 8

// checkEncoded refuses an element of p that percent-decodes, in one or more
// rounds, to a dot segment or to text holding a separator or NUL byte.
func checkEncoded(p, elem string) error {
	for range maxDecodeRounds {
		if !strings.Contains(elem, "%") {
			return nil
		}
		decoded, err := url.PathUnescape(elem)
		if err != nil || decoded == elem {
			// Not a valid escape (a literal "%"), so nothing decodes further.
			return nil
		}
		elem = decoded
		for part := range strings.FieldsFuncSeq(elem, isSeparator) {
			if part == ".." {
				return pathError(ErrPathEscapes, p, `percent-encoded ".."`)
			}
		}
		switch {
		case elem == ".":
			return pathError(ErrInvalidPath, p, `percent-encoded "."`)
		case strings.ContainsAny(elem, "/\\\x00"):
			return pathError(ErrInvalidPath, p, "percent-encoded separator or NUL byte")
		}
	}
	return pathError(ErrInvalidPath, p, fmt.Sprintf("percent-encoded more than %d times", maxDecodeRounds))
}

func isSeparator(r rune) bool { return r == '/' || r == '\\' }

// hasDriveLetter reports whether p starts like a Windows volume, "C:".
func hasDriveLetter(p string) bool {
	if len(p) < 2 || p[1] != ':' {
		return false
	}
	c := p[0] | 0x20 // lower-case an ASCII letter
	return 'a' <= c && c <= 'z'
}

// pathError wraps sentinel with the path, shortened so that a hostile 4 KiB
// name does not flood logs, and the reason it was refused.
func pathError(sentinel error, p, reason string) error {
	return fmt.Errorf("%w: %q: %s", sentinel, shorten(p), reason)
}

// shorten cuts a path to its first 120 bytes for an error message.
func shorten(p string) string {
	const show = 120
	if len(p) > show {
		return p[:show] + "…"
	}
	return p
}

// maxURILen is the longest file:// URI fileURIPath parses: room for a path
// of MaxPathLen bytes with every byte percent-encoded, plus scheme and host.
const maxURILen = 3*MaxPathLen + len("file://localhost")

// fileURIPath returns the clean, absolute, slash-separated path a file://
// URI names. Errors wrap [ErrInvalidPath]. The path is decoded exactly once,
// as RFC 8089 says; what a second decoding would change is [CleanPath]'s
// business once the path is made relative to a root.
func fileURIPath(uri string) (string, error) {
	if len(uri) > maxURILen {
		return "", pathError(ErrInvalidPath, uri, fmt.Sprintf("URI of %d bytes, longer than the limit of %d", len(uri), maxURILen))
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", pathError(ErrInvalidPath, uri, fmt.Sprintf("not a URI: %v", errors.Unwrap(err)))
	}
	switch {
	case !strings.EqualFold(u.Scheme, "file"):
		return "", pathError(ErrInvalidPath, uri, "not a file:// URI")
	case u.Opaque != "" || u.User != nil:
		return "", pathError(ErrInvalidPath, uri, "malformed file URI")
	case u.Host != "" && !strings.EqualFold(u.Host, "localhost"):
		return "", pathError(ErrInvalidPath, uri, fmt.Sprintf("names host %q, not this machine", u.Host))
	case strings.ContainsAny(uri, "?#"):
		// Unencoded, these always start a query or fragment, even an empty one.
		return "", pathError(ErrInvalidPath, uri, "has a query or fragment")
	}
	p := u.Path
	switch {
	case len(p) > MaxPathLen:
		return "", pathError(ErrInvalidPath, uri, fmt.Sprintf("path of %d bytes, longer than the limit of %d", len(p), MaxPathLen))
	case strings.IndexByte(p, 0) >= 0:
		return "", pathError(ErrInvalidPath, uri, "path contains a NUL byte")
	case strings.IndexByte(p, '\\') >= 0:
		return "", pathError(ErrInvalidPath, uri, "path contains a backslash")
	case !strings.HasPrefix(p, "/"):
		return "", pathError(ErrInvalidPath, uri, "path is not absolute")
	}
	return path.Clean(p), nil
}
