package protocol

// The gathering/* methods, each documented with an example in docs/protocol.md.
// Names are gathering/<area>/<verb>; none start with "$/" (reserved by LSP).
const (
	MethodStatus = "gathering/status"

	MethodDocumentGet = "gathering/document/get"

	MethodProjectList   = "gathering/project/list"
	MethodProjectCreate = "gathering/project/create"
	MethodProjectGet    = "gathering/project/get"
	MethodProjectUpdate = "gathering/project/update"
	MethodProjectDelete = "gathering/project/delete"

	// The debug methods exist only when the server runs with --debug-methods.
	// They let client test suites and benchmarks hold a request open and
	// measure the dispatcher without touching the store.
	MethodDebugEcho  = "gathering/debug/echo"
	MethodDebugSleep = "gathering/debug/sleep"
)
