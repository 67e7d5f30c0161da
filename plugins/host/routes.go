package host

import (
	"slices"
	"time"
)

// kind sets a request's deadline (research/plugins.md §4.4).
type kind uint8

const (
	interactive   kind = iota // 2 s: what the user waits for while typing
	edit                      // 10 s: formatting, rename, code actions, commands
	workspaceWide             // 30 s: references, workspace symbols
	other                     // 10 s: everything else
)

// deadlines are the per-kind request deadlines.
type deadlines struct{ interactive, edit, workspace, other time.Duration }

var defaultDeadlines = deadlines{interactive: 2 * time.Second, edit: 10 * time.Second, workspace: 30 * time.Second, other: 10 * time.Second}

func (d deadlines) of(k kind) time.Duration {
	switch k {
	case interactive:
		return d.interactive
	case edit:
		return d.edit
	case workspaceWide:
		return d.workspace
	default:
		return d.other
	}
}

// target says which plugins a request goes to.
type target uint8

const (
	byDocument  target = iota // the plugins serving params.textDocument.uri
	byOrigin                  // the plugin whose tag the item's data carries
	byCommand                 // the plugin named by the command's prefix
	byWorkspace               // every running instance of the session
)

// merge says how the answers of several plugins become one.
type merge uint8

const (
	mergeConcat     merge = iota // lists concatenated in plugin order, duplicates removed
	mergeFirst                   // the first non-null answer in plugin order
	mergeCompletion              // completion lists merged and capped
	mergeOwner                   // exactly one plugin: the first declaring the capability
	mergeOne                     // the one plugin the target names
)

// route is how the host serves one LSP request method.
type route struct {
	target target
	merge  merge
	kind   kind
	// capability is the ServerCapabilities key a plugin must declare.
	capability string
	// tag: the answer's items carry data tags and namespaced commands.
	tag bool
	// item is where a byOrigin request carries its item: "" for the
	// params themselves, else the key in params.
	item string
}

// routes lists every request the host routes; the merged server
// capabilities advertise nothing outside it.
var routes = map[string]route{
	"textDocument/hover":                {merge: mergeFirst, kind: interactive, capability: "hoverProvider"},
	"textDocument/completion":           {merge: mergeCompletion, kind: interactive, capability: "completionProvider", tag: true},
	"textDocument/signatureHelp":        {merge: mergeFirst, kind: interactive, capability: "signatureHelpProvider"},
	"textDocument/documentHighlight":    {kind: interactive, capability: "documentHighlightProvider"},
	"textDocument/definition":           {kind: interactive, capability: "definitionProvider"},
	"textDocument/typeDefinition":       {kind: interactive, capability: "typeDefinitionProvider"},
	"textDocument/implementation":       {kind: interactive, capability: "implementationProvider"},
	"textDocument/declaration":          {kind: interactive, capability: "declarationProvider"},
	"textDocument/documentSymbol":       {kind: interactive, capability: "documentSymbolProvider"},
	"textDocument/codeLens":             {kind: interactive, capability: "codeLensProvider", tag: true},
	"textDocument/inlayHint":            {kind: interactive, capability: "inlayHintProvider", tag: true},
	"textDocument/linkedEditingRange":   {merge: mergeFirst, kind: interactive, capability: "linkedEditingRangeProvider"},
	"textDocument/semanticTokens/full":  {merge: mergeOwner, kind: interactive, capability: "semanticTokensProvider"},
	"textDocument/semanticTokens/range": {merge: mergeOwner, kind: interactive, capability: "semanticTokensProvider"},
	"textDocument/formatting":           {merge: mergeOwner, kind: edit, capability: "documentFormattingProvider"},
	"textDocument/rangeFormatting":      {merge: mergeOwner, kind: edit, capability: "documentRangeFormattingProvider"},
	"textDocument/onTypeFormatting":     {merge: mergeOwner, kind: edit, capability: "documentOnTypeFormattingProvider"},
	"textDocument/rename":               {merge: mergeOwner, kind: edit, capability: "renameProvider"},
	"textDocument/prepareRename":        {merge: mergeOwner, kind: edit, capability: "renameProvider"},
	"textDocument/codeAction":           {kind: edit, capability: "codeActionProvider", tag: true},
	"textDocument/references":           {kind: workspaceWide, capability: "referencesProvider"},
	"textDocument/foldingRange":         {kind: other, capability: "foldingRangeProvider"},
	"textDocument/selectionRange":       {merge: mergeFirst, kind: other, capability: "selectionRangeProvider"},
	"textDocument/documentLink":         {kind: other, capability: "documentLinkProvider", tag: true},
	"textDocument/documentColor":        {kind: other, capability: "colorProvider"},
	"textDocument/colorPresentation":    {merge: mergeFirst, kind: other, capability: "colorProvider"},
	"textDocument/prepareCallHierarchy": {kind: other, capability: "callHierarchyProvider", tag: true},
	"textDocument/prepareTypeHierarchy": {kind: other, capability: "typeHierarchyProvider", tag: true},
	"workspace/symbol":                  {target: byWorkspace, kind: workspaceWide, capability: "workspaceSymbolProvider", tag: true},
	"workspace/executeCommand":          {target: byCommand, merge: mergeOne, kind: edit, capability: "executeCommandProvider"},
	"completionItem/resolve":            {target: byOrigin, merge: mergeOne, kind: interactive, capability: "completionProvider.resolveProvider", tag: true},
	"codeAction/resolve":                {target: byOrigin, merge: mergeOne, kind: edit, capability: "codeActionProvider.resolveProvider", tag: true},
	"codeLens/resolve":                  {target: byOrigin, merge: mergeOne, kind: interactive, capability: "codeLensProvider.resolveProvider", tag: true},
	"documentLink/resolve":              {target: byOrigin, merge: mergeOne, kind: interactive, capability: "documentLinkProvider.resolveProvider", tag: true},
	"inlayHint/resolve":                 {target: byOrigin, merge: mergeOne, kind: interactive, capability: "inlayHintProvider.resolveProvider", tag: true},
	"workspaceSymbol/resolve":           {target: byOrigin, merge: mergeOne, kind: interactive, capability: "workspaceSymbolProvider.resolveProvider", tag: true},
	"callHierarchy/incomingCalls":       {target: byOrigin, merge: mergeOne, kind: other, capability: "callHierarchyProvider", tag: true, item: "item"},
	"callHierarchy/outgoingCalls":       {target: byOrigin, merge: mergeOne, kind: other, capability: "callHierarchyProvider", tag: true, item: "item"},
	"typeHierarchy/supertypes":          {target: byOrigin, merge: mergeOne, kind: other, capability: "typeHierarchyProvider", tag: true, item: "item"},
	"typeHierarchy/subtypes":            {target: byOrigin, merge: mergeOne, kind: other, capability: "typeHierarchyProvider", tag: true, item: "item"},
}

// hasCapability reports whether caps declares key, a ServerCapabilities key
// or "key.sub" for a boolean inside an options object; "" needs nothing.
func hasCapability(caps map[string]any, key string) bool {
	if key == "" {
		return true
	}
	top, sub, nested := cut(key)
	v, ok := caps[top]
	if !ok || v == nil || v == false {
		return false
	}
	if !nested {
		return true
	}
	m, _ := v.(map[string]any)
	b, _ := m[sub].(bool)
	return b
}

func cut(key string) (top, sub string, ok bool) {
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}

// A ForwardMethod is a request method [Session.Forward] can take: one
// document's request that a single plugin answers as it is sent, with no
// owner to pick and no params to adjust. It is found once, by
// [ForwardMethodOf], so that a forwarded request finds its route, and
// whether the plugin declared it, without a map.
type ForwardMethod struct {
	name  string
	route route
	bit   uint64 // its bit in pluginInstance.forwards
}

// ForwardMethodOf returns method as a ForwardMethod; ok is false when
// Forward never takes it.
func ForwardMethodOf(method string) (m ForwardMethod, ok bool) {
	i := slices.Index(forwardMethods, method)
	if i < 0 {
		return ForwardMethod{}, false
	}
	return ForwardMethod{name: method, route: routes[method], bit: 1 << i}, true
}

// forwardMethods are the methods Forward can take, each at its bit.
var forwardMethods = func() []string {
	var ms []string
	for _, m := range Methods() {
		if r := routes[m]; r.target == byDocument && r.merge != mergeOwner && m != "textDocument/codeAction" {
			ms = append(ms, m)
		}
	}
	if len(ms) > 64 {
		panic("host: more forwardable methods than bits in a mask")
	}
	return ms
}()

// forwardsOf returns the mask of the forward methods that caps declares.
func forwardsOf(caps map[string]any) uint64 {
	var mask uint64
	for i, m := range forwardMethods {
		if hasCapability(caps, routes[m].capability) {
			mask |= 1 << i
		}
	}
	return mask
}

// Methods lists the LSP requests the host routes to plugins, sorted: the
// editor-facing server registers exactly these, so that a capability a
// plugin declares always has a method that answers it.
func Methods() []string {
	out := make([]string, 0, len(routes))
	for m := range routes {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}
