//go:build unix

package workspace

import (
	"os"
	"syscall"
)

// openReadFlags opens files for reading without blocking, so that a named
// pipe in a project cannot stall [Root.ReadFile] or [Root.ReadDir] until a
// writer appears. It changes nothing for regular files and directories.
const openReadFlags = os.O_RDONLY | syscall.O_NONBLOCK
