package report

import (
	"errors"
	"os"
	"runtime/pprof"
)

// CPUProfile starts a CPU profile written to path; stop ends it and closes
// the file. An empty path profiles nothing, and stop does nothing.
func CPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return errors.Join(f.Sync(), f.Close())
	}, nil
}
