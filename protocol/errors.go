package protocol

import (
	"errors"
	"fmt"
)

// JSON-RPC and LSP error codes gathering answers with. The gathering-specific
// codes sit in -31099..-31000, outside the ranges JSON-RPC and LSP reserve.
const (
	CodeParseError           int64 = -32700
	CodeInvalidRequest       int64 = -32600
	CodeMethodNotFound       int64 = -32601
	CodeInvalidParams        int64 = -32602
	CodeInternalError        int64 = -32603
	CodeServerNotInitialized int64 = -32002
	CodeRequestFailed        int64 = -32803
	CodeRequestCancelled     int64 = -32800

	CodeNotFound     int64 = -31001
	CodeConflict     int64 = -31002
	CodeUnauthorized int64 = -31003
	CodeForbidden    int64 = -31004
	CodeRateLimited  int64 = -31005
	CodeTooLarge     int64 = -31006
)

// Code is the stable, machine-readable name of an error, sent as data.code.
// Clients branch on it; the message is for people.
type Code string

// The codes named in DESIGN.md, plus the transport's own.
const (
	NotFound        Code = "not_found"
	InvalidParams   Code = "invalid_params"
	Conflict        Code = "conflict"
	Unauthorized    Code = "unauthorized"
	Forbidden       Code = "forbidden"
	RateLimited     Code = "rate_limited"
	TooLarge        Code = "too_large"
	Internal        Code = "internal"
	Cancelled       Code = "cancelled"
	NotInitialized  Code = "not_initialized"
	InvalidRequest  Code = "invalid_request"
	MethodNotFound  Code = "method_not_found"
	ParseError      Code = "parse_error"
	ShuttingDown    Code = "shutting_down"
	TooManyInFlight Code = "too_many_requests"

	// PluginCrashed: the plugin serving the request died before answering.
	PluginCrashed Code = "plugin_crashed"
	// PluginUnavailable: the plugin is restarting, disabled or failed to start.
	PluginUnavailable Code = "plugin_unavailable"
	// PluginTimeout: the plugin did not answer within the request's deadline.
	PluginTimeout Code = "plugin_timeout"
)

// ErrorData is the data member of every error gathering sends.
type ErrorData struct {
	Code Code `json:"code"`
	// RetryAfterMS, when set, says how long to wait before trying again.
	RetryAfterMS int64 `json:"retryAfterMs,omitempty"`
}

// Error is a JSON-RPC error with a stable [Code]. Its zero value is not
// useful; use the sentinels below or [NewError].
type Error struct {
	RPCCode int64
	Message string
	Data    ErrorData
}

// NewError returns an error with the given JSON-RPC code, data code and message.
func NewError(rpcCode int64, code Code, message string) *Error {
	return &Error{RPCCode: rpcCode, Message: message, Data: ErrorData{Code: code}}
}

func (e *Error) Error() string { return e.Message }

// Is reports whether target is an *Error with the same JSON-RPC and data
// codes, so errors.Is(err, ErrNotFound) holds for any wrapped not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.RPCCode == e.RPCCode && t.Data.Code == e.Data.Code
}

// Sentinels for the conditions callers branch on. Wrap them with fmt.Errorf and
// %w to add detail: fmt.Errorf("%w: project %q", protocol.ErrNotFound, id).
var (
	ErrInvalidParams        = NewError(CodeInvalidParams, InvalidParams, "invalid params")
	ErrNotFound             = NewError(CodeNotFound, NotFound, "not found")
	ErrConflict             = NewError(CodeConflict, Conflict, "conflict")
	ErrUnauthorized         = NewError(CodeUnauthorized, Unauthorized, "unauthorized")
	ErrForbidden            = NewError(CodeForbidden, Forbidden, "forbidden")
	ErrRateLimited          = NewError(CodeRateLimited, RateLimited, "rate limited")
	ErrTooLarge             = NewError(CodeTooLarge, TooLarge, "too large")
	ErrInternal             = NewError(CodeInternalError, Internal, "internal error")
	ErrRequestCancelled     = NewError(CodeRequestCancelled, Cancelled, "request cancelled")
	ErrServerNotInitialized = NewError(CodeServerNotInitialized, NotInitialized, "server not initialized")
	ErrInvalidRequest       = NewError(CodeInvalidRequest, InvalidRequest, "invalid request")
	ErrMethodNotFound       = NewError(CodeMethodNotFound, MethodNotFound, "method not found")
	ErrParse                = NewError(CodeParseError, ParseError, "parse error")
	ErrShuttingDown         = NewError(CodeInvalidRequest, ShuttingDown, "server is shutting down")
	ErrTooManyInFlight      = NewError(CodeRequestFailed, TooManyInFlight, "too many requests in flight")
	ErrPluginCrashed        = NewError(CodeRequestFailed, PluginCrashed, "plugin crashed")
	ErrPluginUnavailable    = NewError(CodeRequestFailed, PluginUnavailable, "plugin unavailable")
	ErrPluginTimeout        = NewError(CodeRequestFailed, PluginTimeout, "plugin timed out")
)

// AsError returns the wire form of err: the *Error it wraps, with the full
// wrapped message, or an internal error when it wraps none. A nil err gives nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{RPCCode: CodeInternalError, Message: err.Error(), Data: ErrorData{Code: Internal}}
	}
	out := *e
	out.Message = err.Error()
	return &out
}

// Errorf wraps a sentinel with a formatted message: Errorf(ErrNotFound, "project %q", id)
// reads "not found: project \"x\"" and still satisfies errors.Is(err, ErrNotFound).
func Errorf(sentinel *Error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
