//go:build unix

package acceptance

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts cmd in a new process group, so that the servers a
// client spawned are killed with it when the test times out.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killProcessGroup kills whatever is left of cmd's process group after it
// exited: a server a failing client did not stop.
func killProcessGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // ESRCH when nothing is left
}
