package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// File names inside a plugin directory.
const (
	ManifestFile  = "plugin.toml"
	SignatureFile = "plugin.toml.sig"
)

// Sizes the verifier refuses to go beyond.
const (
	// MaxManifestSize bounds plugin.toml (§4.3 step 3).
	MaxManifestSize = 64 << 10
	// MaxSignatureSize bounds plugin.toml.sig.
	MaxSignatureSize = 4 << 10
	// MaxBinarySize bounds a plugin binary (§4.3 step 4).
	MaxBinarySize = 512 << 20
)

// SchemaVersion is the only manifest schema this package reads.
const SchemaVersion = 1

// Manifest is a decoded and validated plugin.toml. After [Parse] succeeds,
// defaults are filled in: Activation, Network, UntrustedWorkspace and every
// zero limit hold their effective values.
type Manifest struct {
	Schema      int    `toml:"schema"`
	Name        string `toml:"name"`
	Version     string `toml:"version"`
	Publisher   string `toml:"publisher"`
	Description string `toml:"description"`
	License     string `toml:"license"`

	Protocol     Protocol     `toml:"protocol"`
	Binaries     []Binary     `toml:"binary"`
	Languages    Languages    `toml:"languages"`
	Capabilities Capabilities `toml:"capabilities"`
	Permissions  Permissions  `toml:"permissions"`
	Limits       Limits       `toml:"limits"`
}

// Protocol says which plugin API majors the plugin serves and which host it needs.
type Protocol struct {
	// PluginAPI lists API major versions; at least one must be one the host serves.
	PluginAPI []int `toml:"plugin_api"`
	// MinHost is the lowest gathering version the plugin works with, if set.
	MinHost string `toml:"min_host"`
}

// Binary is the plugin executable for one platform.
type Binary struct {
	OS   string `toml:"os"`
	Arch string `toml:"arch"`
	// Path is slash-separated, relative to the plugin directory, clean, and
	// never leaves it.
	Path string `toml:"path"`
	// SHA256 is the lower-case hex digest of the file.
	SHA256 string `toml:"sha256"`
	// Size is the file's size in bytes.
	Size int64 `toml:"size"`
}

// Languages says which documents the plugin serves.
type Languages struct {
	// IDs are LSP languageIds.
	IDs         []string `toml:"ids"`
	FileGlobs   []string `toml:"file_globs"`
	RootMarkers []string `toml:"root_markers"`
	// Activation is on-language (the default), workspace-contains or eager.
	Activation string `toml:"activation"`
}

// Capabilities is advisory; the plugin's InitializeResult is authoritative.
type Capabilities struct {
	LSP           []string `toml:"lsp"`
	CustomMethods []string `toml:"custom_methods"`
}

// Permissions are what the launcher will grant the plugin. Paths are
// absolute or start with a host variable such as ${workspace}; the host
// expands them, never the plugin.
type Permissions struct {
	Read  []string `toml:"read"`
	Write []string `toml:"write"`
	// Exec lists where the plugin may execute files; empty means no subprocesses.
	Exec []string `toml:"exec"`
	// Network is none (the default), loopback or any.
	Network string `toml:"network"`
	// Env lists host environment variables copied into the plugin's environment.
	Env []string `toml:"env"`
	// UntrustedWorkspace is supported, limited or unsupported (the default).
	UntrustedWorkspace string `toml:"untrusted_workspace"`
}

// Limits are the resources the plugin asks for. Zero means the host policy's
// value; asking for more than the policy allows is an error.
type Limits struct {
	MemoryMB       int `toml:"memory_mb"`
	CPUPercent     int `toml:"cpu_percent"`
	MaxPids        int `toml:"max_pids"`
	MaxOpenFiles   int `toml:"max_open_files"`
	MaxFileWriteMB int `toml:"max_file_write_mb"`
	StartTimeoutMS int `toml:"start_timeout_ms"`
}

// DefaultLimits are the defaults and host maxima of research/plugins.md §4.4.
func DefaultLimits() Limits {
	return Limits{MemoryMB: 2048, CPUPercent: 200, MaxPids: 128, MaxOpenFiles: 4096, MaxFileWriteMB: 256, StartTimeoutMS: 10000}
}

// Policy is what the host allows. The zero value of a field means its default.
type Policy struct {
	// APIVersions are the plugin API majors this host serves; default [1].
	APIVersions []int
	// MaxLimits are the most a plugin may ask for, and what it gets when it
	// asks for nothing; default [DefaultLimits]. A zero field takes the default.
	MaxLimits Limits
}

func (p *Policy) apiVersions() []int {
	if p == nil || len(p.APIVersions) == 0 {
		return []int{1}
	}
	return p.APIVersions
}

func (p *Policy) maxLimits() Limits {
	d := DefaultLimits()
	if p == nil {
		return d
	}
	m := p.MaxLimits
	for _, f := range []struct{ v, def *int }{
		{&m.MemoryMB, &d.MemoryMB}, {&m.CPUPercent, &d.CPUPercent}, {&m.MaxPids, &d.MaxPids},
		{&m.MaxOpenFiles, &d.MaxOpenFiles}, {&m.MaxFileWriteMB, &d.MaxFileWriteMB}, {&m.StartTimeoutMS, &d.StartTimeoutMS},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return m
}

// Parse decodes and validates the bytes of a plugin.toml against policy; a
// nil policy means the defaults. It returns an [*Error] with [StepManifest]
// when data is too large, [StepParse] when it is not valid TOML or has
// unknown keys, and [StepValidate] listing every field that breaks a rule.
func Parse(data []byte, policy *Policy) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, &Error{Step: StepManifest, Path: ManifestFile, Err: fmt.Errorf("%d bytes, over the %d-byte limit", len(data), MaxManifestSize)}
	}
	var m Manifest
	if err := decodeStrict(data, &m); err != nil {
		return nil, &Error{Step: StepParse, Path: ManifestFile, Err: err}
	}
	if err := m.validate(policy); err != nil {
		return nil, &Error{Step: StepValidate, Path: ManifestFile, Err: err}
	}
	return &m, nil
}

// decodeStrict decodes TOML into v and refuses keys v has no field for.
func decodeStrict(data []byte, v any) error {
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(v)
	if err != nil {
		return err
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.String()
		}
		return fmt.Errorf("unknown keys: %s", strings.Join(names, ", "))
	}
	return nil
}

// The patterns are compiled when first used: every process of this binary
// runs package init (the sandbox launcher and each built-in plugin too), and
// compiling them all took 2 ms and 340 KB there, for the host alone to use.
var (
	nameRE      = lazyRegexp(`^[a-z][a-z0-9-]{1,62}$`)
	publisherRE = lazyRegexp(`^[a-z][a-z0-9-]{0,62}$`)
	// semverRE is the regular expression of semver.org 2.0.0.
	semverRE     = lazyRegexp(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	platformRE   = lazyRegexp(`^[a-z][a-z0-9]{0,31}$`)
	sha256RE     = lazyRegexp(`^[0-9a-f]{64}$`)
	languageRE   = lazyRegexp(`^[a-z][a-z0-9_.+-]{0,63}$`)
	envRE        = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	methodRE     = lazyRegexp(`^[A-Za-z][A-Za-z0-9_.-]*(/[A-Za-z0-9_.$-]+)+$`)
	pathVarRE    = lazyRegexp(`^\$\{([a-z_]+)\}`)
	lspFeatures  = []string{"completion", "hover", "signatureHelp", "definition", "declaration", "typeDefinition", "implementation", "references", "documentHighlight", "documentSymbol", "workspaceSymbol", "codeAction", "codeLens", "formatting", "rangeFormatting", "onTypeFormatting", "rename", "diagnostics", "semanticTokens", "inlayHint", "foldingRange", "selectionRange", "callHierarchy", "typeHierarchy", "documentLink", "executeCommand"}
	pathVars     = []string{"workspace", "plugin_dir", "plugin_cache", "home", "goroot", "gomodcache", "gopath", "tmp"}
	deniedEnvPre = []string{"LD_", "GATHERING_"}
)

// lazyRegexp returns a function that compiles expr on its first call and
// returns the same *regexp.Regexp ever after; it panics, as MustCompile
// does, if expr is invalid.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// validate checks every field and fills in defaults. It returns all problems
// joined, each naming its key.
func (m *Manifest) validate(policy *Policy) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if m.Schema != SchemaVersion {
		bad("schema", "is %d, want %d", m.Schema, SchemaVersion)
	}
	if !nameRE().MatchString(m.Name) {
		bad("name", "%q does not match %s", m.Name, nameRE())
	}
	if !publisherRE().MatchString(m.Publisher) {
		bad("publisher", "%q does not match %s", m.Publisher, publisherRE())
	}
	if !semverRE().MatchString(m.Version) {
		bad("version", "%q is not a semantic version", m.Version)
	}
	if len(m.Description) > 1024 {
		bad("description", "longer than 1024 bytes")
	}
	if len(m.License) > 128 {
		bad("license", "longer than 128 bytes")
	}

	// Protocol.
	if len(m.Protocol.PluginAPI) == 0 {
		bad("protocol.plugin_api", "is empty")
	}
	served := false
	for i, v := range m.Protocol.PluginAPI {
		switch {
		case v < 1:
			bad("protocol.plugin_api", "%d is not a major version", v)
		case slices.Contains(m.Protocol.PluginAPI[:i], v):
			bad("protocol.plugin_api", "%d is listed twice", v)
		case slices.Contains(policy.apiVersions(), v):
			served = true
		}
	}
	if len(m.Protocol.PluginAPI) > 0 && !served {
		bad("protocol.plugin_api", "%v shares no version with this host's %v", m.Protocol.PluginAPI, policy.apiVersions())
	}
	if m.Protocol.MinHost != "" && !semverRE().MatchString(m.Protocol.MinHost) {
		bad("protocol.min_host", "%q is not a semantic version", m.Protocol.MinHost)
	}

	// Binaries.
	if len(m.Binaries) == 0 {
		bad("binary", "no [[binary]] entries")
	}
	for i, b := range m.Binaries {
		key := fmt.Sprintf("binary[%d]", i)
		if !platformRE().MatchString(b.OS) {
			bad(key+".os", "%q is not a GOOS", b.OS)
		}
		if !platformRE().MatchString(b.Arch) {
			bad(key+".arch", "%q is not a GOARCH", b.Arch)
		}
		if slices.ContainsFunc(m.Binaries[:i], func(o Binary) bool { return o.OS == b.OS && o.Arch == b.Arch }) {
			bad(key, "second binary for %s/%s", b.OS, b.Arch)
		}
		if err := checkRelPath(b.Path); err != nil {
			bad(key+".path", "%v", err)
		}
		if !sha256RE().MatchString(b.SHA256) {
			bad(key+".sha256", "want 64 lower-case hex digits")
		}
		if b.Size <= 0 || b.Size > MaxBinarySize {
			bad(key+".size", "%d is not in 1..%d", b.Size, MaxBinarySize)
		}
	}

	// Languages.
	if len(m.Languages.IDs) == 0 {
		bad("languages.ids", "is empty")
	}
	for i, id := range m.Languages.IDs {
		if !languageRE().MatchString(id) {
			bad("languages.ids", "%q is not a language id", id)
		} else if slices.Contains(m.Languages.IDs[:i], id) {
			bad("languages.ids", "%q is listed twice", id)
		}
	}
	for _, g := range m.Languages.FileGlobs {
		if err := checkGlob(g); err != nil {
			bad("languages.file_globs", "%q: %v", g, err)
		}
	}
	for _, r := range m.Languages.RootMarkers {
		if r == "" || r == "." || r == ".." || strings.ContainsAny(r, `/\`) {
			bad("languages.root_markers", "%q is not a file name", r)
		}
	}
	m.Languages.Activation = oneOf(bad, "languages.activation", m.Languages.Activation, "on-language", "workspace-contains", "eager")

	// Capabilities.
	for _, c := range m.Capabilities.LSP {
		if !slices.Contains(lspFeatures, c) {
			bad("capabilities.lsp", "%q is not a known feature", c)
		}
	}
	for _, c := range m.Capabilities.CustomMethods {
		if !methodRE().MatchString(c) {
			bad("capabilities.custom_methods", "%q is not a namespaced method such as publisher/method", c)
		}
	}

	// Permissions.
	for _, list := range []struct {
		key   string
		paths []string
	}{{"permissions.read", m.Permissions.Read}, {"permissions.write", m.Permissions.Write}, {"permissions.exec", m.Permissions.Exec}} {
		for i, p := range list.paths {
			if err := checkPermPath(p); err != nil {
				bad(list.key, "%q: %v", p, err)
			} else if slices.Contains(list.paths[:i], p) {
				bad(list.key, "%q is listed twice", p)
			}
		}
	}
	m.Permissions.Network = oneOf(bad, "permissions.network", m.Permissions.Network, "none", "loopback", "any")
	for i, e := range m.Permissions.Env {
		switch {
		case !envRE().MatchString(e):
			bad("permissions.env", "%q is not a variable name", e)
		case slices.ContainsFunc(deniedEnvPre, func(p string) bool { return strings.HasPrefix(e, p) }):
			bad("permissions.env", "%q may not be passed to plugins", e)
		case slices.Contains(m.Permissions.Env[:i], e):
			bad("permissions.env", "%q is listed twice", e)
		}
	}
	m.Permissions.UntrustedWorkspace = oneOf(bad, "permissions.untrusted_workspace", m.Permissions.UntrustedWorkspace, "unsupported", "limited", "supported")

	// Limits.
	max := policy.maxLimits()
	for _, l := range []struct {
		key      string
		v        *int
		max      int
		unit     string
		allowLow int
	}{
		{"limits.memory_mb", &m.Limits.MemoryMB, max.MemoryMB, "MiB", 16},
		{"limits.cpu_percent", &m.Limits.CPUPercent, max.CPUPercent, "%", 1},
		{"limits.max_pids", &m.Limits.MaxPids, max.MaxPids, "", 1},
		{"limits.max_open_files", &m.Limits.MaxOpenFiles, max.MaxOpenFiles, "", 16},
		{"limits.max_file_write_mb", &m.Limits.MaxFileWriteMB, max.MaxFileWriteMB, "MiB", 0},
		{"limits.start_timeout_ms", &m.Limits.StartTimeoutMS, max.StartTimeoutMS, "ms", 100},
	} {
		switch v := *l.v; {
		case v == 0:
			*l.v = l.max
		case v < l.allowLow || v < 0:
			bad(l.key, "%d is below the minimum %d", v, l.allowLow)
		case v > l.max:
			bad(l.key, "%d%s is over the host's limit of %d%s", v, l.unit, l.max, l.unit)
		}
	}
	return errors.Join(errs...)
}

// oneOf returns v, or the first choice when v is empty, and reports v if it
// is none of the choices.
func oneOf(bad func(key, format string, args ...any), key, v string, choices ...string) string {
	if v == "" {
		return choices[0]
	}
	if !slices.Contains(choices, v) {
		bad(key, "%q is not one of %s", v, strings.Join(choices, ", "))
	}
	return v
}

// checkRelPath accepts a clean, slash-separated path inside the plugin directory.
func checkRelPath(p string) error {
	switch {
	case p == "":
		return errors.New("is empty")
	case strings.Contains(p, `\`) || strings.ContainsRune(p, 0):
		return errors.New("must use forward slashes and no NUL")
	case path.IsAbs(p):
		return errors.New("must be relative to the plugin directory")
	case path.Clean(p) != p || p == ".":
		return errors.New("must be clean (no ., .., or doubled slashes)")
	case p == ".." || strings.HasPrefix(p, "../"):
		return errors.New("leaves the plugin directory")
	case p == ManifestFile || p == SignatureFile:
		return errors.New("names the manifest or its signature")
	}
	return nil
}

// checkGlob accepts a relative glob of path.Match segments, where a whole
// segment may also be "**".
func checkGlob(g string) error {
	if g == "" || path.IsAbs(g) || strings.Contains(g, `\`) {
		return errors.New("must be a non-empty relative slash-separated glob")
	}
	for seg := range strings.SplitSeq(g, "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return fmt.Errorf("bad segment %q", seg)
		case seg == "**":
		case strings.Contains(seg, "**"):
			return errors.New(`"**" must be a whole segment`)
		default:
			if _, err := path.Match(seg, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkPermPath accepts an absolute clean path, or ${var} followed by
// nothing or by a clean absolute remainder.
func checkPermPath(p string) error {
	rest := p
	if sm := pathVarRE().FindStringSubmatch(p); sm != nil {
		if !slices.Contains(pathVars, sm[1]) {
			return fmt.Errorf("unknown variable ${%s}; known: %s", sm[1], strings.Join(pathVars, ", "))
		}
		rest = p[len(sm[0]):]
		if rest == "" {
			return nil
		}
	}
	switch {
	case strings.Contains(rest, "$"):
		return errors.New("variables may only start a path")
	case !path.IsAbs(rest):
		return errors.New("must be absolute or start with a ${variable}")
	case path.Clean(rest) != rest || strings.Contains(rest, `\`):
		return errors.New("must be clean (no ., .., or doubled slashes)")
	case rest == "/":
		return errors.New("must not grant the whole file system")
	}
	return nil
}
