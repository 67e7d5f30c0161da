package lspbridge_test

import (
	"context"
	"log"
	"os"

	"github.com/gathering-dev/gathering/plugins/builtin/lspbridge"
	"github.com/gathering-dev/gathering/plugins/sdk"
)

// A built-in plugin entry resolves its server on the host side, where the
// sandbox is set up from the Launch, and runs the bridge inside the plugin
// process with the resolved command line and environment.
func ExampleServerSpec_Resolve() {
	spec, _ := lspbridge.Lookup("gopls")
	launch, err := spec.Resolve(lspbridge.Where{StateDir: "/var/cache/gathering/plugins/gopls"})
	if err != nil {
		log.Fatal(err) // names scripts/langservers when gopls is not installed
	}
	// Host side: grant launch.Read, launch.Write and launch.Exec, network
	// launch.Network, and start `gathering plugin-run gopls` with
	// launch.Env as its environment and launch.Argv as its arguments.
	// Plugin side:
	sdk.ServeRaw(sdk.Info{Name: "gopls", Version: "0.23.0"}, func(ctx context.Context, t sdk.Transport) error {
		return lspbridge.Run(ctx, t, launch.Argv, lspbridge.Options{Env: os.Environ()})
	})
}
