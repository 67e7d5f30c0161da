package host

import (
	"encoding/json"
	"strings"
)

// tagAnswer wraps the data of every item in a's answer with the plugin's
// name and q's document, and namespaces the plugin's commands in them, so
// that resolve and executeCommand find their way back. Completion lists get
// their itemDefaults applied to each item first, as a merged list cannot
// keep one plugin's defaults.
func tagAnswer(q *query, a *answer) {
	v := a.value()
	if v == nil {
		return
	}
	_, _, declared := a.pi.view()
	name := a.pi.p.name
	tag := func(x any) {
		if m, ok := x.(map[string]any); ok {
			tagData(m, name, q.uri)
			namespaceCommands(m, name, declared)
		}
	}
	each := func(x any, f func(any)) {
		if list, ok := x.([]any); ok {
			for _, e := range list {
				f(e)
			}
		}
	}
	switch q.method {
	case "textDocument/completion":
		if list, ok := v.(map[string]any); ok {
			applyItemDefaults(list)
			each(list["items"], tag)
		} else {
			each(v, tag)
		}
	case "textDocument/codeAction":
		each(v, func(e any) {
			m, ok := e.(map[string]any)
			if !ok {
				return
			}
			if _, isCommand := m["command"].(string); isCommand {
				namespaceCommands(m, name, declared)
				return
			}
			tag(m)
		})
	case "callHierarchy/incomingCalls":
		each(v, func(e any) {
			if m, ok := e.(map[string]any); ok {
				tag(m["from"])
			}
		})
	case "callHierarchy/outgoingCalls":
		each(v, func(e any) {
			if m, ok := e.(map[string]any); ok {
				tag(m["to"])
			}
		})
	default:
		if _, ok := v.([]any); ok {
			each(v, tag)
		} else {
			tag(v) // a resolved item
		}
	}
}

// applyItemDefaults moves a CompletionList's itemDefaults into its items.
func applyItemDefaults(list map[string]any) {
	defs, ok := list["itemDefaults"].(map[string]any)
	delete(list, "itemDefaults")
	if !ok {
		return
	}
	items, _ := list["items"].([]any)
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		for _, k := range []string{"commitCharacters", "insertTextFormat", "insertTextMode", "data"} {
			if d, ok := defs[k]; ok {
				if _, has := m[k]; !has {
					m[k] = d
				}
			}
		}
		er, ok := defs["editRange"].(map[string]any)
		if _, has := m["textEdit"]; has || !ok {
			continue
		}
		text := m["label"]
		if t, ok := m["insertText"]; ok {
			text = t
		}
		if t, ok := m["textEditText"]; ok {
			text = t
		}
		if _, ok := er["insert"]; ok {
			m["textEdit"] = map[string]any{"newText": text, "insert": er["insert"], "replace": er["replace"]}
		} else {
			m["textEdit"] = map[string]any{"newText": text, "range": er}
		}
	}
}

// mergeCompletions joins completion answers into one CompletionList of at
// most MaxCompletionItems, incomplete when capped or when any was; nil when
// every plugin answered null.
func mergeCompletions(answers []*answer) any {
	items := []any{}
	incomplete, some := false, false
	for _, a := range answers {
		switch x := a.value().(type) {
		case []any:
			some = true
			items = append(items, x...)
		case map[string]any:
			some = true
			if b, _ := x["isIncomplete"].(bool); b {
				incomplete = true
			}
			if l, ok := x["items"].([]any); ok {
				items = append(items, l...)
			}
		}
	}
	if !some {
		return nil
	}
	if len(items) > MaxCompletionItems {
		items = items[:MaxCompletionItems]
		incomplete = true
	}
	return map[string]any{"isIncomplete": incomplete, "items": items}
}

// mergeLists concatenates list answers in plugin order, a single object
// counting as a list of one, and drops exact duplicates. Lists that would
// mix shapes the LSP does not allow together are made uniform: Locations
// with LocationLinks become Locations, SymbolInformation with DocumentSymbols
// become DocumentSymbols. nil when every plugin answered null.
func mergeLists(method string, answers []*answer) any {
	out := []any{}
	seen := map[string]bool{}
	some := false
	for _, a := range answers {
		v := a.value()
		if v == nil {
			continue
		}
		some = true
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		for _, e := range list {
			key, err := json.Marshal(e)
			if err == nil {
				if seen[string(key)] {
					continue
				}
				seen[string(key)] = true
			}
			out = append(out, e)
		}
	}
	if !some {
		return nil
	}
	switch {
	case method == "textDocument/documentSymbol":
		uniformSymbols(out)
	case strings.HasPrefix(method, "textDocument/") && (strings.HasSuffix(method, "efinition") || strings.HasSuffix(method, "eclaration") || method == "textDocument/implementation"):
		uniformLocations(out)
	}
	return out
}

// uniformLocations turns LocationLinks into Locations when list mixes them.
func uniformLocations(list []any) {
	links, locs := 0, 0
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if _, ok := m["targetUri"]; ok {
				links++
			} else {
				locs++
			}
		}
	}
	if links == 0 || locs == 0 {
		return
	}
	for i, e := range list {
		if m, ok := e.(map[string]any); ok {
			if u, ok := m["targetUri"]; ok {
				r := m["targetSelectionRange"]
				if r == nil {
					r = m["targetRange"]
				}
				list[i] = map[string]any{"uri": u, "range": r}
			}
		}
	}
}

// uniformSymbols turns SymbolInformation into DocumentSymbols when list
// mixes them.
func uniformSymbols(list []any) {
	flat, tree := 0, 0
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if _, ok := m["location"]; ok {
				flat++
			} else {
				tree++
			}
		}
	}
	if flat == 0 || tree == 0 {
		return
	}
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		loc, ok := m["location"].(map[string]any)
		if !ok {
			continue
		}
		ds := map[string]any{"name": m["name"], "kind": m["kind"], "range": loc["range"], "selectionRange": loc["range"]}
		if c, ok := m["containerName"]; ok {
			ds["detail"] = c
		}
		if t, ok := m["tags"]; ok {
			ds["tags"] = t
		}
		list[i] = ds
	}
}
