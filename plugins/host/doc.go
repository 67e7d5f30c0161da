// Package host routes each editor session's language traffic to the
// language plugins serving it and merges their answers into one LSP
// conversation: the router of DESIGN.md "Plugins". Loading, sandboxing and
// supervising plugin processes is plugins/host/launch's; [New] loads through
// it.
//
// # Sessions and instances
//
// A [Session] is one editor session. It runs its own instance of each
// plugin, started lazily when the first document of the plugin's languages
// opens (the manifest's languageIds, or its file globs matched against the
// path relative to the innermost workspace folder), and stopped by
// [Session.Close]. Every (re)start initializes the instance: initialize
// (workspace folders, this process's id, the client capabilities of
// clientCapabilities, position encodings offering the session's first, no
// initializationOptions), initialized, then didOpen for every open document
// it serves, which is also how a restarted plugin gets its documents back.
//
// DidOpen, DidChange, DidSave and DidClose never wait for a plugin to
// start: the document state is recorded and the start replays it. For a
// running instance they hand the notification to it before returning, so a
// later request cannot overtake it. Changes go as the editor sent them to a
// plugin that syncs incrementally in the session's encoding, as full text to
// the others. Documents over Config.MaxDocumentBytes are never sent; one
// that grows past the limit is closed in its plugins, and reopened when it
// shrinks.
//
// # Requests
//
// [Session.Request] sends textDocument/* requests to the plugins of the
// document, under a deadline by kind (2 s interactive, 10 s edits, 30 s
// references and workspace symbols; the launch layer sends $/cancelRequest
// when it passes). The deadline covers waiting for a plugin still starting.
// Answers are merged in plugin (load) order: completion lists joined and
// capped, locations, symbols, code actions, code lenses, highlights, links,
// inlay hints and folding ranges concatenated without duplicates; hover,
// signature help and selection ranges from the first plugin answering
// non-null; formatting, rename, prepareRename and semantic tokens from one
// owner, the first plugin declaring the capability. Items a resolve request
// may come back with carry their plugin in their data ({"gathering.plugin":
// name, "gathering.uri": uri, "data": original}), and commands the plugin
// declared are namespaced "plugin.command", so resolves and
// workspace/executeCommand return to their origin. A request no plugin
// serves answers null; a plugin's error comes back naming the plugin.
//
// # Diagnostics
//
// Each plugin's publishDiagnostics is kept per document and the merge is
// published, at most 2,000 per document. A plugin that crashes or stops has
// its diagnostics cleared; closing a document clears its diagnostics.
//
// # Position encodings
//
// The editor speaks the session's encoding; a plugin may answer initialize
// with another. Positions in params and answers are then converted using
// the document's text (encoding.go).
//
// # Capabilities
//
// [Session.ServerCapabilities] merges what the plugins serve, never more;
// see its documentation for what stands in for a plugin not yet started.
package host
