// Package lspbridge describes the external language servers gathering runs
// as built-in plugins (gopls, pyright, typescript-language-server) and
// resolves each into what the sandbox needs to run it.
//
// [Servers] lists the ready-made servers, and [ServerSpec.Resolve] turns one
// into a command line, an environment and the paths the sandbox must grant.
// scripts/langservers installs the pinned servers into [DefaultBinDir].
//
// The bridge itself is the host's: plugins/builtin starts the resolved
// command inside the sandbox in place of the plugin process (an exec, so
// the server is the sandboxed process), and the launch layer speaks LSP
// with it over its stdin and stdout, with the size caps, deadlines,
// cancellation and supervision every plugin gets. No relay process sits in
// between: a relay cost about 90 µs of each request's round trip, a third
// of what gopls itself takes to answer a hover (bench/pluginbench).
package lspbridge
