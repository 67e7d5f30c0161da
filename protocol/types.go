package protocol

import (
	"encoding/json"
	"time"
)

// StatusParams are the params of gathering/status; it takes none.
type StatusParams struct{}

// StatusResult describes the running server.
type StatusResult struct {
	Version    string      `json:"version"`
	InstanceID string      `json:"instanceId"`
	StartedAt  time.Time   `json:"startedAt"`
	Store      StoreStatus `json:"store"`
	// Clients is the number of sessions connected to this instance now.
	Clients int `json:"clients"`
	// Session describes the caller's own session.
	Session SessionStatus `json:"session"`
	// Plugins are the language plugins the server knows, in load order,
	// each with its state and the sandbox it runs in; empty when the
	// server runs none. gathering/plugin/list has the details.
	Plugins []PluginSummary `json:"plugins"`
}

// PluginSummary is a plugin as gathering/status shows it: the name, State
// and Sandbox fields of its [Plugin] from gathering/plugin/list.
type PluginSummary struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// Sandbox is the sandbox level of a running plugin (see Plugin.Sandbox);
	// absent while none of its instances runs.
	Sandbox string `json:"sandbox,omitempty"`
}

// StoreStatus names the store a server uses.
type StoreStatus struct {
	Kind             string `json:"kind"`
	MigrationVersion int    `json:"migrationVersion"`
}

// SessionStatus describes one client session.
type SessionStatus struct {
	ID               string `json:"id"`
	Transport        string `json:"transport"`
	PositionEncoding string `json:"positionEncoding"`
	OpenDocuments    int    `json:"openDocuments"`
}

// DocumentGetParams names an open document.
type DocumentGetParams struct {
	URI string `json:"uri"`
}

// Document is the server's exact view of an open document.
type Document struct {
	URI        string `json:"uri"`
	Version    int32  `json:"version"`
	LanguageID string `json:"languageId"`
	Text       string `json:"text"`
	// Oversize is true when the document is larger than the server's
	// document limit: it is tracked exactly but not sent to plugins.
	Oversize bool `json:"oversize"`
}

// Project is a directory gathering works on.
type Project struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Root      string    `json:"root"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// ProjectListParams pages through projects. Limit 0 means 100; at most 1000.
type ProjectListParams struct {
	After string `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// ProjectListResult is one page of projects; Next is "" on the last page.
type ProjectListResult struct {
	Projects []Project `json:"projects"`
	Next     string    `json:"next,omitempty"`
}

// ProjectCreateParams create a project rooted at an absolute, existing
// directory.
type ProjectCreateParams struct {
	Name string `json:"name"`
	Root string `json:"root"`
}

// ProjectIDParams name one project.
type ProjectIDParams struct {
	ID string `json:"id"`
}

// ProjectUpdateParams change the fields that are present.
type ProjectUpdateParams struct {
	ID   string  `json:"id"`
	Name *string `json:"name,omitempty"`
	Root *string `json:"root,omitempty"`
}

// ProjectDeleteResult confirms a deletion.
type ProjectDeleteResult struct {
	ID string `json:"id"`
}

// DebugEchoParams carry any JSON value back to the caller.
type DebugEchoParams struct {
	Value json.RawMessage `json:"value,omitempty"`
}

// DebugSleepParams hold a request open for MS milliseconds (at most 60,000)
// or until it is cancelled.
type DebugSleepParams struct {
	MS int `json:"ms"`
}

// DebugSleepResult says how long the request slept.
type DebugSleepResult struct {
	SleptMS int64 `json:"sleptMs"`
}
