package host

import "strings"

// Keys of the object the host wraps a plugin's item data in, so that a
// resolve request finds its way back to the plugin (and document) the item
// came from: {"gathering.plugin": name, "gathering.uri": uri, "data": original}.
const (
	tagPlugin = "gathering.plugin"
	tagURI    = "gathering.uri"
)

// tagData wraps the data of item m with the plugin's name and the document
// the item belongs to ("" when none).
func tagData(m map[string]any, plugin, uri string) {
	t := map[string]any{tagPlugin: plugin}
	if uri != "" {
		t[tagURI] = uri
	}
	if d, ok := m["data"]; ok {
		t["data"] = d
	}
	m["data"] = t
}

// taggedBy returns the plugin and document an item's data was tagged with.
func taggedBy(m map[string]any) (plugin, uri string, ok bool) {
	t, _ := m["data"].(map[string]any)
	plugin, ok = t[tagPlugin].(string)
	uri, _ = t[tagURI].(string)
	return plugin, uri, ok
}

// untagData restores the data an item had before tagData.
func untagData(m map[string]any) {
	t, ok := m["data"].(map[string]any)
	if _, tagged := t[tagPlugin]; !ok || !tagged {
		return
	}
	if d, ok := t["data"]; ok {
		m["data"] = d
	} else {
		delete(m, "data")
	}
}

// namespaceCommands prefixes with "plugin." the commands in item m that the
// plugin declared in executeCommandProvider, so that workspace/executeCommand
// can be routed back by the prefix. m is a Command itself, or an item with a
// "command" (CodeAction, CodeLens, CompletionItem) or with label parts that
// have commands (InlayHint). Commands the plugin did not declare are the
// editor's own (such as editor.action.triggerSuggest) and stay as they are.
func namespaceCommands(m map[string]any, plugin string, declared map[string]bool) {
	rename := func(cmd map[string]any) {
		if c, ok := cmd["command"].(string); ok && declared[c] {
			cmd["command"] = plugin + "." + c
		}
	}
	eachCommand(m, rename)
}

// stripCommands undoes namespaceCommands for plugin.
func stripCommands(m map[string]any, plugin string) {
	eachCommand(m, func(cmd map[string]any) {
		if c, ok := cmd["command"].(string); ok {
			if rest, ok := strings.CutPrefix(c, plugin+"."); ok {
				cmd["command"] = rest
			}
		}
	})
}

// eachCommand calls f on every Command object of item m.
func eachCommand(m map[string]any, f func(map[string]any)) {
	switch c := m["command"].(type) {
	case string:
		f(m)
	case map[string]any:
		f(c)
	}
	if parts, ok := m["label"].([]any); ok {
		for _, p := range parts {
			if p, ok := p.(map[string]any); ok {
				if c, ok := p["command"].(map[string]any); ok {
					f(c)
				}
			}
		}
	}
}
