package host

import (
	"net/url"
	"path"
	"strings"
)

// matchGlob reports whether the slash-separated relative path name matches
// glob, whose segments are path.Match patterns or "**", which matches any
// number of segments, none included.
func matchGlob(glob, name string) bool {
	return matchSegments(strings.Split(glob, "/"), strings.Split(name, "/"))
}

func matchSegments(glob, name []string) bool {
	for len(glob) > 0 {
		if glob[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegments(glob[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(glob[0], name[0]); err != nil || !ok {
			return false
		}
		glob, name = glob[1:], name[1:]
	}
	return len(name) == 0
}

// uriPath returns the absolute path of a file: URI, or "" for other URIs.
func uriPath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	return path.Clean(u.Path)
}

// relativeName returns the path of abs relative to the innermost folder
// holding it, or abs without its leading slash when no folder does: what a
// manifest's file globs are matched against.
func relativeName(abs string, folders []Folder) string {
	best := ""
	for _, f := range folders {
		root := path.Clean(f.Path)
		if (strings.HasPrefix(abs, root+"/") || root == "/") && len(root) > len(best) {
			best = root
		}
	}
	if best == "" {
		return strings.TrimPrefix(abs, "/")
	}
	return strings.TrimPrefix(strings.TrimPrefix(abs, best), "/")
}
