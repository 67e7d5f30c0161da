//go:build !unix

package server

// processAlive cannot tell on this platform, so the parent is taken as alive.
func processAlive(int) bool { return true }
