package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

const binaryBlock = `[[binary]]
os = "linux"
arch = "amd64"
path = "bin/demo"
sha256 = "SHA"
size = SIZE
`

// baseManifest is a valid manifest with every section; BINARY stands for
// binaryBlock, SHA and SIZE for the binary's digest and size.
const baseManifest = `schema = 1
name = "demo"
version = "1.2.3"
publisher = "acme"
description = "a test plugin"
license = "MIT"

[protocol]
plugin_api = [1]
min_host = "0.1.0"

BINARY
[languages]
ids = ["go", "gomod"]
file_globs = ["**/*.go", "**/go.mod"]
root_markers = ["go.mod", ".git"]
activation = "on-language"

[capabilities]
lsp = ["hover", "completion"]
custom_methods = ["acme/tidy"]

[permissions]
read = ["${workspace}", "${goroot}"]
write = ["${plugin_cache}"]
exec = ["${plugin_dir}/bin"]
network = "none"
env = ["GOFLAGS"]
untrusted_workspace = "limited"

[limits]
memory_mb = 1024
start_timeout_ms = 5000
`

// manifestText returns baseManifest for a binary with the given digest and
// size on goos/goarch.
func manifestText(sha string, size int64, goos, goarch string) string {
	b := strings.NewReplacer("SHA", sha, "SIZE", fmt.Sprint(size), `"linux"`, fmt.Sprintf("%q", goos), `"amd64"`, fmt.Sprintf("%q", goarch)).Replace(binaryBlock)
	return strings.Replace(baseManifest, "BINARY", b, 1)
}

const testSHA = "9f2c0000000000000000000000000000000000000000000000000000000000aa"

func TestParseValid(t *testing.T) {
	m, err := Parse([]byte(manifestText(testSHA, 42, "linux", "amd64")), nil)
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if m.Name != "demo" || m.Version != "1.2.3" || m.Publisher != "acme" || len(m.Binaries) != 1 || m.Binaries[0].Size != 42 {
		t.Errorf("Parse = %+v", m)
	}
	want := DefaultLimits()
	want.MemoryMB, want.StartTimeoutMS = 1024, 5000
	if m.Limits != want {
		t.Errorf("Limits = %+v, want %+v (asked values kept, zero ones defaulted)", m.Limits, want)
	}
}

func TestParseDefaults(t *testing.T) {
	text := manifestText(testSHA, 42, "linux", "amd64")
	for _, drop := range []string{"activation = \"on-language\"\n", "network = \"none\"\n", "untrusted_workspace = \"limited\"\n", "memory_mb = 1024\n", "start_timeout_ms = 5000\n"} {
		text = strings.Replace(text, drop, "", 1)
	}
	m, err := Parse([]byte(text), &Policy{MaxLimits: Limits{MemoryMB: 512}})
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if m.Languages.Activation != "on-language" || m.Permissions.Network != "none" || m.Permissions.UntrustedWorkspace != "unsupported" {
		t.Errorf("defaults: activation %q, network %q, untrusted_workspace %q", m.Languages.Activation, m.Permissions.Network, m.Permissions.UntrustedWorkspace)
	}
	if m.Limits.MemoryMB != 512 || m.Limits.StartTimeoutMS != 10000 || m.Limits.MaxPids != 128 {
		t.Errorf("Limits = %+v, want the policy's maxima", m.Limits)
	}
}

func TestParseRefusals(t *testing.T) {
	base := manifestText(testSHA, 42, "linux", "amd64")
	for _, test := range []struct {
		name     string
		old, new string // replace old by new in base; old "" appends new
		policy   *Policy
		step     Step
		want     string // in the error
	}{
		{"bad toml", `name = "demo"`, `name = demo`, nil, StepParse, "demo"},
		{"duplicate key", `license = "MIT"`, "license = \"MIT\"\nlicense = \"BSD\"", nil, StepParse, "license"},
		{"unknown top-level key", `license = "MIT"`, "license = \"MIT\"\ncolor = \"red\"", nil, StepParse, "unknown keys: color"},
		{"unknown nested key", `network = "none"`, "network = \"none\"\nsockets = true", nil, StepParse, "permissions.sockets"},
		{"unknown table", "", "\n[extras]\nx = 1\n", nil, StepParse, "extras"},
		{"wrong type", `size = 42`, `size = "42"`, nil, StepParse, "size"},
		{"too large", "", "\n#" + strings.Repeat("x", MaxManifestSize), nil, StepManifest, "limit"},
		{"schema", `schema = 1`, `schema = 2`, nil, StepValidate, "schema: is 2"},
		{"name upper case", `name = "demo"`, `name = "Demo"`, nil, StepValidate, "name:"},
		{"name too short", `name = "demo"`, `name = "d"`, nil, StepValidate, "name:"},
		{"publisher", `publisher = "acme"`, `publisher = "acme!"`, nil, StepValidate, "publisher:"},
		{"version short", `version = "1.2.3"`, `version = "1.2"`, nil, StepValidate, "version:"},
		{"version leading zero", `version = "1.2.3"`, `version = "01.2.3"`, nil, StepValidate, "version:"},
		{"description long", `description = "a test plugin"`, `description = "` + strings.Repeat("d", 1025) + `"`, nil, StepValidate, "description:"},
		{"api empty", `plugin_api = [1]`, `plugin_api = []`, nil, StepValidate, "protocol.plugin_api: is empty"},
		{"api zero", `plugin_api = [1]`, `plugin_api = [0, 1]`, nil, StepValidate, "0 is not a major"},
		{"api twice", `plugin_api = [1]`, `plugin_api = [1, 1]`, nil, StepValidate, "listed twice"},
		{"api not served", `plugin_api = [1]`, `plugin_api = [7]`, nil, StepValidate, "shares no version"},
		{"api served by policy", `plugin_api = [1]`, `plugin_api = [1]`, &Policy{APIVersions: []int{2}}, StepValidate, "shares no version"},
		{"min_host", `min_host = "0.1.0"`, `min_host = "latest"`, nil, StepValidate, "protocol.min_host"},
		{"binary os", `os = "linux"`, `os = "Linux"`, nil, StepValidate, "binary[0].os"},
		{"binary arch", `arch = "amd64"`, `arch = ""`, nil, StepValidate, "binary[0].arch"},
		{"binary twice", "", "\n" + strings.NewReplacer("SHA", testSHA, "SIZE", "42").Replace(binaryBlock), nil, StepValidate, "second binary"},
		{"binary path absolute", `path = "bin/demo"`, `path = "/usr/bin/demo"`, nil, StepValidate, "must be relative"},
		{"binary path escapes", `path = "bin/demo"`, `path = "../demo"`, nil, StepValidate, "binary[0].path"},
		{"binary path unclean", `path = "bin/demo"`, `path = "bin/../../demo"`, nil, StepValidate, "must be clean"},
		{"binary path backslash", `path = "bin/demo"`, `path = "bin\\demo"`, nil, StepValidate, "forward slashes"},
		{"binary path manifest", `path = "bin/demo"`, `path = "plugin.toml"`, nil, StepValidate, "names the manifest"},
		{"binary path empty", `path = "bin/demo"`, `path = ""`, nil, StepValidate, "is empty"},
		{"sha256 upper case", testSHA, strings.ToUpper(testSHA), nil, StepValidate, "binary[0].sha256"},
		{"sha256 short", testSHA, "abcd", nil, StepValidate, "binary[0].sha256"},
		{"size zero", `size = 42`, `size = 0`, nil, StepValidate, "binary[0].size"},
		{"size huge", `size = 42`, fmt.Sprintf("size = %d", MaxBinarySize+1), nil, StepValidate, "binary[0].size"},
		{"no language", `ids = ["go", "gomod"]`, `ids = []`, nil, StepValidate, "languages.ids: is empty"},
		{"language id", `ids = ["go", "gomod"]`, `ids = ["Go Lang"]`, nil, StepValidate, "not a language id"},
		{"language twice", `ids = ["go", "gomod"]`, `ids = ["go", "go"]`, nil, StepValidate, "listed twice"},
		{"glob absolute", `"**/go.mod"]`, `"/etc/*.go"]`, nil, StepValidate, "languages.file_globs"},
		{"glob syntax", `"**/go.mod"]`, `"**/[.go"]`, nil, StepValidate, "syntax error in pattern"},
		{"glob partial doublestar", `"**/go.mod"]`, `"a**/x"]`, nil, StepValidate, "whole segment"},
		{"glob parent", `"**/go.mod"]`, `"../*.go"]`, nil, StepValidate, "bad segment"},
		{"root marker path", `root_markers = ["go.mod", ".git"]`, `root_markers = ["a/go.mod"]`, nil, StepValidate, "languages.root_markers"},
		{"activation", `activation = "on-language"`, `activation = "lazy"`, nil, StepValidate, "languages.activation"},
		{"lsp feature", `lsp = ["hover", "completion"]`, `lsp = ["telepathy"]`, nil, StepValidate, "capabilities.lsp"},
		{"custom method", `custom_methods = ["acme/tidy"]`, `custom_methods = ["tidy"]`, nil, StepValidate, "capabilities.custom_methods"},
		{"read relative", `read = ["${workspace}", "${goroot}"]`, `read = ["src"]`, nil, StepValidate, "permissions.read"},
		{"read unknown variable", `read = ["${workspace}", "${goroot}"]`, `read = ["${secrets}/x"]`, nil, StepValidate, "unknown variable"},
		{"read escapes variable", `read = ["${workspace}", "${goroot}"]`, `read = ["${workspace}/../etc"]`, nil, StepValidate, "must be clean"},
		{"read whole disk", `read = ["${workspace}", "${goroot}"]`, `read = ["/"]`, nil, StepValidate, "whole file system"},
		{"read variable later", `read = ["${workspace}", "${goroot}"]`, `read = ["/home/${home}"]`, nil, StepValidate, "only start"},
		{"write twice", `write = ["${plugin_cache}"]`, `write = ["${plugin_cache}", "${plugin_cache}"]`, nil, StepValidate, "listed twice"},
		{"exec relative", `exec = ["${plugin_dir}/bin"]`, `exec = ["bin"]`, nil, StepValidate, "permissions.exec"},
		{"network", `network = "none"`, `network = "internet"`, nil, StepValidate, "permissions.network"},
		{"env syntax", `env = ["GOFLAGS"]`, `env = ["A-B"]`, nil, StepValidate, "not a variable name"},
		{"env loader", `env = ["GOFLAGS"]`, `env = ["LD_PRELOAD"]`, nil, StepValidate, "may not be passed"},
		{"env host secret", `env = ["GOFLAGS"]`, `env = ["GATHERING_DATABASE_URL"]`, nil, StepValidate, "may not be passed"},
		{"env twice", `env = ["GOFLAGS"]`, `env = ["GOFLAGS", "GOFLAGS"]`, nil, StepValidate, "listed twice"},
		{"untrusted workspace", `untrusted_workspace = "limited"`, `untrusted_workspace = "maybe"`, nil, StepValidate, "permissions.untrusted_workspace"},
		{"memory over host", `memory_mb = 1024`, `memory_mb = 4096`, nil, StepValidate, "over the host's limit"},
		{"memory over policy", `memory_mb = 1024`, `memory_mb = 1024`, &Policy{MaxLimits: Limits{MemoryMB: 512}}, StepValidate, "limits.memory_mb: 1024MiB is over the host's limit of 512MiB"},
		{"negative limit", `memory_mb = 1024`, `memory_mb = 1024` + "\nmax_pids = -1", nil, StepValidate, "limits.max_pids"},
		{"timeout over host", `start_timeout_ms = 5000`, `start_timeout_ms = 60000`, nil, StepValidate, "limits.start_timeout_ms"},
	} {
		t.Run(test.name, func(t *testing.T) {
			text := base + test.new
			if test.old != "" {
				if !strings.Contains(base, test.old) {
					t.Fatalf("base manifest has no %q", test.old)
				}
				text = strings.Replace(base, test.old, test.new, 1)
			}
			_, err := Parse([]byte(text), test.policy)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, want an *Error at step %s", err, test.step)
			}
			if e.Step != test.step || !strings.Contains(err.Error(), test.want) {
				t.Errorf("Parse = %v (step %s), want step %s with %q", err, e.Step, test.step, test.want)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	text := strings.NewReplacer(`name = "demo"`, `name = "D"`, `network = "none"`, `network = "all"`).Replace(manifestText(testSHA, 42, "linux", "amd64"))
	_, err := Parse([]byte(text), nil)
	if err == nil || !strings.Contains(err.Error(), "name:") || !strings.Contains(err.Error(), "permissions.network:") {
		t.Errorf("Parse = %v, want both the name and the network named", err)
	}
}

func TestParseNoBinary(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(baseManifest, "BINARY", "", 1)), nil)
	if e, ok := errors.AsType[*Error](err); !ok || e.Step != StepValidate || !strings.Contains(err.Error(), "no [[binary]]") {
		t.Errorf("Parse without [[binary]] = %v, want a validate error", err)
	}
}

// TestPatternsCompile compiles every pattern, which init no longer does.
func TestPatternsCompile(t *testing.T) {
	for _, re := range []func() *regexp.Regexp{nameRE, publisherRE, semverRE, platformRE, sha256RE, languageRE, envRE, methodRE, pathVarRE} {
		if re() != re() {
			t.Errorf("%s compiled twice", re())
		}
	}
}
