//go:build linux

package lspbridge

import (
	"os/exec"
	"syscall"
	"time"

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
// reaped), then reaps it, and then the group's orphans where they are ours
// to reap.
func reap(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	var info unix.Siginfo
	for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
	}
	_ = unix.Kill(-pid, unix.SIGKILL)
	err := cmd.Wait()
	reapOrphans(pid)
	return err
}

// reapOrphans reaps the killed members of process group pgid that were
// reparented to this process, which happens when it is PID 1 of its PID
// namespace (a sandboxed plugin) or a child subreaper. Otherwise there is
// nothing of the group to wait for (ECHILD) and init reaps them. It waits
// at most drainWait for members that are still dying.
func reapOrphans(pgid int) {
	deadline := time.Now().Add(drainWait)
	for {
		wpid, err := unix.Wait4(-pgid, nil, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR || wpid > 0:
			continue
		case err != nil:
			return
		case time.Now().After(deadline):
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// killGroup sends SIGKILL to the server's whole process group.
func killGroup(cmd *exec.Cmd) {
	_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
}
