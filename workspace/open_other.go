//go:build !unix

package workspace

import "os"

// openReadFlags opens files for reading. Outside Unix there are no named
// pipes in the file system to block on.
const openReadFlags = os.O_RDONLY
