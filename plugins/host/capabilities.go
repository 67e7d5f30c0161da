package host

import (
	"encoding/json"
	"slices"
	"strings"
)

// ServerCapabilities returns what the session's plugins serve, merged, for
// the server's InitializeResult: the capability of every routed request
// that at least one loaded plugin declares, with the session's position
// encoding, never more.
//
// A plugin that has answered initialize in this session counts with the
// capabilities it answered. One not started yet (plugins start lazily, when
// a document of their languages opens, so at the editor's initialize none
// has) counts with what it answered last in another session of the host
// (the same plugin, so the same capabilities, trigger characters and
// commands included), and failing that with its manifest's advisory
// [capabilities] lsp list, mapped
// to the plain form of each capability: completion without trigger
// characters, no executeCommand commands, no onTypeFormatting (its trigger
// character cannot be guessed). Semantic tokens are advertised with the
// host's own legend (LSP's predefined types and modifiers, see semantic.go),
// full and range, no deltas. When a plugin's real
// InitializeResult lacks a capability its manifest claimed, requests for it
// answer null. The one capability registered dynamically, when the editor
// allows it, is a plugin's executeCommand commands (registration.go).
//
// Options of one capability from several plugins are merged: lists of
// strings (trigger characters, code action kinds, commands) are joined,
// booleans (resolveProvider, prepareProvider) are or-ed. Resolve providers
// are declared whenever the capability is: the host answers a resolve for an
// item whose plugin cannot resolve it with the item unchanged. Commands are
// namespaced "plugin.command".
func (s *Session) ServerCapabilities() map[string]any {
	out := map[string]any{
		"positionEncoding": s.enc.String(),
		"textDocumentSync": map[string]any{"openClose": true, "change": syncIncremental, "save": map[string]any{"includeText": false}},
	}
	for _, p := range s.h.loaded() {
		caps := s.pluginCapabilities(p)
		for key, v := range caps {
			if !routed(key) {
				continue
			}
			if key == "executeCommandProvider" {
				v = namespacedCommands(v, p.name)
				if v == nil {
					continue
				}
				s.markAdvertised(p.name)
			}
			if key == "semanticTokensProvider" {
				v = semanticTokensCapability()
			}
			if key == "completionProvider" || key == "codeLensProvider" || key == "documentLinkProvider" || key == "inlayHintProvider" {
				v = withResolve(v)
			}
			out[key] = mergeCapability(out[key], v)
		}
	}
	return out
}

// pluginCapabilities returns p's real capabilities when its instance in the
// session has answered initialize, else those an instance of it answered in
// another session of the host, else those its manifest claims.
func (s *Session) pluginCapabilities(p *plugin) map[string]any {
	if pi := s.existing(p.name); pi != nil {
		if caps, _, _ := pi.view(); caps != nil {
			return caps
		}
	}
	s.h.mu.Lock()
	caps := s.h.answered[p.name]
	s.h.mu.Unlock()
	if caps != nil {
		return caps
	}
	return advisoryCapabilities(p.manifest.Capabilities.LSP)
}

// advisory maps a manifest's [capabilities] lsp names to ServerCapabilities.
var advisory = map[string]struct {
	key   string
	value any
}{
	"completion":        {"completionProvider", map[string]any{}},
	"hover":             {"hoverProvider", true},
	"signatureHelp":     {"signatureHelpProvider", map[string]any{}},
	"definition":        {"definitionProvider", true},
	"declaration":       {"declarationProvider", true},
	"typeDefinition":    {"typeDefinitionProvider", true},
	"implementation":    {"implementationProvider", true},
	"references":        {"referencesProvider", true},
	"documentHighlight": {"documentHighlightProvider", true},
	"documentSymbol":    {"documentSymbolProvider", true},
	"workspaceSymbol":   {"workspaceSymbolProvider", true},
	"codeAction":        {"codeActionProvider", true},
	"codeLens":          {"codeLensProvider", map[string]any{}},
	"formatting":        {"documentFormattingProvider", true},
	"rangeFormatting":   {"documentRangeFormattingProvider", true},
	"rename":            {"renameProvider", true},
	"inlayHint":         {"inlayHintProvider", true},
	"foldingRange":      {"foldingRangeProvider", true},
	"selectionRange":    {"selectionRangeProvider", true},
	"callHierarchy":     {"callHierarchyProvider", true},
	"typeHierarchy":     {"typeHierarchyProvider", true},
	"documentLink":      {"documentLinkProvider", map[string]any{}},
	"semanticTokens":    {"semanticTokensProvider", true},
}

func advisoryCapabilities(names []string) map[string]any {
	out := map[string]any{}
	for _, n := range names {
		if a, ok := advisory[n]; ok {
			out[a.key] = a.value
		}
	}
	return out
}

// routed reports whether the host routes the requests of capability key.
func routed(key string) bool {
	for _, r := range routes {
		if top, _, _ := cut(r.capability); top == key {
			return true
		}
	}
	return false
}

// withResolve returns capability options with resolveProvider set.
func withResolve(v any) any {
	m := map[string]any{}
	if o, ok := v.(map[string]any); ok {
		for k, x := range o {
			m[k] = x
		}
	}
	m["resolveProvider"] = true
	return m
}

// namespacedCommands returns an executeCommandProvider with each command
// prefixed by the plugin's name; nil when it lists none.
func namespacedCommands(v any, plugin string) any {
	m, _ := v.(map[string]any)
	list, _ := m["commands"].([]any)
	if len(list) == 0 {
		return nil
	}
	cmds := make([]any, 0, len(list))
	for _, c := range list {
		if c, ok := c.(string); ok {
			cmds = append(cmds, plugin+"."+c)
		}
	}
	return map[string]any{"commands": cmds}
}

// mergeCapability merges two values of one capability: absent or false
// loses to anything, options beat true, and two option objects are merged
// field by field (string lists joined, booleans or-ed, the first value of
// anything else kept).
func mergeCapability(a, b any) any {
	if a == nil || a == false {
		return b
	}
	if b == nil || b == false {
		return a
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	switch {
	case !aok && !bok:
		return a
	case !aok:
		return cloneMap(bm)
	case !bok:
		return am
	}
	out := cloneMap(am)
	for k, bv := range bm {
		av, ok := out[k]
		if !ok {
			out[k] = bv
			continue
		}
		switch x := av.(type) {
		case bool:
			if y, ok := bv.(bool); ok {
				out[k] = x || y
			}
		case []any:
			if y, ok := bv.([]any); ok {
				out[k] = joinStrings(x, y)
			}
		case map[string]any:
			if y, ok := bv.(map[string]any); ok {
				out[k] = mergeCapability(x, y)
			}
		}
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// joinStrings returns a followed by the values of b it lacks.
func joinStrings(a, b []any) []any {
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// clientCapabilities is what the host tells plugins it can do as their LSP
// client (LSP 3.17): the editor's textDocument and general abilities (or a
// default set when the editor gave none), minus what the host does not pass
// on: no dynamic registration, no pull diagnostics, no refresh requests, no
// partial results, no file watching or file operations, no showDocument; and
// with what the host itself does: position encodings (the session's first,
// then utf-16), workspace/configuration (answered with nulls), workspace
// folders, didSave, and workDoneProgress and applyEdit when the editor has
// them.
func clientCapabilities(enc encoding, editor json.RawMessage) map[string]any {
	var ed map[string]any
	if len(editor) > 0 {
		if v, err := decodeJSON(editor); err == nil {
			ed, _ = v.(map[string]any)
		}
	}
	td, _ := ed["textDocument"].(map[string]any)
	if td == nil {
		td = defaultTextDocumentCapabilities()
	} else {
		td = cloneDeep(td).(map[string]any)
	}
	for _, k := range []string{"diagnostic", "inlineCompletion", "moniker", "inlineValue", "willSave", "willSaveWaitUntil"} {
		delete(td, k)
	}
	td["synchronization"] = map[string]any{"dynamicRegistration": false, "willSave": false, "willSaveWaitUntil": false, "didSave": true}
	noDynamicRegistration(td)

	encs := []any{enc.String()}
	if enc != utf16 {
		encs = append(encs, utf16.String())
	}
	general := map[string]any{"positionEncodings": encs}
	if g, ok := ed["general"].(map[string]any); ok {
		for _, k := range []string{"markdown", "regularExpressions"} {
			if v, ok := g[k]; ok {
				general[k] = v
			}
		}
	}
	ws := map[string]any{
		"configuration":          true,
		"workspaceFolders":       true,
		"didChangeConfiguration": map[string]any{"dynamicRegistration": false},
		"executeCommand":         map[string]any{"dynamicRegistration": false},
		"symbol":                 map[string]any{"dynamicRegistration": false},
	}
	window := map[string]any{"workDoneProgress": true}
	if ew, ok := ed["workspace"].(map[string]any); ok {
		if v, ok := ew["applyEdit"]; ok {
			ws["applyEdit"] = v
		}
		for _, k := range []string{"workspaceEdit", "symbol"} {
			if v, ok := ew[k].(map[string]any); ok {
				c := cloneDeep(v).(map[string]any)
				noDynamicRegistration(c)
				ws[k] = c
			}
		}
	} else if ed == nil {
		ws["applyEdit"] = true
		ws["workspaceEdit"] = map[string]any{"documentChanges": true}
	}
	if ed != nil {
		// Progress the plugin creates goes to the editor: only if it takes it.
		ew, _ := ed["window"].(map[string]any)
		wdp, _ := ew["workDoneProgress"].(bool)
		window["workDoneProgress"] = wdp
		if v, ok := ew["showMessage"]; ok {
			window["showMessage"] = v
		}
	}
	return map[string]any{"general": general, "textDocument": td, "workspace": ws, "window": window}
}

// defaultTextDocumentCapabilities are what plugins are told when the editor
// sent no capabilities: plain text and markdown, no snippets.
func defaultTextDocumentCapabilities() map[string]any {
	docs := []any{"markdown", "plaintext"}
	return map[string]any{
		"completion": map[string]any{
			"completionItem": map[string]any{"documentationFormat": docs, "deprecatedSupport": true,
				"labelDetailsSupport": true, "insertReplaceSupport": true,
				"resolveSupport": map[string]any{"properties": []any{"documentation", "detail", "additionalTextEdits"}}},
			"contextSupport": true,
		},
		"hover":             map[string]any{"contentFormat": docs},
		"signatureHelp":     map[string]any{"signatureInformation": map[string]any{"documentationFormat": docs, "parameterInformation": map[string]any{"labelOffsetSupport": true}, "activeParameterSupport": true}, "contextSupport": true},
		"definition":        map[string]any{"linkSupport": true},
		"declaration":       map[string]any{"linkSupport": true},
		"typeDefinition":    map[string]any{"linkSupport": true},
		"implementation":    map[string]any{"linkSupport": true},
		"references":        map[string]any{},
		"documentHighlight": map[string]any{},
		"documentSymbol":    map[string]any{"hierarchicalDocumentSymbolSupport": true, "labelSupport": true},
		"codeAction": map[string]any{"isPreferredSupport": true, "dataSupport": true, "resolveSupport": map[string]any{"properties": []any{"edit"}},
			"codeActionLiteralSupport": map[string]any{"codeActionKind": map[string]any{"valueSet": []any{"", "quickfix", "refactor", "refactor.extract", "refactor.inline", "refactor.rewrite", "source", "source.organizeImports", "source.fixAll"}}}},
		"codeLens":           map[string]any{},
		"formatting":         map[string]any{},
		"rangeFormatting":    map[string]any{},
		"onTypeFormatting":   map[string]any{},
		"rename":             map[string]any{"prepareSupport": true},
		"publishDiagnostics": map[string]any{"relatedInformation": true, "versionSupport": false, "codeDescriptionSupport": true, "dataSupport": true},
		"foldingRange":       map[string]any{"lineFoldingOnly": false},
		"selectionRange":     map[string]any{},
		"inlayHint":          map[string]any{"resolveSupport": map[string]any{"properties": []any{"tooltip", "textEdits", "label.tooltip", "label.location", "label.command"}}},
		"documentLink":       map[string]any{"tooltipSupport": true},
		"callHierarchy":      map[string]any{},
		"typeHierarchy":      map[string]any{},
	}
}

// noDynamicRegistration sets every dynamicRegistration inside v to false.
func noDynamicRegistration(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "dynamicRegistration" || strings.HasSuffix(k, "RefreshSupport") || k == "refreshSupport" {
				x[k] = false
				continue
			}
			noDynamicRegistration(e)
		}
	case []any:
		for _, e := range x {
			noDynamicRegistration(e)
		}
	}
}

// cloneDeep copies decoded JSON.
func cloneDeep(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneDeep(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneDeep(e)
		}
		return l
	default:
		return v
	}
}
