// Command stdiopeer is the startup benchmark's peer: the bare
// github.com/sourcegraph/jsonrpc2 server of package peer, serving one client
// on stdin/stdout as an editor spawns a language server. It answers
// initialize with empty capabilities, echoes other requests, and exits on
// the exit notification or at the end of stdin. With -async it replies from
// a goroutine per request, as gathering does, instead of on its read
// goroutine.
//
// It is what a Go language server on gathering's JSON-RPC library costs to
// start and to keep idle before it does anything of its own: the runtime,
// the library and encoding/json, and nothing else.
package main

import (
	"context"
	"flag"
	"io"
	"os"
	"sync"

	"github.com/gathering-dev/gathering/bench/internal/peer"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run serves until exit (code 0) or the end of the stream (code 1).
func run(ctx context.Context, args []string, stdin io.ReadCloser, stdout io.WriteCloser, stderr io.Writer) int {
	fs := flag.NewFlagSet("stdiopeer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	async := fs.Bool("async", false, "reply from a goroutine per request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	exited := make(chan struct{})
	var once sync.Once
	conn := peer.Serve(ctx, stdio{stdin, stdout}, &peer.Handler{
		Async:  *async,
		OnExit: func() { once.Do(func() { close(exited) }) },
	})
	select {
	case <-exited:
		conn.Close()
		return 0
	case <-conn.DisconnectNotify():
		return 1
	}
}

// stdio joins stdin and stdout into one stream.
type stdio struct {
	io.ReadCloser
	io.WriteCloser
}

func (s stdio) Close() error {
	s.ReadCloser.Close()
	return s.WriteCloser.Close()
}
