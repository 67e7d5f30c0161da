package host

import (
	"encoding/json"
	"sort"
)

// Commands are the one capability the host registers dynamically: the
// editor learns the server's capabilities at initialize, before any plugin
// has started, so the executeCommand commands of a plugin are unknown then.
// When the editor supports dynamic registration of workspace/executeCommand,
// each plugin's namespaced commands are registered with
// client/registerCapability once its instance has answered initialize (once
// per session, unless ServerCapabilities had already advertised them).
// Other capabilities are not registered: a registration per plugin would
// make the editor send one request per registration for a document two
// plugins serve, and the host already merges those into one answer.

// editorRegistersCommands reports whether the editor accepts dynamic
// registration of workspace/executeCommand.
func editorRegistersCommands(caps json.RawMessage) bool {
	var c struct {
		Workspace struct {
			ExecuteCommand struct {
				DynamicRegistration bool `json:"dynamicRegistration"`
			} `json:"executeCommand"`
		} `json:"workspace"`
	}
	json.Unmarshal(caps, &c)
	return c.Workspace.ExecuteCommand.DynamicRegistration
}

// markAdvertised records that the editor learned p's commands statically.
func (s *Session) markAdvertised(name string) {
	s.mu.Lock()
	s.commandsKnown[name] = true
	s.mu.Unlock()
}

// registerCommands registers the commands of an instance that just
// initialized, if the editor takes registrations and does not know them.
func (pi *pluginInstance) registerCommands(commands map[string]bool) {
	s := pi.s
	if len(commands) == 0 || s.cfg.Client == nil || !editorRegistersCommands(s.cfg.ClientCapabilities) {
		return
	}
	s.mu.Lock()
	known := s.commandsKnown[pi.p.name] || s.closed
	s.commandsKnown[pi.p.name] = true
	s.mu.Unlock()
	if known {
		return
	}
	list := make([]string, 0, len(commands))
	for c := range commands {
		list = append(list, pi.p.name+"."+c)
	}
	sort.Strings(list)
	params := map[string]any{"registrations": []any{map[string]any{
		"id":              "gathering.plugin." + pi.p.name + ".commands",
		"method":          "workspace/executeCommand",
		"registerOptions": map[string]any{"commands": list},
	}}}
	s.wg.Go(func() {
		var res json.RawMessage
		if err := s.cfg.Client.Call(s.ctx, "client/registerCapability", params, &res); err != nil {
			s.log.Debug("editor refused the plugin's commands", "plugin", pi.p.name, "err", err)
		}
	})
}
