// Package acceptance holds gathering's black-box acceptance tests: the built
// binary driven by real LSP clients over stdio and TCP, as editors drive it.
//
// The clients are vscode-languageserver-protocol, the layer under VS Code's
// language client (node/, run with node --test), and headless Neovim 0.7+
// (nvim/, Lua scripts). [TestAcceptance] builds the binary and runs both;
// each can also run alone against a binary named by GATHERING_BIN:
//
//	go build -o /tmp/gathering ./cmd/gathering
//	(cd acceptance/node && npm ci && GATHERING_BIN=/tmp/gathering node --test)
//	GATHERING_BIN=/tmp/gathering GATHERING_TRANSPORT=tcp \
//		nvim --headless --clean -n -c 'luafile acceptance/nvim/sync.lua'
//
// Tests whose client is missing (node_modules not installed, no nvim or nc)
// are skipped, except in CI, where they fail.
package acceptance
