package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gathering-dev/gathering/plugins/manifest"
)

// The plugin commands make, check and list signed plugins.

const pluginSynopsis = `Usage:
  gathering plugin list [settings]
      verifies and lists every plugin serve would load (built-ins and the
      plugin directories): version, publisher, key, languages and state
  gathering plugin keygen --out PREFIX [--publisher P]
      writes PREFIX.key (0600, the private key) and PREFIX.pub, and prints
      the key id and a [[trusted_key]] entry for a trust file
  gathering plugin sign --key FILE DIR
      signs DIR/plugin.toml's exact bytes into DIR/plugin.toml.sig
  gathering plugin verify [--trust FILE] [--dev] DIR
      runs every verification step on DIR, with DIR's parent as the allowed
      plugin root; --dev lets DIR be unsigned, with a warning`

// pluginCmd dispatches gathering plugin list|keygen|sign|verify.
func pluginCmd(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprintln(stderr, pluginSynopsis)
		return 0, errUsage
	}
	switch args[0] {
	case "keygen":
		return 0, pluginKeygen(args[1:], stdout, stderr)
	case "sign":
		return 0, pluginSign(args[1:], stdout, stderr)
	case "verify":
		return pluginVerify(args[1:], stdout, stderr)
	case "list":
		return pluginList(args[1:], stdout, stderr)
	case "help", "--help", "-help", "-h":
		fmt.Fprintln(stdout, pluginSynopsis)
		return 0, nil
	}
	fmt.Fprintf(stderr, "gathering plugin: unknown command %q\n\n%s\n", args[0], pluginSynopsis)
	return 0, errUsage
}

// parsePluginFlags parses flags given before or after the positional
// arguments and returns the positional ones.
func parsePluginFlags(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), pluginSynopsis) }
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func pluginKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugin keygen", flag.ContinueOnError)
	out := fs.String("out", "", "write the key pair to `PREFIX`.key and PREFIX.pub")
	publisher := fs.String("publisher", "your-publisher", "publisher `P` to put in the printed trust entry")
	pos, err := parsePluginFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) != 0 {
		fmt.Fprintln(stderr, pluginSynopsis)
		return errUsage
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	// O_EXCL: never overwrite a key someone may have published.
	if err := writeNew(*out+".key", manifest.EncodePrivateKey(priv), 0o600); err != nil {
		return err
	}
	if err := writeNew(*out+".pub", []byte(manifest.EncodePublicKey(pub)+"\n"), 0o644); err != nil {
		return err
	}
	id := manifest.KeyID(pub)
	fmt.Fprintf(stdout, "key id %s\nprivate key %s.key (keep it secret)\npublic key %s.pub\n\nTo trust it, add to the host's trust file:\n\n", id, *out, *out)
	fmt.Fprintf(stdout, "[[trusted_key]]\nid = %q\ned25519 = %q\npublishers = [%q]\n", id, manifest.EncodePublicKey(pub), *publisher)
	return nil
}

// writeNew creates name with data and mode, failing if it exists.
func writeNew(name string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func pluginSign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugin sign", flag.ContinueOnError)
	keyFile := fs.String("key", "", "private key `FILE` from gathering plugin keygen")
	pos, err := parsePluginFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if *keyFile == "" || len(pos) != 1 {
		fmt.Fprintln(stderr, pluginSynopsis)
		return errUsage
	}
	dir := pos[0]
	fi, err := os.Stat(*keyFile)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("private key %s has mode %v; others may read it (chmod 600)", *keyFile, fi.Mode().Perm())
	}
	keyData, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	priv, err := manifest.DecodePrivateKey(keyData)
	if err != nil {
		return fmt.Errorf("%s: %w", *keyFile, err)
	}
	name := filepath.Join(dir, manifest.ManifestFile)
	raw, err := readLimited(name, manifest.MaxManifestSize)
	if err != nil {
		return err
	}
	// Refuse to sign what verification would refuse to load.
	m, err := manifest.Parse(raw, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	sigName := filepath.Join(dir, manifest.SignatureFile)
	if err := os.WriteFile(sigName, manifest.Sign(priv, raw), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(sigName, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed %s (%s %s by %s) with key %s into %s\n", name, m.Name, m.Version, m.Publisher, manifest.KeyID(priv.Public().(ed25519.PublicKey)), sigName)
	return nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over the %d-byte limit", name, limit)
	}
	return data, nil
}

func pluginVerify(args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("plugin verify", flag.ContinueOnError)
	trustFile := fs.String("trust", "", "trust `FILE` of [[trusted_key]] entries; without it no key is trusted")
	dev := fs.Bool("dev", false, "treat DIR as a dev override: it may be unsigned")
	pos, err := parsePluginFlags(fs, args, stderr)
	if err != nil {
		return 0, err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, pluginSynopsis)
		return 0, errUsage
	}
	dir := pos[0]
	opts := &manifest.Options{}
	if *trustFile != "" {
		if opts.Trust, err = manifest.LoadTrust(*trustFile); err != nil {
			return 0, err
		}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		opts.Roots = []string{filepath.Dir(abs)}
	}
	if *dev {
		opts.DevOverrides = []string{dir}
	}

	line := func(mark string, step manifest.Step, detail string) {
		fmt.Fprintln(stdout, strings.TrimRight(fmt.Sprintf("%-4s %-12s %s", mark, step, detail), " "))
	}
	p, err := manifest.Verify(dir, opts)
	if err != nil {
		e, ok := errors.AsType[*manifest.Error](err)
		if !ok {
			return 0, err
		}
		failed := false
		for _, s := range manifest.Steps() {
			switch {
			case s == e.Step:
				detail := e.Err.Error()
				if e.Path != "" {
					detail = e.Path + ": " + detail
				}
				line("FAIL", s, detail)
				failed = true
			case failed:
				line("--", s, "not checked")
			default:
				line("ok", s, "")
			}
		}
		fmt.Fprintln(stdout, "refused: serve will not load this plugin")
		return 1, nil
	}
	defer p.Close()

	m := p.Manifest
	for _, s := range manifest.Steps() {
		detail := ""
		mark := "ok"
		switch s {
		case manifest.StepLocation:
			detail = p.Dir
		case manifest.StepManifest:
			detail = "sha256 " + p.ManifestSHA256
		case manifest.StepSignature:
			detail = "key " + p.KeyID
			if p.KeyID == "" {
				mark, detail = "warn", "unsigned (dev override)"
			}
		case manifest.StepPublisher:
			detail = m.Publisher
			if p.KeyID == "" {
				mark, detail = "--", "unsigned, not checked"
			}
		case manifest.StepBinary:
			detail = fmt.Sprintf("%s (%s/%s, %d bytes)", p.Binary.Path, p.Binary.OS, p.Binary.Arch, p.Binary.Size)
		case manifest.StepDigest:
			detail = "sha256 " + p.Binary.SHA256
		}
		line(mark, s, detail)
	}
	fmt.Fprintf(stdout, "\nplugin       %s %s by %s\n", m.Name, m.Version, m.Publisher)
	if m.Description != "" {
		fmt.Fprintf(stdout, "description  %s\n", m.Description)
	}
	fmt.Fprintf(stdout, "languages    %s (%s)\n", strings.Join(m.Languages.IDs, ", "), m.Languages.Activation)
	fmt.Fprintf(stdout, "plugin api   %v\n", m.Protocol.PluginAPI)
	list := func(l []string) string {
		if len(l) == 0 {
			return "nothing"
		}
		return strings.Join(l, " ")
	}
	fmt.Fprintf(stdout, "read         %s\nwrite        %s\nexec         %s\nnetwork      %s\nenv          %s\n",
		list(m.Permissions.Read), list(m.Permissions.Write), list(m.Permissions.Exec), m.Permissions.Network, list(m.Permissions.Env))
	l := m.Limits
	fmt.Fprintf(stdout, "limits       memory %d MiB, cpu %d%%, pids %d, open files %d, file writes %d MiB, start %d ms\n",
		l.MemoryMB, l.CPUPercent, l.MaxPids, l.MaxOpenFiles, l.MaxFileWriteMB, l.StartTimeoutMS)
	for _, w := range p.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintln(stdout, "verified: serve loads this plugin from a plugin directory (--plugin-dirs) trusting this key")
	return 0, nil
}
