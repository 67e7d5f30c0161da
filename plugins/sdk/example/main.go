// Command example is a complete gathering language plugin to copy: for plain
// text and Markdown it names the word under the cursor on hover and reports
// a diagnostic for every line with "TODO". README.md shows how to build,
// describe, sign and install it.
package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gathering-dev/gathering/plugins/sdk"
)

func main() {
	sdk.Serve(newServer())
}

// Name and Version must equal plugin.toml's: the host checks them.
const (
	Name    = "todo"
	Version = "0.1.0"
)

// todoPlugin holds the open documents of one session (the host starts one
// plugin process per editor session).
type todoPlugin struct {
	mu       sync.Mutex
	docs     map[string]string // uri → full text
	encoding string            // how positions count characters: utf-8 or utf-16
}

func newServer() *sdk.Server {
	p := &todoPlugin{docs: map[string]string{}, encoding: "utf-16"}
	return &sdk.Server{
		Info: sdk.Info{Name: Name, Version: Version},
		Requests: map[string]sdk.Handler{
			"initialize":         p.initialize,
			"textDocument/hover": p.hover,
		},
		Notifications: map[string]func(context.Context, *sdk.Conn, json.RawMessage){
			"textDocument/didOpen":   p.didOpen,
			"textDocument/didChange": p.didChange,
			"textDocument/didClose":  p.didClose,
		},
	}
}

// The few LSP types this plugin needs.
type (
	position struct {
		Line      int `json:"line"`
		Character int `json:"character"`
	}
	lspRange struct {
		Start position `json:"start"`
		End   position `json:"end"`
	}
	diagnostic struct {
		Range    lspRange `json:"range"`
		Severity int      `json:"severity"`
		Source   string   `json:"source"`
		Message  string   `json:"message"`
	}
	textDocument struct {
		URI  string `json:"uri"`
		Text string `json:"text"`
	}
)

// initialize says what the plugin does. It counts positions in UTF-8 when
// the host offers that, else in UTF-16, LSP's default.
func (p *todoPlugin) initialize(_ context.Context, _ *sdk.Conn, params json.RawMessage) (any, error) {
	var in struct {
		Capabilities struct {
			General struct {
				PositionEncodings []string `json:"positionEncodings"`
			} `json:"general"`
		} `json:"capabilities"`
	}
	if err := json.Unmarshal(params, &in); err != nil {
		return nil, &sdk.Error{Code: sdk.CodeInvalidParams, Message: "initialize: " + err.Error()}
	}
	p.mu.Lock()
	if slices.Contains(in.Capabilities.General.PositionEncodings, "utf-8") {
		p.encoding = "utf-8"
	}
	encoding := p.encoding
	p.mu.Unlock()
	return map[string]any{
		"capabilities": map[string]any{
			"positionEncoding": encoding,
			"textDocumentSync": map[string]any{"openClose": true, "change": 1}, // 1: whole text on every change
			"hoverProvider":    true,
		},
		"serverInfo": map[string]any{"name": Name, "version": Version},
	}, nil
}

func (p *todoPlugin) didOpen(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
	var in struct {
		TextDocument textDocument `json:"textDocument"`
	}
	if json.Unmarshal(params, &in) != nil {
		return
	}
	p.update(ctx, c, in.TextDocument.URI, in.TextDocument.Text)
}

func (p *todoPlugin) didChange(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
	var in struct {
		TextDocument   textDocument `json:"textDocument"`
		ContentChanges []struct {
			Text string `json:"text"`
		} `json:"contentChanges"`
	}
	if json.Unmarshal(params, &in) != nil || len(in.ContentChanges) == 0 {
		return
	}
	// With full sync the last change holds the whole new text.
	p.update(ctx, c, in.TextDocument.URI, in.ContentChanges[len(in.ContentChanges)-1].Text)
}

func (p *todoPlugin) didClose(ctx context.Context, c *sdk.Conn, params json.RawMessage) {
	var in struct {
		TextDocument textDocument `json:"textDocument"`
	}
	if json.Unmarshal(params, &in) != nil {
		return
	}
	p.mu.Lock()
	delete(p.docs, in.TextDocument.URI)
	p.mu.Unlock()
	publish(ctx, c, in.TextDocument.URI, []diagnostic{}) // clear them
}

// update keeps the new text and publishes its diagnostics: one for each
// line with "TODO", from "TODO" to the end of the line.
func (p *todoPlugin) update(ctx context.Context, c *sdk.Conn, uri, text string) {
	p.mu.Lock()
	p.docs[uri] = text
	encoding := p.encoding
	p.mu.Unlock()
	diags := []diagnostic{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		i := strings.Index(line, "TODO")
		if i < 0 {
			continue
		}
		diags = append(diags, diagnostic{
			Range:    lspRange{Start: position{n, width(line[:i], encoding)}, End: position{n, width(line, encoding)}},
			Severity: 3, // information
			Source:   Name,
			Message:  strings.TrimSpace(line[i:]),
		})
	}
	publish(ctx, c, uri, diags)
}

func publish(ctx context.Context, c *sdk.Conn, uri string, diags []diagnostic) {
	// A failure here means the session is over; there is no one to tell.
	_ = c.Notify(ctx, "textDocument/publishDiagnostics", map[string]any{"uri": uri, "diagnostics": diags})
}

// hover names the word under the cursor, or answers null when there is none.
func (p *todoPlugin) hover(_ context.Context, _ *sdk.Conn, params json.RawMessage) (any, error) {
	var in struct {
		TextDocument textDocument `json:"textDocument"`
		Position     position     `json:"position"`
	}
	if err := json.Unmarshal(params, &in); err != nil {
		return nil, &sdk.Error{Code: sdk.CodeInvalidParams, Message: "hover: " + err.Error()}
	}
	p.mu.Lock()
	text, ok := p.docs[in.TextDocument.URI]
	encoding := p.encoding
	p.mu.Unlock()
	if !ok {
		return nil, &sdk.Error{Code: sdk.CodeInvalidParams, Message: "hover: " + in.TextDocument.URI + " is not open"}
	}
	lines := strings.Split(text, "\n")
	if in.Position.Line < 0 || in.Position.Line >= len(lines) {
		return nil, nil
	}
	line := strings.TrimSuffix(lines[in.Position.Line], "\r")
	at := offset(line, in.Position.Character, encoding)
	start, end := at, at
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(line[:start])
		if !isWordRune(r) {
			break
		}
		start -= size
	}
	for end < len(line) {
		r, size := utf8.DecodeRuneInString(line[end:])
		if !isWordRune(r) {
			break
		}
		end += size
	}
	if start == end {
		return nil, nil
	}
	return map[string]any{
		"contents": map[string]any{"kind": "markdown", "value": "word: `" + line[start:end] + "`"},
		"range": lspRange{
			Start: position{in.Position.Line, width(line[:start], encoding)},
			End:   position{in.Position.Line, width(line[:end], encoding)},
		},
	}, nil
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// width is how many characters s counts as in the position encoding.
func width(s, encoding string) int {
	if encoding == "utf-8" {
		return len(s)
	}
	n := 0
	for _, r := range s {
		n += utf16Len(r)
	}
	return n
}

// offset turns a character position into a byte offset in line, clamped to
// the line.
func offset(line string, character int, encoding string) int {
	if encoding == "utf-8" {
		i := min(max(character, 0), len(line))
		for i > 0 && i < len(line) && !utf8.RuneStart(line[i]) {
			i--
		}
		return i
	}
	n := 0
	for i, r := range line {
		if n >= character {
			return i
		}
		n += utf16Len(r)
	}
	return len(line)
}

func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}
