package lspbridge_test

import (
	"fmt"
	"log"

	"github.com/gathering-dev/gathering/plugins/builtin/lspbridge"
)

// A built-in plugin entry resolves its server on the host side, where the
// sandbox is set up from the Launch: the host grants launch.Read,
// launch.Write and launch.Exec and network launch.Network, and starts
// `gathering plugin-run gopls` with launch.Env as its environment and
// launch.Argv as its arguments; inside the sandbox that becomes the server,
// and the host speaks LSP with it over its stdin and stdout.
func ExampleServerSpec_Resolve() {
	spec, _ := lspbridge.Lookup("gopls")
	launch, err := spec.Resolve(lspbridge.Where{StateDir: "/var/cache/gathering/plugins/gopls"})
	if err != nil {
		log.Fatal(err) // names scripts/langservers when gopls is not installed
	}
	fmt.Println(launch.Argv, launch.Network)
}
