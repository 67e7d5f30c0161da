// Package lspbridge runs an external language server (gopls, pyright,
// typescript-language-server) as a gathering plugin.
//
// [Run] starts the server as a child process in its own process group and
// pipes JSON-RPC messages between plugins/sdk's Transport (one message
// per frame, as the plugin wire carries them) and the server's Content-Length framed stdio.
// Message bodies pass through untouched: the bridge reads only the headers,
// and looks inside a body only when it must answer for it (a frame over the
// size cap, the host's "exit"). When the server exits on its own, Run returns
// a [*ServerExitError] with its exit status and the last lines of its stderr;
// when the Transport ends, the server is asked to shut down, then its whole
// process group is killed, so nothing it started outlives it.
//
// [Servers] describes the ready-made servers, and [ServerSpec.Resolve] turns
// one into a command line, an environment and the paths the sandbox must
// grant. scripts/langservers installs the pinned servers into
// [DefaultBinDir].
package lspbridge
