// Package launch loads, verifies, starts and supervises language plugins,
// and talks JSON-RPC to each running one: it is what plugins/host (the
// router) drives, one [Instance] per plugin per editor session.
//
// # Loading
//
// [Load] verifies every plugin directory under [Config].Dirs (and the dev
// overrides) with manifest.Verify, and adds the built-in plugins of
// plugins/builtin. A plugin that fails verification is kept, with
// [Plugin].Refused naming the failed step, so that `gathering plugin list`
// and doctor can say why it is not running.
//
// # Starting
//
// [Start] runs a verified plugin: its binary is copied into a sealed memfd
// (through manifest.Plugin.CopyBinary, which hashes what it copies; built-ins
// share one sealed copy of the running executable), the launcher command
// comes from sandbox.Command, and go-plugin v1.8.0 starts it through a
// RunnerFunc, so that the plugin's stdin is /dev/null rather than the
// editor's stream go-plugin would hand it (research/plugins.md §1). Only gRPC
// is allowed, the host environment is not inherited, go-plugin logs through
// slog, message sizes are capped in both directions, and after the
// handshake GetInfo must name the plugin, version and API the manifest
// promised, or the process is killed and Start refuses it ([StepIdentity]).
//
// # Talking
//
// Each instance opens one Session stream and speaks JSON-RPC over it as the
// LSP client: [Instance.Call] numbers requests and matches answers, sends
// $/cancelRequest when its context ends first and returns that context's
// error (a [*CallError]); the plugin's notifications and requests reach
// [StartOptions].Handler in wire order, on a delivery goroutine of their own,
// so a slow Handler never holds up answers. Messages are capped in both
// directions (16 MiB by default): an oversized request is refused before it
// is sent, an oversized message from the plugin ends its session (gRPC
// refuses it) and counts as a crash. Notify and Call write the frame before
// they return, one writer at a time; a caller waiting for its turn gives up
// when its context ends, so a plugin that stops reading cannot hold callers
// past their deadlines.
//
// # Supervising
//
// A plugin has crashed when its Session stream ends or its process exits,
// whichever is seen first (go-plugin's Exited waits for the stdio pipes,
// which a grandchild can hold open). In-flight calls then fail with
// protocol.ErrPluginCrashed, the process group is killed, and the instance
// restarts after a back-off (100 ms, doubling; within the five crashes
// allowed it never passes 800 ms, and the cap is 10 s) and runs
// [StartOptions].Init again; 5 crashes within 3 minutes disable it.
// The process is reaped by its own goroutine (locked to the OS thread that
// forked it, so Pdeathsig holds), and its process group is killed the moment
// it exits, while the dead leader still holds the group id; with a PID
// namespace the kernel kills the rest anyway. [Instance.Close] asks the
// plugin to shut down (2 s), lets go-plugin stop it, then kills it and
// everything it started; it never takes longer than 5 s. Output on stderr
// goes to a 1 MiB ring ([Instance.Stderr]) and, rate-limited, to the log.
package launch
