//go:build unix

package main

import (
	"io"
	"os"
	"syscall"
)

// pollable returns in and out as files Go's poller can wait on, when they
// are the process's own stdin and stdout and are pipes or sockets. A read
// then parks a goroutine instead of blocking an OS thread, so the request
// goroutine it starts runs on the same thread rather than waking another.
// restore puts the descriptors back in blocking mode for whoever shares
// them after this process; terminals are left alone.
func pollable(in io.Reader, out io.Writer) (io.Reader, io.Writer, func()) {
	var undo []int
	wrap := func(f *os.File, name string) *os.File {
		fd := int(f.Fd()) // Fd leaves the descriptor in blocking mode
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) != nil {
			return f
		}
		if kind := st.Mode & syscall.S_IFMT; kind != syscall.S_IFIFO && kind != syscall.S_IFSOCK {
			return f
		}
		if syscall.SetNonblock(fd, true) != nil {
			return f
		}
		undo = append(undo, fd)
		return os.NewFile(uintptr(fd), name)
	}
	if f, ok := in.(*os.File); ok && f == os.Stdin {
		in = wrap(f, "stdin")
	}
	if f, ok := out.(*os.File); ok && f == os.Stdout {
		out = wrap(f, "stdout")
	}
	return in, out, func() {
		for _, fd := range undo {
			syscall.SetNonblock(fd, false)
		}
	}
}
