package golang

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// directClient calls the session's handlers in-process (what the stdio
// client does over the wire), notifications inline like the SDK.
type directClient struct {
	t   testing.TB
	s   *session
	rec *recorder
}

func newDirectClient(t testing.TB) *directClient {
	c := &directClient{t: t, s: newSession(), rec: newRecorder()}
	t.Cleanup(c.close)
	return c
}

func (c *directClient) Notify(_ context.Context, method string, params any) error {
	if method != "textDocument/publishDiagnostics" {
		return fmt.Errorf("unexpected notification %s", method)
	}
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	c.rec.publish(b)
	return nil
}

func (c *directClient) call(method string, params, result any) error {
	h := c.s.requests()[method]
	if h == nil {
		return fmt.Errorf("method not found: %s", method)
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	res, err := h(context.Background(), raw)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, result)
}

func (c *directClient) notify(method string, params any) {
	h := c.s.notifications()[method]
	if h == nil {
		c.t.Fatalf("notification not handled: %s", method)
	}
	raw, err := json.Marshal(params)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := h(context.Background(), c, raw); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *directClient) diagnostics(uri string, ok func([]diagnostic) bool) []diagnostic {
	return c.rec.wait(c.t, uri, ok)
}

func (c *directClient) close() { c.s.shutdown() }

func newClient(t *testing.T) client { return newDirectClient(t) }
