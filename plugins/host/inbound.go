package host

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/gathering-dev/gathering/protocol"
)

// Notification handles a notification from the plugin (launch.Handler).
func (pi *pluginInstance) Notification(ctx context.Context, method string, params json.RawMessage) {
	s := pi.s
	switch method {
	case "textDocument/publishDiagnostics":
		pi.publishFrom(params)
	case "window/logMessage", "window/showMessage":
		if m, ok := pi.decodeObject(method, params); ok {
			prefixMessage(m, pi.p.name)
			s.notifyClient(ctx, method, m)
		}
	case "$/progress":
		if m, ok := pi.decodeObject(method, params); ok {
			if !pi.renameToken(m, false) {
				return // progress on a token the editor made: see ask
			}
			s.notifyClient(ctx, method, m)
		}
	default:
		s.log.Debug("notification from plugin dropped", "plugin", pi.p.name, "method", method)
	}
}

// Request handles a request from the plugin (launch.Handler).
func (pi *pluginInstance) Request(ctx context.Context, method string, params json.RawMessage) (any, error) {
	s := pi.s
	switch method {
	case "workspace/configuration":
		var p struct {
			Items []json.RawMessage `json:"items"`
		}
		json.Unmarshal(params, &p)
		return make([]any, len(p.Items)), nil
	case "workspace/workspaceFolders":
		if len(s.cfg.Folders) == 0 {
			return nil, nil
		}
		out := make([]any, len(s.cfg.Folders))
		for i, f := range s.cfg.Folders {
			out[i] = map[string]any{"uri": f.URI, "name": path.Base(f.Path)}
		}
		return out, nil
	case "window/workDoneProgress/create":
		m, ok := pi.decodeObject(method, params)
		if !ok {
			return nil, protocol.Errorf(protocol.ErrInvalidParams, "%s: params are not an object", method)
		}
		if !editorShowsProgress(s.cfg.ClientCapabilities) {
			// The editor takes no progress: say yes to the plugin (plugins
			// such as gopls wait for this answer before loading anything)
			// and drop the token's $/progress, which renameToken does for
			// a token it never saw created.
			return nil, nil
		}
		pi.renameToken(m, true)
		// An editor that never answers must not stall the plugin's work.
		ctx, cancel := context.WithTimeout(ctx, progressCreateTimeout)
		defer cancel()
		return pi.callClient(ctx, method, m)
	case "workspace/applyEdit":
		v, err := decodeJSON(params)
		if err != nil {
			return nil, protocol.Errorf(protocol.ErrInvalidParams, "%s: %v", method, err)
		}
		_, enc, _ := pi.view()
		s.converter(enc, s.enc, "").walk(v, "")
		return pi.callClient(ctx, method, v)
	case "window/showMessageRequest":
		m, ok := pi.decodeObject(method, params)
		if !ok {
			return nil, protocol.Errorf(protocol.ErrInvalidParams, "%s: params are not an object", method)
		}
		prefixMessage(m, pi.p.name)
		return pi.callClient(ctx, method, m)
	case "client/registerCapability", "client/unregisterCapability":
		// The host offers no dynamic registration; servers that register
		// anyway (some do, regardless) are told yes and ignored, as an
		// error would make them give up on the session.
		return nil, nil
	default:
		return nil, protocol.Errorf(protocol.ErrMethodNotFound, "%s is not something the gathering host answers plugins", method)
	}
}

// progressCreateTimeout bounds how long a plugin waits for the editor to
// accept a progress token.
const progressCreateTimeout = 5 * time.Second

// editorShowsProgress reports whether the editor's capabilities include
// window.workDoneProgress.
func editorShowsProgress(raw json.RawMessage) bool {
	var c struct {
		Window struct {
			WorkDoneProgress bool `json:"workDoneProgress"`
		} `json:"window"`
	}
	return json.Unmarshal(raw, &c) == nil && c.Window.WorkDoneProgress
}

// callClient forwards a request to the editor and returns its answer.
func (pi *pluginInstance) callClient(ctx context.Context, method string, params any) (any, error) {
	c := pi.s.cfg.Client
	if c == nil {
		return nil, protocol.Errorf(protocol.ErrMethodNotFound, "%s: no editor attached", method)
	}
	var res json.RawMessage
	if err := c.Call(ctx, method, params, &res); err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, nil
	}
	return res, nil
}

func (pi *pluginInstance) decodeObject(method string, params json.RawMessage) (map[string]any, bool) {
	v, err := decodeJSON(params)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		pi.s.log.Debug("bad params from plugin", "plugin", pi.p.name, "method", method, "err", err)
		return nil, false
	}
	return m, true
}

// prefixMessage puts the plugin's name before a message for the editor.
func prefixMessage(m map[string]any, name string) {
	if msg, ok := m["message"].(string); ok {
		m["message"] = name + ": " + msg
	}
}

// renameToken prefixes a progress token the plugin created with its name,
// so that two plugins' tokens never meet in the editor. With create, the
// token is recorded as the plugin's; otherwise it reports whether the token
// is one the plugin created.
func (pi *pluginInstance) renameToken(m map[string]any, create bool) bool {
	tok, ok := m["token"]
	if !ok {
		return false
	}
	key := fmt.Sprint(tok)
	pi.mu.Lock()
	defer pi.mu.Unlock()
	if create {
		pi.tokens[key] = true
	} else if !pi.tokens[key] {
		return false
	} else if v, _ := m["value"].(map[string]any); v["kind"] == "end" {
		delete(pi.tokens, key)
	}
	m["token"] = pi.p.name + "/" + key
	return true
}

// notifyClient sends the editor a notification, if one is attached.
func (s *Session) notifyClient(ctx context.Context, method string, params any) {
	if s.cfg.Client == nil {
		return
	}
	if err := s.cfg.Client.Notify(ctx, method, params); err != nil {
		s.log.Debug("notification to editor failed", "method", method, "err", err)
	}
}
