package golang_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gathering-dev/gathering/plugins/builtin/golang"
	"github.com/gathering-dev/gathering/plugins/sdk"
)

// ExampleServer serves the go plugin over stdio framing, as the bench's
// direct peer does, and formats a file.
func ExampleServer() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	uri := "file://" + filepath.ToSlash(filepath.Join(dir, "main.go"))

	toPlugin, fromEditor := io.Pipe()
	toEditor, fromPlugin := io.Pipe()
	go func() {
		_ = sdk.ServeStdio(golang.Server(), toPlugin, fromPlugin)
		fromPlugin.Close()
	}()
	send := func(msg string) {
		fmt.Fprintf(fromEditor, "Content-Length: %d\r\n\r\n%s", len(msg), msg)
	}
	in := bufio.NewReader(toEditor)
	receive := func() json.RawMessage {
		var n int
		for {
			line, _ := in.ReadString('\n')
			if line = strings.TrimSpace(line); line == "" {
				break
			}
			n, _ = strconv.Atoi(strings.TrimPrefix(line, "Content-Length: "))
		}
		body := make([]byte, n)
		io.ReadFull(in, body)
		var msg struct{ Result json.RawMessage }
		json.Unmarshal(body, &msg)
		return msg.Result
	}

	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{"general":{"positionEncodings":["utf-8"]}}}}`)
	var init struct {
		Capabilities struct{ PositionEncoding string }
	}
	json.Unmarshal(receive(), &init)
	fmt.Println("encoding:", init.Capabilities.PositionEncoding)

	text, _ := json.Marshal("package main\nfunc  main( ) {}\n")
	send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"` + uri + `","languageId":"go","version":1,"text":` + string(text) + `}}}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"textDocument/formatting","params":{"textDocument":{"uri":"` + uri + `"},"options":{"tabSize":4,"insertSpaces":false}}}`)
	for {
		res := receive()
		if res == nil {
			continue // a notification (diagnostics)
		}
		fmt.Println("edits:", string(res))
		break
	}
	go io.Copy(io.Discard, in) // the rest: diagnostics, the shutdown answer
	send(`{"jsonrpc":"2.0","id":3,"method":"shutdown"}`)
	send(`{"jsonrpc":"2.0","method":"exit"}`)
	// Output:
	// encoding: utf-8
	// edits: [{"range":{"start":{"line":1,"character":0},"end":{"line":2,"character":0}},"newText":"\nfunc main() {}\n"}]
}
