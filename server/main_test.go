package server

import (
	"os"
	"testing"

	"github.com/gathering-dev/gathering/plugins/sandbox"
)

// The test binary is the sandbox launcher of the plugins its tests start,
// as the gathering binary is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == sandbox.LauncherCommand {
		os.Exit(sandbox.LauncherMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}
