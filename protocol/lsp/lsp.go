// Package lsp is gathering's facade over the Language Server Protocol types of
// go.lsp.dev/protocol v1.0.1: the only package that imports it.
//
// The rest of gathering names LSP types through the aliases below and encodes
// them with [Marshal] and [Unmarshal], so the generated types can be swapped
// for others by changing this one package. Only types and the codec are used;
// that module's connection and handler helpers are bound to go.lsp.dev/jsonrpc2,
// which reorders notifications (research/lsp.md §2) and is never imported.
package lsp

import (
	"fmt"

	"go.lsp.dev/protocol"
)

// The LSP types gathering uses. Add an alias here before using a new one.
type (
	InitializeParams                       = protocol.InitializeParams
	InitializeResult                       = protocol.InitializeResult
	ServerCapabilities                     = protocol.ServerCapabilities
	ServerInfo                             = protocol.ServerInfo
	WorkspaceOptions                       = protocol.WorkspaceOptions
	WorkspaceFoldersServerCapabilities     = protocol.WorkspaceFoldersServerCapabilities
	WorkspaceFolder                        = protocol.WorkspaceFolder
	DidChangeWorkspaceFoldersParams        = protocol.DidChangeWorkspaceFoldersParams
	TextDocumentSyncOptions                = protocol.TextDocumentSyncOptions
	TextDocumentSyncKind                   = protocol.TextDocumentSyncKind
	SaveOptions                            = protocol.SaveOptions
	DidOpenTextDocumentParams              = protocol.DidOpenTextDocumentParams
	DidChangeTextDocumentParams            = protocol.DidChangeTextDocumentParams
	DidCloseTextDocumentParams             = protocol.DidCloseTextDocumentParams
	DidSaveTextDocumentParams              = protocol.DidSaveTextDocumentParams
	TextDocumentContentChangePartial       = protocol.TextDocumentContentChangePartial
	TextDocumentContentChangeWholeDocument = protocol.TextDocumentContentChangeWholeDocument
	Position                               = protocol.Position
	Range                                  = protocol.Range
	CancelParams                           = protocol.CancelParams
	ShowMessageParams                      = protocol.ShowMessageParams
	MessageType                            = protocol.MessageType
	PositionEncodingKind                   = protocol.PositionEncodingKind
	Boolean                                = protocol.Boolean
	Integer                                = protocol.Integer
	String                                 = protocol.String
	LSPAny                                 = protocol.LSPAny
)

// Constants re-exported from go.lsp.dev/protocol.
const (
	PositionEncodingUTF8  = protocol.PositionEncodingKindUTF8
	PositionEncodingUTF16 = protocol.PositionEncodingKindUTF16
	PositionEncodingUTF32 = protocol.PositionEncodingKindUTF32

	SyncIncremental = protocol.TextDocumentSyncKindIncremental

	MessageWarning = protocol.MessageTypeWarning
	MessageInfo    = protocol.MessageTypeInfo
)

// LSP method names gathering handles itself.
const (
	MethodInitialize                = "initialize"
	MethodInitialized               = "initialized"
	MethodShutdown                  = "shutdown"
	MethodExit                      = "exit"
	MethodCancelRequest             = "$/cancelRequest"
	MethodSetTrace                  = "$/setTrace"
	MethodDidOpen                   = "textDocument/didOpen"
	MethodDidChange                 = "textDocument/didChange"
	MethodDidClose                  = "textDocument/didClose"
	MethodDidSave                   = "textDocument/didSave"
	MethodDidChangeWorkspaceFolders = "workspace/didChangeWorkspaceFolders"
	MethodDidChangeConfiguration    = "workspace/didChangeConfiguration"
	MethodShowMessage               = "window/showMessage"
)

// Marshal encodes an LSP value, unions included.
func Marshal(v any) ([]byte, error) { return protocol.Marshal(v) }

// Unmarshal decodes LSP JSON into v, dispatching every union to the right arm.
// Strings in v may alias a private copy of data; see go.lsp.dev/protocol.Unmarshal.
func Unmarshal(data []byte, v any) error { return protocol.Unmarshal(data, v) }

// NewOptional returns an optional field holding v.
func NewOptional[T any](v T) protocol.Optional[T] { return protocol.NewOptional(v) }

// Ptr returns a pointer to v, for the many optional pointer fields.
func Ptr[T any](v T) *T { return &v }

// ChangeText returns the range (nil for a whole-document change) and text of
// one content change of a didChange notification.
func ChangeText(change protocol.TextDocumentContentChangeEvent) (*Range, string, error) {
	switch c := change.(type) {
	case *protocol.TextDocumentContentChangePartial:
		return &c.Range, c.Text, nil
	case *protocol.TextDocumentContentChangeWholeDocument:
		return nil, c.Text, nil
	default:
		return nil, "", fmt.Errorf("unknown content change %T", change)
	}
}

// CancelID returns the id a $/cancelRequest names.
func CancelID(p *CancelParams) (RequestID, error) {
	switch id := p.ID.(type) {
	case protocol.Integer:
		return RequestID{Num: int64(id)}, nil
	case protocol.String:
		return RequestID{Str: string(id), IsString: true}, nil
	default:
		return RequestID{}, fmt.Errorf("cancel request id %v is neither integer nor string", p.ID)
	}
}

// RequestID is a request's id: Str when IsString, else Num.
type RequestID struct {
	Num      int64
	Str      string
	IsString bool
}

// FolderURIs returns the URI and name of each workspace folder in an
// initialize request, falling back to the deprecated rootUri.
func FolderURIs(p *InitializeParams) (uris, names []string) {
	if folders, ok := p.WorkspaceFolders.Get(); ok {
		for _, f := range folders {
			uris = append(uris, string(f.URI))
			names = append(names, f.Name)
		}
		return uris, names
	}
	if p.RootURI != nil && *p.RootURI != "" {
		return []string{string(*p.RootURI)}, []string{""}
	}
	return nil, nil
}

// OfferedEncodings returns the position encodings the client offers, in its
// order; nil when it offers none.
func OfferedEncodings(p *InitializeParams) []string {
	if p.Capabilities.General == nil {
		return nil
	}
	var out []string
	for _, e := range p.Capabilities.General.PositionEncodings {
		out = append(out, string(e))
	}
	return out
}
