//go:build linux

package sandbox

import (
	"os"
	"slices"
	"strings"
)

// environment is baseEnv and spec.EnvAllow from the host's environment,
// then HOME, TMPDIR, XDG_CACHE_HOME and PLUGIN_UNIX_SOCKET_DIR, then
// spec.Env; a later entry replaces an earlier one with the same key.
func environment(spec Spec) []string {
	var env []string
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		env = append(env, kv)
	}
	for _, k := range append(slices.Clone(baseEnv), spec.EnvAllow...) {
		if v, ok := os.LookupEnv(k); ok {
			set(k + "=" + v)
		}
	}
	set("HOME=" + spec.CacheDir)
	set("TMPDIR=" + spec.CacheDir)
	set("XDG_CACHE_HOME=" + spec.CacheDir)
	set("PLUGIN_UNIX_SOCKET_DIR=" + spec.SocketDir)
	for _, kv := range spec.Env {
		set(kv)
	}
	return env
}
