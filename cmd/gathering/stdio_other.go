//go:build !unix

package main

import "io"

// pollable returns in and out unchanged where descriptors cannot be made
// non-blocking.
func pollable(in io.Reader, out io.Writer) (io.Reader, io.Writer, func()) {
	return in, out, func() {}
}
