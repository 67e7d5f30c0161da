//go:build linux

package sandbox

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// dropCapabilities empties the bounding, ambient, inheritable, permitted and
// effective sets, so that the plugin holds no capability even when it runs
// as uid 0 (in its user namespace, or on the host). A process that holds
// none has nothing to drop: no_new_privs already stops it gaining any.
// Capabilities are per thread: all says which threads (see [threads]).
func dropCapabilities(all threads) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	if data[0].Permitted|data[1].Permitted|data[0].Inheritable|data[1].Inheritable == 0 {
		return nil
	}
	if data[0].Permitted&(1<<unix.CAP_SETPCAP) != 0 {
		for c := 0; ; c++ {
			if err := all.prctl(unix.PR_CAPBSET_DROP, uintptr(c)); err == unix.EINVAL {
				break // past the last capability this kernel knows
			} else if err != nil {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	// Capset below clears the other threads' ambient sets too: no
	// capability stays ambient once it is not permitted.
	if err := threads(false).prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	data = [2]unix.CapUserData{}
	if err := all.capset(&hdr, &data); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
