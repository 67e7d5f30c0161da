package builtin_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/gathering-dev/gathering/plugins/builtin"
	"github.com/gathering-dev/gathering/plugins/manifest"
)

// Every built-in manifest is one a plugin.toml could hold: written out as
// TOML (with a binary, which built-ins do not have) it parses under the
// default policy, and parsing changes nothing (defaults already filled in).
func TestManifestsValid(t *testing.T) {
	names := map[string]bool{}
	for _, b := range builtin.List() {
		m := *b.Manifest
		if names[m.Name] {
			t.Errorf("two built-ins named %s", m.Name)
		}
		names[m.Name] = true
		if len(m.Binaries) != 0 {
			t.Errorf("%s: a built-in has no [[binary]]: gathering is its binary", m.Name)
		}
		if m.Publisher != builtin.Publisher || b.Run == nil {
			t.Errorf("%s: publisher %q, Run set %v", m.Name, m.Publisher, b.Run != nil)
		}
		m.Binaries = []manifest.Binary{{OS: "linux", Arch: "amd64", Path: "bin/x", SHA256: strings.Repeat("0", 64), Size: 1}}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(m); err != nil {
			t.Fatal(err)
		}
		parsed, err := manifest.Parse(buf.Bytes(), nil)
		if err != nil {
			t.Errorf("%s: %v\n%s", m.Name, err, buf.Bytes())
			continue
		}
		if !reflect.DeepEqual(*parsed, m) {
			t.Errorf("%s: parsing changed the manifest:\n%+v\n%+v", m.Name, *parsed, m)
		}
	}
	for _, want := range []string{"go", "gopls", "pyright", "typescript"} {
		if !names[want] {
			t.Errorf("no built-in %s", want)
		}
	}
}

func TestRunUnknown(t *testing.T) {
	if code := builtin.Run("no-such-plugin", nil); code != 2 {
		t.Fatalf("exit code %d", code)
	}
}

// TestMainArgv: Main runs a built-in from its whole argv, a test binary's
// own first, and refuses an argv that names none.
func TestMainArgv(t *testing.T) {
	var got []string
	extra := builtin.Builtin{Manifest: &manifest.Manifest{Name: "probe"}, Run: func(args []string) int { got = args; return 7 }}
	if code := builtin.Main([]string{"gathering", builtin.RunCommand, "probe", "a", "b"}, extra); code != 7 || len(got) != 2 || got[0] != "a" {
		t.Errorf("extra built-in: code %d, args %q", code, got)
	}
	for _, argv := range [][]string{
		{"gathering"},
		{"gathering", builtin.RunCommand},
		{"gathering", "other", "probe"},
		{"gathering", builtin.RunCommand, "no-such-plugin"},
	} {
		if code := builtin.Main(argv, extra); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", argv, code)
		}
	}
}
