//go:build !linux

package lspbridge

import "os/exec"

// isolate does nothing here: process groups and the parent-death signal
// are what the Linux build uses, and gathering's plugins run on Linux.
func isolate(cmd *exec.Cmd) {}

// reap waits for the server to exit.
func reap(cmd *exec.Cmd) error { return cmd.Wait() }

// killGroup kills the server; children it started are not tracked here.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
