package launch_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/plugins/manifest"
)

const examplePkg = "plugins/sdk/example"

func TestDirPluginVerifiedAndStarted(t *testing.T) {
	bin := buildPlugin(t, examplePkg)
	s := newSigner(t, "acme")
	root := t.TempDir()
	dir := pluginDir(t, s, root, "todo", "0.1.0", bin, "")
	cfg := config(t)
	cfg.Dirs, cfg.Trust = []string{root}, s.trust
	set := load(t, cfg)
	p := set.Lookup("todo")
	if p == nil || p.Refused != nil || p.Source != dir || p.KeyID == "" || p.Builtin() {
		t.Fatalf("todo: %+v", p)
	}
	rec := newRecorder()
	ws := t.TempDir()
	i := start(t, set, "todo", launch.StartOptions{
		Handler: rec,
		Folders: []launch.Folder{{URI: "file://" + ws, Path: ws}},
		Init: func(ctx context.Context, i *launch.Instance) error {
			if _, err := i.Call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}}); err != nil {
				return err
			}
			return i.Notify(ctx, "initialized", map[string]any{})
		},
	})
	ctx := context.Background()
	uri := "file://" + ws + "/notes.txt"
	if err := i.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "todo", "version": 1, "text": "x\n// TODO: test me\n"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { return rec.n("textDocument/publishDiagnostics") > 0 }, "diagnostics")
	if notes := rec.snapshot(); !strings.Contains(notes[len(notes)-1], "TODO: test me") {
		t.Fatalf("diagnostics: %v", notes)
	}
	got, err := i.Call(ctx, "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 1, "character": 5}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hover: %s", got)
}

// refusal asserts that plugin name was refused at step.
func refusal(t *testing.T, set *launch.Set, name string, step manifest.Step) {
	t.Helper()
	for _, p := range set.Plugins() {
		if p.Name() == name {
			if p.Step() != step {
				t.Fatalf("%s: refused %v (step %q), want step %q", name, p.Refused, p.Step(), step)
			}
			if !strings.Contains(p.Refused.Error(), string(step)) {
				t.Fatalf("%s: refusal %q does not name its step %q", name, p.Refused, step)
			}
			if _, err := launch.Start(context.Background(), p, launch.StartOptions{}); err != p.Refused {
				t.Fatalf("%s: Start of a refused plugin returned %v", name, err)
			}
			return
		}
	}
	t.Fatalf("%s not found", name)
}

func TestRefusalsNameTheirStep(t *testing.T) {
	bin := buildPlugin(t, examplePkg)
	s := newSigner(t, "acme")
	other := newSigner(t, "someone-else")
	root, dev := t.TempDir(), t.TempDir()

	// The binary changed after it was signed.
	tampered := pluginDir(t, s, root, "tampered", "0.1.0", bin, "")
	f, err := os.OpenFile(filepath.Join(tampered, "bin", "tampered"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0x7f, 'E', 'L', 'G'}, 0)
	f.Close()
	// No signature, outside any dev override.
	pluginDir(t, nil, root, "unsigned", "0.1.0", bin, "")
	// Signed by a key that may not sign for publisher acme.
	pluginDir(t, other, root, "foreign", "0.1.0", bin, "")
	// A second plugin named like a built-in.
	pluginDir(t, s, root, "echo", "1.0.0", bin, "")
	// Unsigned in a dev override: loads, with a warning.
	pluginDir(t, nil, dev, "devtodo", "0.1.0", bin, "")

	trust := &manifest.Trust{Keys: append(append([]manifest.TrustedKey{}, s.trust.Keys...), other.trust.Keys...)}
	cfg := config(t, "echo")
	cfg.Dirs, cfg.DevOverrides, cfg.Trust = []string{root}, []string{dev}, trust
	set := load(t, cfg)
	refusal(t, set, "tampered", manifest.StepDigest)
	refusal(t, set, "unsigned", manifest.StepSignature)
	refusal(t, set, "foreign", manifest.StepPublisher)
	var dup *launch.Plugin
	for _, p := range set.Plugins() {
		if p.Name() == "echo" && !p.Builtin() {
			dup = p
		}
	}
	if dup == nil || dup.Step() != launch.StepDuplicate {
		t.Fatalf("a directory plugin named like the echo built-in: %+v", dup)
	}
	if p := set.Lookup("echo"); p == nil || !p.Builtin() {
		t.Fatalf("the echo built-in lost to a directory plugin: %+v", p)
	}
	p := set.Lookup("devtodo")
	if p == nil || len(p.Warnings) == 0 || p.KeyID != "" {
		t.Fatalf("unsigned dev plugin: %+v", p)
	}
}

func TestIdentityCheckedAgainstManifest(t *testing.T) {
	bin := buildPlugin(t, examplePkg)
	s := newSigner(t, "acme")
	root := t.TempDir()
	// The manifest promises 0.2.0; the binary says it is todo 0.1.0.
	pluginDir(t, s, root, "todo", "0.2.0", bin, "")
	cfg := config(t)
	cfg.Dirs, cfg.Trust = []string{root}, s.trust
	set := load(t, cfg)
	_, err := launch.Start(context.Background(), set.Lookup("todo"), launch.StartOptions{})
	var me *manifest.Error
	if !errors.As(err, &me) || me.Step != launch.StepIdentity || !strings.Contains(err.Error(), `"0.1.0"`) {
		t.Fatalf("Start: %v", err)
	}
	assertNoChildren(t)
}

func TestBinaryChangedAfterLoad(t *testing.T) {
	bin := buildPlugin(t, examplePkg)
	s := newSigner(t, "acme")
	root := t.TempDir()
	dir := pluginDir(t, s, root, "todo", "0.1.0", bin, "")
	cfg := config(t)
	cfg.Dirs, cfg.Trust = []string{root}, s.trust
	set := load(t, cfg)
	// The verified file is held open; changing it in place is seen when it
	// is copied into the memfd, and nothing runs.
	f, err := os.OpenFile(filepath.Join(dir, "bin", "todo"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("tampered"), 4096)
	f.Close()
	_, err = launch.Start(context.Background(), set.Lookup("todo"), launch.StartOptions{})
	var me *manifest.Error
	if !errors.As(err, &me) || me.Step != manifest.StepDigest {
		t.Fatalf("Start after the binary changed: %v", err)
	}
}
