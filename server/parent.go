package server

import (
	"log/slog"
	"time"
)

// watchParent ends the session when the process that started the server
// exits, as LSP asks of initialize's processId: an editor that dies without
// sending exit must not leave its server running. Only stdio sessions watch,
// since their client is the parent; a TCP client's pid may name a process
// on another machine. The session then ends with code 1, as an exit
// without shutdown does.
func (s *Session) watchParent(pid int) {
	if s.transport != TransportStdio || pid <= 0 {
		return
	}
	every := s.srv.cfg.Test.ParentPollInterval
	if every <= 0 {
		every = 2 * time.Second
	}
	done := s.conn.Done()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.exited:
				return
			case <-done:
				return
			case <-t.C:
				if !processAlive(pid) {
					s.log.Warn("the client process has exited; ending the session", slog.Int("pid", pid))
					s.exit(false)
					return
				}
			}
		}
	}()
}
