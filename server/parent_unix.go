//go:build unix

package server

import (
	"errors"
	"syscall"
)

// processAlive reports whether pid names a running process. A process this
// user may not signal (EPERM) still exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
