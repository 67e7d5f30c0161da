package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/gathering-dev/gathering/protocol"
)

// Timeouts of an instance's lifecycle (research/plugins.md §4.4).
const (
	initializeTimeout = 60 * time.Second
	statusPollEvery   = 200 * time.Millisecond
)

// startRetryAfter is how long a plugin that failed to start is left alone
// before the next document of its languages tries again (a variable for
// tests).
var startRetryAfter = 30 * time.Second

// Text document sync kinds.
const (
	syncNone        = 0
	syncFull        = 1
	syncIncremental = 2
)

// pluginInstance is a session's instance of one plugin: started lazily,
// initialized (again after every restart) with the session's folders, and
// kept in step with the session's open documents.
type pluginInstance struct {
	s *Session
	p *plugin

	// ready is closed once the first start has finished, well or not.
	ready chan struct{}
	// sendMu orders what the host sends the instance about documents.
	sendMu sync.Mutex

	mu       sync.Mutex
	inst     instance // nil until started
	startErr error
	failedAt time.Time // when the start failed
	// initialized is true from the end of init until the instance stops.
	initialized bool
	inits       int             // how many times init ran: the generation
	sendCtx     context.Context // init's, for document notifications
	caps        map[string]any  // the InitializeResult's capabilities
	forwards    uint64          // the forward methods caps declares (forwardsOf)
	enc         encoding
	syncKind    int
	saveText    bool
	commands    map[string]bool // commands the plugin declared
	open        map[string]int32
	tokens      map[string]bool // progress tokens the plugin created
}

func newPluginInstance(s *Session, p *plugin) *pluginInstance {
	return &pluginInstance{s: s, p: p, ready: make(chan struct{}), open: map[string]int32{}, tokens: map[string]bool{}}
}

// run starts the instance and then watches its state until the session ends.
func (pi *pluginInstance) run() {
	inst, err := pi.p.start(pi.s.ctx, startOptions{handler: pi, folders: pi.s.cfg.Folders, init: pi.init})
	pi.mu.Lock()
	pi.inst, pi.startErr = inst, err
	if err != nil {
		pi.failedAt = time.Now()
	}
	pi.mu.Unlock()
	close(pi.ready)
	if err != nil {
		if pi.s.ctx.Err() != nil {
			return // the session closed while the plugin was starting
		}
		pi.s.log.Warn("plugin did not start", "plugin", pi.p.name, "err", err)
		pi.s.notifyClient(pi.s.ctx, "window/showMessage", map[string]any{
			"type": 1, "message": fmt.Sprintf("gathering: plugin %s did not start: %v", pi.p.name, err)})
		return
	}
	pi.watch(inst)
}

// watch polls the instance's state and, when it leaves running (a crash, a
// kill, a disable), clears its diagnostics and stops sending it documents
// until init runs again.
func (pi *pluginInstance) watch(inst instance) {
	t := time.NewTicker(statusPollEvery)
	defer t.Stop()
	gen := -1 // the init generation last seen running
	for first := true; ; first = false {
		if !first {
			select {
			case <-pi.s.ctx.Done():
				return
			case <-t.C:
			}
		}
		if inst.Status().State == StateRunning {
			pi.mu.Lock()
			gen = pi.inits
			pi.mu.Unlock()
		} else if gen >= 0 {
			pi.stopped(gen)
			gen = -1
		}
	}
}

// stopped forgets what the instance had been sent and clears its
// diagnostics, unless init has run again since generation gen (a restart
// faster than the poll), which did the same.
func (pi *pluginInstance) stopped(gen int) {
	pi.sendMu.Lock()
	pi.mu.Lock()
	current := pi.inits == gen
	if current {
		pi.initialized = false
		pi.open = map[string]int32{}
	}
	pi.mu.Unlock()
	pi.sendMu.Unlock()
	if current {
		pi.s.diags.clearPlugin(pi.p.name)
	}
}

// init initializes a (re)started instance: initialize, initialized, then
// didOpen for every open document it serves.
func (pi *pluginInstance) init(ctx context.Context, i instance) error {
	pi.sendMu.Lock()
	pi.mu.Lock()
	again := pi.inits > 0
	pi.inits++
	pi.inst = i
	pi.initialized = false
	pi.open = map[string]int32{}
	pi.mu.Unlock()
	pi.sendMu.Unlock()
	if again {
		// A restart: what the old process said is void.
		pi.s.diags.clearPlugin(pi.p.name)
	}
	ictx, cancel := context.WithTimeout(ctx, initializeTimeout)
	defer cancel()
	raw, err := i.Call(ictx, "initialize", pi.initializeParams())
	if err != nil {
		return fmt.Errorf("plugin %s: initialize: %w", pi.p.name, err)
	}
	var res struct {
		Capabilities map[string]any `json:"capabilities"`
	}
	if v, err := decodeJSON(raw); err == nil {
		if m, ok := v.(map[string]any); ok {
			res.Capabilities, _ = m["capabilities"].(map[string]any)
		}
	} else {
		return fmt.Errorf("plugin %s: initialize: decode result: %w", pi.p.name, err)
	}
	caps := res.Capabilities
	if caps == nil {
		caps = map[string]any{}
	}
	enc, _ := caps["positionEncoding"].(string)
	kind, saveText := textSync(caps["textDocumentSync"])
	commands := map[string]bool{}
	if ec, ok := caps["executeCommandProvider"].(map[string]any); ok {
		if list, ok := ec["commands"].([]any); ok {
			for _, c := range list {
				if c, ok := c.(string); ok {
					commands[c] = true
				}
			}
		}
	}

	pi.s.h.mu.Lock()
	pi.s.h.answered[pi.p.name] = caps
	pi.s.h.mu.Unlock()

	pi.sendMu.Lock()
	defer pi.sendMu.Unlock()
	if err := i.Notify(ctx, "initialized", map[string]any{}); err != nil {
		return fmt.Errorf("plugin %s: initialized: %w", pi.p.name, err)
	}
	pi.mu.Lock()
	pi.caps, pi.enc, pi.syncKind, pi.saveText, pi.commands = caps, parseEncoding(enc), kind, saveText, commands
	pi.forwards = forwardsOf(caps)
	pi.open = map[string]int32{}
	pi.initialized = true
	// Document notifications go with init's context from now on: the
	// launch layer sends a call made with it to the very process init
	// ran for, even before the instance counts as running, so no change
	// falls between the replay and the instance becoming ready.
	pi.sendCtx = context.WithoutCancel(ctx)
	pi.mu.Unlock()
	for _, uri := range pi.s.openDocs(pi.p) {
		pi.syncLocked(uri, nil)
	}
	pi.registerCommands(commands)
	return nil
}

// textSync reads a ServerCapabilities.textDocumentSync: the change kind and
// whether didSave carries the text.
func textSync(v any) (kind int, saveText bool) {
	switch t := v.(type) {
	case json.Number:
		n, _ := t.Int64()
		return int(n), false
	case map[string]any:
		if c, ok := t["change"].(json.Number); ok {
			n, _ := c.Int64()
			kind = int(n)
		}
		if sv, ok := t["save"].(map[string]any); ok {
			saveText, _ = sv["includeText"].(bool)
		}
		return kind, saveText
	}
	return syncNone, false
}

// initializeParams are the InitializeParams the host sends every plugin.
// processId is null: a plugin runs in a PID namespace of its own, where
// the host's pid names nothing, or another process, and servers that watch
// the pid they are given (pyright, typescript-language-server) would take
// the host for dead. A plugin learns that the host has gone when its input
// ends, and the sandbox kills it with the host (Pdeathsig).
func (pi *pluginInstance) initializeParams() map[string]any {
	s := pi.s
	params := map[string]any{
		"processId":    nil,
		"clientInfo":   map[string]any{"name": "gathering"},
		"capabilities": s.clientCaps,
		"trace":        "off",
		"rootUri":      nil,
	}
	if len(s.cfg.Folders) > 0 {
		folders := make([]any, len(s.cfg.Folders))
		for i, f := range s.cfg.Folders {
			folders[i] = map[string]any{"uri": f.URI, "name": path.Base(f.Path)}
		}
		params["workspaceFolders"] = folders
		params["rootUri"] = s.cfg.Folders[0].URI
		params["rootPath"] = s.cfg.Folders[0].Path
	} else {
		params["workspaceFolders"] = nil
	}
	return params
}

// syncDoc brings what the instance knows of uri up to the session's view:
// didOpen, didChange or didClose as needed. ch is the change that just
// happened, if any.
func (pi *pluginInstance) syncDoc(uri string, ch *change) {
	pi.sendMu.Lock()
	defer pi.sendMu.Unlock()
	pi.syncLocked(uri, ch)
}

func (pi *pluginInstance) syncLocked(uri string, ch *change) {
	pi.mu.Lock()
	inst, ready, ctx := pi.inst, pi.initialized, pi.sendCtx
	sent, isOpen := pi.open[uri]
	kind, enc := pi.syncKind, pi.enc
	pi.mu.Unlock()
	if !ready || inst == nil {
		return // init replays the document
	}
	d := pi.s.docSnapshot(uri)
	served := d != nil && !d.oversize && containsPlugin(d.plugins, pi.p)
	switch {
	case !served:
		if isOpen {
			pi.forget(uri)
			pi.notify(ctx, inst, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": uri}})
		}
	case !isOpen:
		pi.setOpen(uri, d.version)
		pi.notify(ctx, inst, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{
			"uri": uri, "languageId": d.languageID, "version": d.version, "text": d.text}})
	case sent == d.version:
	case kind == syncNone:
		pi.setOpen(uri, d.version)
	default:
		pi.setOpen(uri, d.version)
		var changes []any
		if ch != nil && kind == syncIncremental && enc == pi.s.enc && ch.from == sent && ch.to == d.version {
			for _, c := range ch.changes {
				m := map[string]any{"text": c.Text}
				if c.Range != nil {
					m["range"] = c.Range
				}
				changes = append(changes, m)
			}
		} else {
			changes = []any{map[string]any{"text": d.text}}
		}
		pi.notify(ctx, inst, "textDocument/didChange", map[string]any{
			"textDocument":   map[string]any{"uri": uri, "version": d.version},
			"contentChanges": changes})
	}
}

func containsPlugin(list []*plugin, p *plugin) bool {
	for _, q := range list {
		if q == p {
			return true
		}
	}
	return false
}

func (pi *pluginInstance) setOpen(uri string, version int32) {
	pi.mu.Lock()
	pi.open[uri] = version
	pi.mu.Unlock()
}

func (pi *pluginInstance) forget(uri string) {
	pi.mu.Lock()
	delete(pi.open, uri)
	pi.mu.Unlock()
}

// closeDoc sends didClose for uri if the instance has it open.
func (pi *pluginInstance) closeDoc(uri string) {
	pi.sendMu.Lock()
	defer pi.sendMu.Unlock()
	pi.mu.Lock()
	inst, ready, ctx := pi.inst, pi.initialized, pi.sendCtx
	_, isOpen := pi.open[uri]
	delete(pi.open, uri)
	pi.mu.Unlock()
	if ready && isOpen {
		pi.notify(ctx, inst, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": uri}})
	}
}

// didSave forwards a save to the instance if it has the document open.
func (pi *pluginInstance) didSave(uri, text string) {
	pi.sendMu.Lock()
	defer pi.sendMu.Unlock()
	pi.mu.Lock()
	inst, ready, saveText, ctx := pi.inst, pi.initialized, pi.saveText, pi.sendCtx
	_, isOpen := pi.open[uri]
	pi.mu.Unlock()
	if !ready || !isOpen {
		return
	}
	params := map[string]any{"textDocument": map[string]any{"uri": uri}}
	if saveText {
		params["text"] = text
	}
	pi.notify(ctx, inst, "textDocument/didSave", params)
}

// notify sends a notification, refusing params over MaxParamsBytes.
func (pi *pluginInstance) notify(ctx context.Context, inst instance, method string, params any) {
	raw, err := encodeJSON(params)
	if err == nil && len(raw) > MaxParamsBytes {
		err = fmt.Errorf("params are %d bytes, over the %d-byte limit", len(raw), MaxParamsBytes)
	}
	if err == nil {
		err = inst.Notify(ctx, method, raw)
	}
	if err != nil {
		pi.s.log.Debug("notification to plugin failed", "plugin", pi.p.name, "method", method, "err", err)
	}
}

// await waits until the instance has started, and returns it; an error says
// why it cannot serve.
func (pi *pluginInstance) await(ctx context.Context) (instance, error) {
	select {
	case <-pi.ready:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, protocol.Errorf(protocol.ErrPluginTimeout, "plugin %s did not start in time", pi.p.name)
		}
		return nil, ctx.Err()
	}
	pi.mu.Lock()
	defer pi.mu.Unlock()
	if pi.startErr != nil {
		return nil, protocol.Errorf(protocol.ErrPluginUnavailable, "plugin %s did not start: %v", pi.p.name, pi.startErr)
	}
	return pi.inst, nil
}

// retry reports whether the instance failed to start long enough ago to
// be started anew.
func (pi *pluginInstance) retry() bool {
	select {
	case <-pi.ready:
	default:
		return false
	}
	pi.mu.Lock()
	defer pi.mu.Unlock()
	return pi.startErr != nil && time.Since(pi.failedAt) > startRetryAfter
}

// generation returns how many times init has run.
func (pi *pluginInstance) generation() int {
	pi.mu.Lock()
	defer pi.mu.Unlock()
	return pi.inits
}

// view returns the instance's negotiated state for a request.
func (pi *pluginInstance) view() (caps map[string]any, enc encoding, commands map[string]bool) {
	pi.mu.Lock()
	defer pi.mu.Unlock()
	return pi.caps, pi.enc, pi.commands
}

// status reports the instance for Host.Plugins.
func (pi *pluginInstance) status() InstanceStatus {
	select {
	case <-pi.ready:
	default:
		return InstanceStatus{State: StateStarting}
	}
	pi.mu.Lock()
	inst, err := pi.inst, pi.startErr
	pi.mu.Unlock()
	if err != nil {
		return InstanceStatus{State: StateStopped, Reason: "did not start: " + err.Error()}
	}
	return inst.Status()
}

// close stops the instance, waiting for a start in progress to end first
// (the session's context, cancelled by then, cuts it short).
func (pi *pluginInstance) close() {
	<-pi.ready
	pi.mu.Lock()
	inst := pi.inst
	pi.mu.Unlock()
	if inst != nil {
		if err := inst.Close(); err != nil {
			pi.s.log.Debug("plugin close", "plugin", pi.p.name, "err", err)
		}
	}
}
