package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/gathering-dev/gathering/plugins/manifest"
	"github.com/gathering-dev/gathering/plugins/sdk"
	"github.com/gathering-dev/gathering/plugins/sdk/pluginv1"
)

// peer is the host's end of a session, over any frame transport.
type peer struct {
	t    *testing.T
	send func([]byte) error
	recv func() ([]byte, error)
	id   int
}

func (p *peer) notify(method string, params any) {
	p.t.Helper()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err := p.send(b); err != nil {
		p.t.Fatalf("send %s: %v", method, err)
	}
}

type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *sdk.Error      `json:"error"`
}

func (p *peer) next() message {
	p.t.Helper()
	b, err := p.recv()
	if err != nil {
		p.t.Fatalf("receive: %v", err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Fatalf("the plugin sent %q: %v", b, err)
	}
	return m
}

// call sends a request and returns its result, decoding it into out.
func (p *peer) call(method string, params, out any) {
	p.t.Helper()
	p.id++
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": p.id, "method": method, "params": params})
	if err := p.send(b); err != nil {
		p.t.Fatalf("send %s: %v", method, err)
	}
	m := p.next()
	if string(m.ID) != strconv.Itoa(p.id) || m.Error != nil {
		p.t.Fatalf("%s: got id %s error %v, want the answer to id %d", method, m.ID, m.Error, p.id)
	}
	if err := json.Unmarshal(m.Result, out); err != nil {
		p.t.Fatalf("%s: result %s: %v", method, m.Result, err)
	}
}

type published struct {
	URI         string       `json:"uri"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

func (p *peer) diagnostics() published {
	p.t.Helper()
	m := p.next()
	var d published
	if m.Method != "textDocument/publishDiagnostics" || json.Unmarshal(m.Params, &d) != nil {
		p.t.Fatalf("got %s %s, want publishDiagnostics", m.Method, m.Params)
	}
	return d
}

type hoverResult struct {
	Contents struct{ Value string } `json:"contents"`
	Range    lspRange               `json:"range"`
}

// exercise runs one session: the host offers encoding (or nothing), and
// the test checks diagnostics and hovers in that encoding.
func exercise(t *testing.T, p *peer, encoding string) {
	var init struct {
		Capabilities struct {
			PositionEncoding string `json:"positionEncoding"`
			HoverProvider    bool   `json:"hoverProvider"`
		} `json:"capabilities"`
	}
	caps := map[string]any{}
	if encoding == "utf-8" {
		caps["general"] = map[string]any{"positionEncodings": []string{"utf-8", "utf-16"}}
	}
	p.call("initialize", map[string]any{"capabilities": caps}, &init)
	if init.Capabilities.PositionEncoding != encoding || !init.Capabilities.HoverProvider {
		t.Fatalf("initialize = %+v, want hover in %s", init, encoding)
	}
	p.notify("initialized", map[string]any{})

	const uri = "file:///notes.md"
	// "😀" is 4 bytes in UTF-8 and 2 units in UTF-16.
	text := "# Notes\n😀 TODO: ship it\nplain line\r\n  TODO again\n"
	p.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "markdown", "version": 1, "text": text}})
	d := p.diagnostics()
	emoji := map[string]int{"utf-8": 4, "utf-16": 2}[encoding]
	want := []diagnostic{
		{Range: lspRange{position{1, emoji + 1}, position{1, emoji + 14}}, Severity: 3, Source: Name, Message: "TODO: ship it"},
		{Range: lspRange{position{3, 2}, position{3, 12}}, Severity: 3, Source: Name, Message: "TODO again"},
	}
	if d.URI != uri || fmt.Sprint(d.Diagnostics) != fmt.Sprint(want) {
		t.Fatalf("diagnostics %+v, want %+v", d, want)
	}

	var h hoverResult
	p.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": position{1, emoji + 10}}, &h)
	if h.Contents.Value != "word: `ship`" || h.Range != (lspRange{position{1, emoji + 7}, position{1, emoji + 11}}) {
		t.Fatalf("hover on ship = %+v", h)
	}
	var none any = "unset"
	p.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": position{1, emoji}}, &none)
	if none != nil {
		t.Fatalf("hover on a space = %v, want null", none)
	}

	p.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": uri, "version": 2}, "contentChanges": []any{map[string]any{"text": "all done\n"}}})
	if d := p.diagnostics(); len(d.Diagnostics) != 0 {
		t.Fatalf("after the change: %+v, want no diagnostics", d)
	}
	p.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": position{0, 5}}, &h)
	if h.Contents.Value != "word: `done`" {
		t.Fatalf("hover after the change = %+v", h)
	}
	p.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": uri}})
	if d := p.diagnostics(); d.URI != uri || d.Diagnostics == nil || len(d.Diagnostics) != 0 {
		t.Fatalf("after close: %+v, want an empty list", d)
	}
	var null any
	p.call("shutdown", nil, &null)
	p.notify("exit", nil)
}

func TestOverStdio(t *testing.T) {
	for _, encoding := range []string{"utf-16", "utf-8"} {
		t.Run(encoding, func(t *testing.T) {
			inR, inW := io.Pipe()
			outR, outW := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- sdk.ServeStdio(newServer(), inR, outW); outW.Close() }()
			t.Cleanup(func() { inW.Close(); outR.Close() })
			r := bufio.NewReader(outR)
			p := &peer{t: t,
				send: func(b []byte) error {
					_, err := fmt.Fprintf(inW, "Content-Length: %d\r\n\r\n%s", len(b), b)
					return err
				},
				recv: func() ([]byte, error) { return readFrame(r) },
			}
			exercise(t, p, encoding)
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("ServeStdio = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("exit did not end the session")
			}
		})
	}
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var n int
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == "\r\n" {
			break
		}
		fmt.Sscanf(line, "Content-Length: %d", &n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// TestBuildSignVerifyAndRun follows README.md: it builds the plugin, fills
// in the README's plugin.toml, signs it, has the host's verifier accept the
// directory, and runs the binary through go-plugin as the host does.
func TestBuildSignVerifyAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	root := filepath.Join(t.TempDir(), "plugins")
	dir := filepath.Join(root, "todo")
	bin := filepath.Join(dir, "bin", "todo")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```toml\n(schema = 1\n.*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README.md has no plugin.toml block")
	}
	toml := strings.NewReplacer(
		`"SHA256"`, strconv.Quote(hex.EncodeToString(sum[:])),
		"SIZE", strconv.Itoa(len(data)),
		`os = "linux"`, fmt.Sprintf("os = %q", runtime.GOOS),
		`arch = "amd64"`, fmt.Sprintf("arch = %q", runtime.GOARCH),
	).Replace(string(block[1]))
	if err := os.WriteFile(filepath.Join(dir, manifest.ManifestFile), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.SignatureFile), manifest.Sign(priv, []byte(toml)), 0o644); err != nil {
		t.Fatal(err)
	}
	trust, err := manifest.ParseTrust(fmt.Appendf(nil, "[[trusted_key]]\nid = %q\ned25519 = %q\npublishers = [\"example\"]\n",
		manifest.KeyID(pub), manifest.EncodePublicKey(pub)))
	if err != nil {
		t.Fatal(err)
	}
	verified, err := manifest.Verify(dir, &manifest.Options{Roots: []string{root}, Trust: trust})
	if err != nil {
		t.Fatalf("the host's verifier refuses the README's plugin: %v", err)
	}
	verified.Close()
	if m := verified.Manifest; m.Name != Name || m.Version != Version {
		t.Fatalf("plugin.toml names %s %s, main.go %s %s", m.Name, m.Version, Name, Version)
	}

	cmd := exec.Command(bin)
	cmd.Env = []string{}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.APIVersion: {pluginv1.PluginKey: &pluginv1.GRPCPlugin{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  pluginv1.DialOptions(0),
		Logger:           hclog.NewNullLogger(),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start the plugin: %v", err)
	}
	raw, err := rpc.Dispense(pluginv1.PluginKey)
	if err != nil {
		t.Fatal(err)
	}
	lp := raw.(pluginv1.LanguagePluginClient)
	info, err := lp.GetInfo(context.Background(), &pluginv1.GetInfoRequest{})
	if err != nil || info.Name != Name || info.Version != Version {
		t.Fatalf("GetInfo = %v, %v", info, err)
	}
	s, err := lp.Session(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t,
		send: func(b []byte) error { return s.Send(&pluginv1.Frame{Message: b}) },
		recv: func() ([]byte, error) {
			f, err := s.Recv()
			return f.GetMessage(), err
		},
	}
	exercise(t, p, "utf-8")
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("after exit: %v, want the session to end", err)
	}
}
