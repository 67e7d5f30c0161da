// Package manifest reads, validates and verifies a plugin's plugin.toml and
// its Ed25519 signature, plugin.toml.sig, before anything of the plugin runs.
//
// # Format
//
// plugin.toml follows research/plugins.md §4.2. [Parse] decodes it strictly:
// an unknown key, a wrong type or a file over [MaxManifestSize] is an error,
// and every field is checked (name, publisher and version syntax, plugin API
// majors the host serves, languages and globs, binary paths that stay inside
// the plugin directory, sha256 and size, permissions, and limits no higher
// than the host's [Policy]).
//
// # Verification
//
// [Verify] runs the steps of research/plugins.md §4.3 in order and stops at
// the first refusal, which it returns as an [*Error] naming the [Step]:
// the directory lies under an allowed root; directories and files are owned
// by root or this user and are not group- or world-writable; everything is
// opened through an [os.Root] and symlinks to the binary are refused; the
// signature over the manifest's exact bytes is by a trusted, unrevoked key
// that is allowed for the manifest's publisher; the binary's size and sha256
// match. Unsigned plugins pass only from a dev override, with a warning.
//
// The verified binary stays open in the returned [*Plugin]; [Plugin.CopyBinary]
// streams it into a writer (a memfd, later) and checks its size and sha256
// again while copying, so nothing is re-opened by path after verification.
//
// Loading, sandboxing and running verified plugins is plugins/host/launch's
// and plugins/sandbox's business.
package manifest
