//go:build linux

package lspbridge

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// isolate puts the server in a process group of its own, so that killing
// the group also ends what it started (gopls runs `go list`, typescript-
// language-server forks tsserver), and asks the kernel to kill it if the
// bridge's process dies first.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// reap waits for the server to exit, kills whatever is left of its process
// group while the group's id still cannot be reused (the leader is not yet
// reaped), then reaps it.
func reap(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	var info unix.Siginfo
	for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
	}
	_ = unix.Kill(-pid, unix.SIGKILL)
	return cmd.Wait()
}

// killGroup sends SIGKILL to the server's whole process group.
func killGroup(cmd *exec.Cmd) {
	_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
}
