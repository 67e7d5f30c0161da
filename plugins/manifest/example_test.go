package manifest_test

import (
	"errors"
	"fmt"

	"github.com/gathering-dev/gathering/plugins/manifest"
)

func ExampleParse() {
	m, err := manifest.Parse([]byte(`schema = 1
name = "demo"
version = "0.1.0"
publisher = "acme"

[protocol]
plugin_api = [1]

[[binary]]
os = "linux"
arch = "amd64"
path = "bin/demo"
sha256 = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
size = 1

[languages]
ids = ["go"]

[limits]
memory_mb = 512
`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Name, m.Version, m.Permissions.Network, m.Limits.MemoryMB, m.Limits.MaxPids)

	_, err = manifest.Parse([]byte("schema = 1\nname = \"demo\"\nshell = true\n"), nil)
	if e, ok := errors.AsType[*manifest.Error](err); ok {
		fmt.Println(e.Step, e.Err)
	}
	// Output:
	// demo 0.1.0 none 512 128
	// parse unknown keys: shell
}
