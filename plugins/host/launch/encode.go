package launch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/gathering-dev/gathering/internal/jsonstr"
	"github.com/gathering-dev/gathering/internal/jsonvalid"
	"github.com/gathering-dev/gathering/protocol"
)

// encodeRequest writes a request (id > 0) or a notification (id 0) in one
// pass. Params that are already json.RawMessage are copied as they are.
func encodeRequest(id int64, method string, params any) ([]byte, error) {
	p, err := encodeValue(params)
	if err != nil {
		return nil, fmt.Errorf("encode params of %s: %w", method, err)
	}
	return appendRequest(nil, id, method, p), nil
}

// appendRequest appends to b the request (or notification) with params p,
// already encoded; nil p is none.
func appendRequest(b []byte, id int64, method string, p []byte) []byte {
	b = slices.Grow(b, 56+len(method)+len(p))
	b = append(b, `{"jsonrpc":"2.0",`...)
	if id != 0 {
		b = append(b, `"id":`...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, ',')
	}
	b = append(b, `"method":`...)
	b = jsonstr.Append(b, method)
	if p != nil {
		b = append(b, `,"params":`...)
		b = append(b, p...)
	}
	return append(b, '}')
}

// encodeResult answers request id with result.
func encodeResult(id json.RawMessage, result any) ([]byte, error) {
	r, err := encodeValue(result)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = []byte("null")
	}
	b := make([]byte, 0, 40+len(id)+len(r))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"result":`...)
	b = append(b, r...)
	return append(b, '}'), nil
}

// encodeError answers request id with err as a JSON-RPC error object.
func encodeError(id json.RawMessage, err error) ([]byte, error) {
	e := protocol.AsError(err)
	return json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   any             `json:"error"`
	}{"2.0", id, struct {
		Code    int64              `json:"code"`
		Message string             `json:"message"`
		Data    protocol.ErrorData `json:"data"`
	}{e.RPCCode, e.Message, e.Data}})
}

// encodeValue marshals v, passing json.RawMessage through; nil stays nil.
func encodeValue(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if v == nil {
			return nil, nil
		}
		if !jsonvalid.Valid(v) {
			return nil, fmt.Errorf("raw JSON is not valid")
		}
		return v, nil
	}
	return json.Marshal(v)
}
