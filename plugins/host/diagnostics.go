package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// diagnostics keeps each plugin's latest diagnostics per document and
// publishes their merge to the editor.
type diagnostics struct {
	s *Session
	// mu guards byURI and keeps publications in the order of the changes.
	mu    sync.Mutex
	byURI map[string]map[string][]json.RawMessage // uri → plugin → diagnostics
}

func newDiagnostics(s *Session) *diagnostics {
	return &diagnostics{s: s, byURI: make(map[string]map[string][]json.RawMessage)}
}

// set replaces what plugin says about uri and publishes the merge.
func (d *diagnostics) set(ctx context.Context, uri, plugin string, list []json.RawMessage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.byURI[uri]
	if m == nil {
		if len(list) == 0 {
			// Nothing was there and nothing is: still tell the editor, as
			// the plugin meant to clear.
			d.publishLocked(ctx, uri)
			return
		}
		m = make(map[string][]json.RawMessage)
		d.byURI[uri] = m
	}
	if len(list) == 0 {
		delete(m, plugin)
	} else {
		m[plugin] = list
	}
	d.publishLocked(ctx, uri)
}

// clearURI drops every plugin's diagnostics for uri and publishes none.
func (d *diagnostics) clearURI(ctx context.Context, uri string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byURI[uri]; !ok {
		return
	}
	delete(d.byURI, uri)
	d.publishLocked(ctx, uri)
}

// clearPlugin drops everything plugin said and republishes the documents
// it had diagnostics for.
func (d *diagnostics) clearPlugin(ctx context.Context, plugin string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for uri, m := range d.byURI {
		if _, ok := m[plugin]; !ok {
			continue
		}
		delete(m, plugin)
		d.publishLocked(ctx, uri)
	}
}

// publishLocked sends the merged diagnostics of uri: the plugins' lists in
// load order, at most MaxDiagnosticsPerURI in all.
func (d *diagnostics) publishLocked(ctx context.Context, uri string) {
	m := d.byURI[uri]
	merged := make([]json.RawMessage, 0)
	for _, p := range d.s.h.plugins {
		for _, diag := range m[p.name] {
			if len(merged) == MaxDiagnosticsPerURI {
				break
			}
			merged = append(merged, diag)
		}
	}
	if len(m) == 0 {
		delete(d.byURI, uri)
	}
	d.s.notifyClient(ctx, "textDocument/publishDiagnostics", map[string]any{"uri": uri, "diagnostics": merged})
}

// snapshot returns the merged diagnostics of uri as the editor last got them.
func (d *diagnostics) count(uri string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, l := range d.byURI[uri] {
		n += len(l)
	}
	return min(n, MaxDiagnosticsPerURI)
}

// readPublish reads PublishDiagnosticsParams, keeping at most limit
// diagnostics: the ones after them are skipped by the decoder, not kept.
func readPublish(raw []byte, limit int) (uri string, list []json.RawMessage, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil, errors.New("params are not an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil, err
		}
		switch t {
		case "uri":
			if err := dec.Decode(&uri); err != nil {
				return "", nil, fmt.Errorf("uri: %w", err)
			}
		case "diagnostics":
			if t, err := dec.Token(); err != nil {
				return "", nil, err
			} else if t == nil {
				continue
			} else if t != json.Delim('[') {
				return "", nil, errors.New("diagnostics are not an array")
			}
			for dec.More() {
				var diag json.RawMessage
				if err := dec.Decode(&diag); err != nil {
					return "", nil, fmt.Errorf("diagnostic: %w", err)
				}
				if len(list) < limit {
					list = append(list, diag)
				} else if uri != "" {
					return uri, list, nil // the rest is not needed
				}
			}
			if _, err := dec.Token(); err != nil {
				return "", nil, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", nil, err
			}
		}
	}
	if uri == "" {
		return "", nil, errors.New("no uri")
	}
	return uri, list, nil
}

// publishFrom handles a plugin's publishDiagnostics: capped, converted to
// the session's encoding, each tagged with the plugin (so code actions go
// back to it), stored, and the merge published.
func (pi *pluginInstance) publishFrom(ctx context.Context, params json.RawMessage) {
	uri, list, err := readPublish(params, MaxDiagnosticsPerURI)
	if err != nil {
		pi.s.log.Debug("bad publishDiagnostics", "plugin", pi.p.name, "err", err)
		return
	}
	_, enc, _ := pi.view()
	conv := pi.s.converter(enc, pi.s.enc, uri)
	out := list[:0]
	for _, raw := range list {
		v, err := decodeJSON(raw)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			continue
		}
		conv.walk(m, uri)
		tagData(m, pi.p.name, "")
		if b, err := encodeJSON(m); err == nil {
			out = append(out, b)
		}
	}
	pi.s.diags.set(ctx, uri, pi.p.name, out)
}
