package host

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/gathering-dev/gathering/plugins/manifest"
)

// plugin is one loaded plugin as the router sees it: its manifest, where it
// came from, and how to start an instance of it. The launch layer fills it in
// (launch.go); tests start in-process plugins instead.
type plugin struct {
	name     string
	manifest *manifest.Manifest
	source   string // "builtin" or the plugin directory
	keyID    string
	warnings []string
	// refused is why the plugin was not loaded; such a plugin never starts.
	refused error
	start   starter
}

// starter starts one instance of a plugin. It returns once the instance has
// run opts.init for the first time, or failed to.
type starter func(ctx context.Context, opts startOptions) (instance, error)

// startOptions are what the router gives the launch layer for an instance.
type startOptions struct {
	handler inbound
	folders []Folder
	// init runs after every (re)start, before the instance is ready.
	init func(ctx context.Context, i instance) error
}

// instance is a running plugin process (or, in tests, an in-process plugin):
// the subset of launch.Instance the router uses.
type instance interface {
	Call(ctx context.Context, method string, params any) (json.RawMessage, error)
	Notify(ctx context.Context, method string, params any) error
	Status() InstanceStatus
	Close() error
}

// inbound receives the traffic a plugin sends the host: launch.Handler.
type inbound interface {
	Notification(ctx context.Context, method string, params json.RawMessage)
	Request(ctx context.Context, method string, params json.RawMessage) (any, error)
}

// InstanceStatus is the state of one running plugin instance.
type InstanceStatus struct {
	// State is starting, running, restarting, disabled or stopped.
	State string
	// Reason says why the instance is not running, when it is not.
	Reason string
	PID    int
	// Restarts counts restarts after crashes.
	Restarts int
	// Sandbox is the sandbox level the instance got, printable.
	Sandbox string
	Started time.Time
}

// Instance states, as [InstanceStatus.State] and [Status.State] report them.
const (
	StateStarting   = "starting"
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateDisabled   = "disabled"
	StateStopped    = "stopped"
	StateRefused    = "refused"
)

// decodeJSON decodes raw keeping numbers exact (json.Number), so that values
// the host passes through come out as they went in.
func decodeJSON(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// encodeJSON encodes v without HTML escaping and without a trailing newline.
func encodeJSON(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// isNull reports whether raw is absent or the JSON null.
func isNull(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}
