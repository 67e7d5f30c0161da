// Package pluginv1 is the wire between the gathering host and a language
// plugin: the gRPC service gathering.plugin.v1.LanguagePlugin, the go-plugin
// handshake both sides must agree on, and the go-plugin adapter that serves
// or dials that service.
//
// The service has two methods. GetInfo names the plugin (the host checks the
// name against the verified manifest). Session is one bidirectional stream
// per editor session that carries JSON-RPC 2.0 messages, one per Frame and
// without a Content-Length header, in both directions: the host is the LSP
// client and the plugin the LSP server.
//
// Messages are capped on both sides. The plugin's server takes
// ServerOptions, the host's client takes DialOptions (through
// plugin.ClientConfig.GRPCDialOptions); both bound one JSON-RPC message at
// DefaultMaxMessageBytes unless told otherwise. gRPC refuses an oversized
// message by ending the stream that carried it with codes.ResourceExhausted;
// the connection and its other streams live on. Senders that want to keep a
// Session alive check the size before they send (plugins/sdk does).
//
// Plugin authors do not import this package: plugins/sdk wraps it.
//
// LanguagePlugin.pb.go and LanguagePlugin_grpc.pb.go are generated from
// LanguagePlugin.proto and committed, because CI has no protoc. To regenerate
// them (protoc 3.21 from Debian 12's protobuf-compiler):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
//	go generate ./plugins/sdk/pluginv1
package pluginv1

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative LanguagePlugin.proto
