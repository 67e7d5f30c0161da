package launch

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// running makes p the process calls go to. It fails when the instance was
// closed meanwhile, or p died before it could become current (its watch saw
// the death first); the caller then stops p.
func (i *Instance) running(p *process) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return errClosed
	}
	if p.died {
		return errDiedEarly
	}
	if !i.started.IsZero() {
		i.restarts++
	}
	i.cur, i.state, i.reason = p, StateRunning, ""
	i.started = time.Now()
	i.level = p.level.String()
	return nil
}

var (
	errClosed    = errors.New("instance closed")
	errDiedEarly = errors.New("plugin died as it started")
)

// crash records a crash (p, the running process, died; or, with p nil, a
// restart failed) and decides what follows: the back-off before the next
// start, or no restart (disabled, or closed meanwhile). A process that was
// not running yet is not counted here: its launch fails and reports it.
func (i *Instance) crash(p *process, cause error) (time.Duration, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if p != nil {
		p.died = true
	}
	if i.closed || (p != nil && i.cur != p) {
		return 0, true
	}
	i.cur = nil
	now := time.Now()
	recent := i.crashes[:0]
	for _, t := range i.crashes {
		if now.Sub(t) < crashWindow {
			recent = append(recent, t)
		}
	}
	i.crashes = append(recent, now)
	n := len(i.crashes)
	if n >= crashLimit {
		i.state = StateDisabled
		i.reason = fmt.Sprintf("crashed %d times within %v; last: %v", n, crashWindow, cause)
		i.log.Error("plugin disabled", "crashes", n, "window", crashWindow, "error", cause)
		return 0, true
	}
	delay := min(backoffFirst<<(n-1), backoffMax)
	i.state = StateRestarting
	i.reason = fmt.Sprintf("crashed (%v); restart %d in %v", cause, n, delay)
	i.log.Warn("plugin crashed; restarting", "error", cause, "crashes", n, "backoff", delay)
	return delay, false
}

// supervise waits for the current process to die and starts a new one,
// until the instance is closed or disabled.
func (i *Instance) supervise(p *process) {
	defer close(i.superviseDone)
	for {
		select {
		case <-p.dead:
		case <-i.life.Done():
			return
		}
		go p.terminate(time.Now().Add(closeBudget))
		delay := p.next
		if p.disabled {
			return
		}
		for {
			select {
			case <-time.After(delay):
			case <-i.life.Done():
				return
			}
			np, err := i.restart()
			if err == nil {
				if err = i.running(np); err == nil {
					p = np
					break
				}
				np.terminate(time.Now().Add(closeBudget))
				if err == errClosed {
					return
				}
				err = fmt.Errorf("%w: %v", err, np.cause)
			}
			if i.life.Err() != nil {
				return
			}
			var stop bool
			if delay, stop = i.crash(nil, fmt.Errorf("restart failed: %w", err)); stop {
				return
			}
		}
	}
}

// restart launches a new process within the start and init timeouts; Close
// aborts it.
func (i *Instance) restart() (*process, error) {
	m := i.plugin.Manifest
	ctx, cancel := context.WithTimeout(i.life, time.Duration(m.Limits.StartTimeoutMS)*time.Millisecond+initTimeout)
	defer cancel()
	return i.launch(ctx)
}
