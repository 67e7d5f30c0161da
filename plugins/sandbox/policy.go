//go:build linux

package sandbox

import (
	"encoding/json"
	"fmt"
	"strings"
)

// policyVersion guards against a launcher and a host from different builds.
const policyVersion = 2

// policy is what the host tells the launcher to apply, encoded as one JSON
// argument after "plugin-exec". Paths are absolute.
type policy struct {
	Version int `json:"v"`
	// Landlock grants. SystemRead and SystemRW are what every program needs
	// ([SystemReadPaths], [SystemReadWritePaths]); Exec also holds the ELF
	// interpreter of a dynamically linked plugin.
	Read       []string `json:"read,omitempty"`
	Write      []string `json:"write,omitempty"`
	Exec       []string `json:"exec,omitempty"`
	SystemRead []string `json:"sys_read,omitempty"`
	SystemRW   []string `json:"sys_rw,omitempty"`
	// LandlockABI is the Landlock ABI the host's Level promises, 0 for no
	// Landlock. The launcher enforces exactly that ABI's rights, or fails.
	LandlockABI int `json:"landlock_abi"`
	// DenyTCP makes Landlock refuse TCP bind and connect (network none).
	DenyTCP bool `json:"deny_tcp"`
	// Seccomp is false when the host turned the deny-list off.
	Seccomp bool `json:"seccomp"`
	// MountProc mounts a fresh /proc for the new PID namespace (needs a
	// mount namespace), so host processes are not visible.
	MountProc bool `json:"mount_proc"`
	// Mask are directories shared between processes (/tmp, /run…) that get
	// an empty tmpfs in the plugin's mount namespace, granted paths beneath
	// them bound back; needs MountProc's namespaces.
	Mask []string `json:"mask,omitempty"`
	// LoopbackUp brings lo up in the new network namespace (network loopback).
	LoopbackUp bool `json:"lo_up"`
	// StdinPipe keeps the stdin the host gave the launcher (a pipe of its
	// own, for a plugin that speaks LSP on stdio) instead of /dev/null.
	StdinPipe bool `json:"stdin_pipe,omitempty"`
	// Rlimits in bytes or files; 0 leaves that limit as inherited. CORE is
	// always 0.
	NoFile uint64 `json:"nofile,omitempty"`
	FSize  uint64 `json:"fsize,omitempty"`
	Data   uint64 `json:"data,omitempty"`
}

func (p *policy) encode() (string, error) {
	b, err := json.Marshal(p)
	return string(b), err
}

func decodePolicy(s string) (*policy, error) {
	var p policy
	dec := json.NewDecoder(strings.NewReader(s))
	// A field this launcher does not know is a restriction it would skip.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode policy: %w", err)
	}
	if p.Version != policyVersion {
		return nil, fmt.Errorf("policy version %d, this launcher speaks %d (host and launcher from different builds?)", p.Version, policyVersion)
	}
	return &p, nil
}
