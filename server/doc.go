// Package server runs gathering's client sessions: one [Session] per editor
// connection, over stdio or TCP, speaking LSP plus the gathering/* methods.
//
// # Ordering
//
// Messages are handled in wire order on the connection's read goroutine.
// Notifications (didOpen, didChange, …) are applied there, inline. Each
// request takes an immutable snapshot of the session's documents there too,
// then runs on its own goroutine, so a request sees exactly the edits that
// preceded it on the wire while slow requests overlap (research/lsp.md §2.3).
// The few methods that never block and answer in microseconds (status,
// debug/echo) run inline instead: the hand-off to another thread would cost
// more than the method.
//
// # Lifecycle
//
// Before initialize has been answered, requests get -32002 and notifications
// other than exit are dropped. After shutdown, requests get -32600. exit ends
// the session with code 0 after shutdown and 1 otherwise. $/cancelRequest
// cancels the named request's context and the request answers -32800. An
// unknown method answers -32601; a handler that panics answers -32603 and the
// session lives on.
//
// # Access
//
// Every method names the [access] it needs and the session's [Principal] must
// hold it; a method whose params implement [protocol.ProjectScoped] also
// needs membership of the project they name (admins and the local owner
// have it everywhere). Stdio sessions act as the local owner. TCP sessions
// start with no principal and get one from a token in initialize's
// initializationOptions or from gathering/auth/login, through
// [Config.Auth]; each request rechecks the token (cached, see package auth)
// and is rate limited per connection and per user.
package server
