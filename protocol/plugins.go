package protocol

import "time"

// MethodPluginList lists the language plugins the server knows.
const MethodPluginList = "gathering/plugin/list"

// PluginListParams is empty: the list is short and never paged.
type PluginListParams struct{}

// PluginListResult answers gathering/plugin/list.
type PluginListResult struct {
	Plugins []Plugin `json:"plugins"`
}

// Plugin is one language plugin as the server sees it: what it is, who
// signed it, and how it runs.
type Plugin struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Publisher string `json:"publisher"`
	// KeyID is the signing key's id; "" for built-ins and unsigned
	// development plugins.
	KeyID     string   `json:"keyId,omitempty"`
	Languages []string `json:"languages"`
	// Source is "builtin" or the plugin's directory.
	Source string `json:"source"`
	// State is refused (verification failed), starting, running,
	// restarting, disabled (crashed too often) or stopped (not running: no document of
	// its languages is open, or its sessions ended).
	State string `json:"state"`
	// Reason says why the plugin is refused, disabled or stopped, naming
	// the failed step for a refusal.
	Reason string `json:"reason,omitempty"`
	// Sandbox is the sandbox the running plugin got, e.g.
	// "landlock abi 7, seccomp, namespaces user+pid+net+ipc+uts; no cgroup (degraded)".
	Sandbox string `json:"sandbox,omitempty"`
	// Running counts the plugin's running instances: one per editor
	// session with a document of its languages open.
	Running  int `json:"running"`
	Restarts int `json:"restarts"`
	// Warnings are what the user must be told, such as an unsigned plugin
	// loaded from a development directory.
	Warnings []string `json:"warnings,omitempty"`
	// StartedAt is when the newest running instance started, if any.
	StartedAt *time.Time `json:"startedAt,omitempty"`
}
