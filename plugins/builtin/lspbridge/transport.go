package lspbridge

// Transport carries whole JSON-RPC messages between the host and the bridge,
// one message per call and without a Content-Length header. It is the same
// method set as plugins/sdk's Transport, so an sdk.Transport can be passed
// as is. Read returns io.EOF (or another error) once the host has gone; the
// bridge calls Write from one goroutine at a time and never reuses a slice
// it has passed to Write.
type Transport interface {
	Read() ([]byte, error)
	Write([]byte) error
}
