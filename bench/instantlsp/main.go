// Command instantlsp is a language server that answers at once: canned
// answers to the hover, definition, references and completion that
// bench/pluginbench asks of its module, the size of gopls's own, and null
// to any other request. pluginbench times gathering and a bare relay in
// front of it beside it direct: against gopls, the few µs gathering adds
// are lost in gopls's own hundreds and in the ±5% two gopls processes
// differ by; here they are most of the round trip.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

// answers are the results by method, shaped like gopls's answers to the
// same requests in pluginbench's module.
var answers = map[string]string{
	"initialize": `{"capabilities":{"textDocumentSync":{"openClose":true,"change":2},"hoverProvider":true,` +
		`"definitionProvider":true,"referencesProvider":true,"completionProvider":{"triggerCharacters":["."]}},` +
		`"serverInfo":{"name":"instantlsp"}}`,
	"textDocument/hover": `{"contents":{"kind":"markdown","value":"` + "```go\\nfunc lib.Greet(name string) string\\n```\\n\\n" +
		`Greet says hello to name.\n\n\n[` + "`lib.Greet` on pkg.go.dev](https://pkg.go.dev/example.com/mod/lib#Greet)" + `"},` +
		`"range":{"start":{"line":11,"character":17},"end":{"line":11,"character":22}}}`,
	"textDocument/definition": `[{"uri":"file:///mod/lib/lib.go","range":{"start":{"line":3,"character":5},"end":{"line":3,"character":10}}}]`,
	"textDocument/references": `[{"uri":"file:///mod/main.go","range":{"start":{"line":11,"character":17},"end":{"line":11,"character":22}}},` +
		`{"uri":"file:///mod/main.go","range":{"start":{"line":12,"character":17},"end":{"line":12,"character":22}}},` +
		`{"uri":"file:///mod/lib/lib.go","range":{"start":{"line":3,"character":5},"end":{"line":3,"character":10}}}]`,
	"textDocument/completion": `{"isIncomplete":true,"items":[{"label":"Greet","kind":3,"detail":"func(name string) string",` +
		`"documentation":{"kind":"markdown","value":"Greet says hello to name.\n"},"preselect":true,"sortText":"00000",` +
		`"filterText":"Greet","insertTextFormat":1,"textEdit":{"range":{"start":{"line":11,"character":17},` +
		`"end":{"line":11,"character":17}},"newText":"Greet"}},{"label":"Shout","kind":3,"detail":"func(s string) string",` +
		`"documentation":{"kind":"markdown","value":"Shout is loud.\n"},"sortText":"00001","filterText":"Shout",` +
		`"insertTextFormat":1,"textEdit":{"range":{"start":{"line":11,"character":17},"end":{"line":11,"character":17}},"newText":"Shout"}}]}`,
}

func main() {
	if err := serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "instantlsp:", err)
		os.Exit(1)
	}
}

// serve answers requests on r and w until exit or the end of r.
func serve(r io.Reader, w io.Writer) error {
	t := sdk.NewStdioTransport(r, w, 16<<20)
	for {
		msg, err := t.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			return fmt.Errorf("not a JSON-RPC message: %w", err)
		}
		switch {
		case m.Method == "exit":
			return nil
		case m.ID == nil || m.Method == "":
			continue // a notification, or an answer to nothing we asked
		}
		result, ok := answers[m.Method]
		if !ok {
			result = "null"
		}
		if err := t.Write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":%s}`, m.ID, result)); err != nil {
			return err
		}
	}
}
