package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gathering-dev/gathering/protocol"
)

var null = json.RawMessage("null")

// Request routes an editor request to the plugins serving it and merges
// their answers (DESIGN.md "Plugins"). A request no plugin serves answers
// null (a resolve request: its item unchanged); a plugin's error comes back
// with the plugin's name in its message, as a *protocol.Error; when several
// plugins serve a request, the answer is an error only if every one failed.
// Each plugin gets the deadline of the request's kind (2 s interactive, 10 s
// edits, 30 s workspace-wide); when it passes, the launch layer sends
// $/cancelRequest and the error is protocol.ErrPluginTimeout.
func (s *Session) Request(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if len(params) > MaxParamsBytes {
		return nil, protocol.Errorf(protocol.ErrTooLarge, "%s params are %d bytes, over the %d-byte limit for plugins", method, len(params), MaxParamsBytes)
	}
	r, ok := routes[method]
	if !ok {
		r = route{merge: mergeOne, kind: other}
	}
	// The deadline covers waiting for a plugin still starting, too.
	q := &query{method: method, route: r, params: params, parent: ctx, deadline: s.h.deadlines.of(r.kind)}
	ctx, cancel := context.WithTimeout(ctx, q.deadline)
	defer cancel()
	if !ok {
		return s.custom(ctx, q)
	}
	switch r.target {
	case byDocument:
		return s.byDocument(ctx, q)
	case byWorkspace:
		return s.collect(ctx, q, s.instances())
	case byCommand:
		return s.command(ctx, q)
	default:
		return s.resolve(ctx, q)
	}
}

// query is one editor request on its way to plugins.
type query struct {
	method string
	route  route
	params json.RawMessage
	// parent is the editor's context; the one requests run under adds
	// the deadline to it.
	parent   context.Context
	deadline time.Duration
	// uri is the document the request is about; positions without a uri
	// of their own belong to it.
	uri string
	// prepare adjusts the decoded params for one plugin; false skips it.
	prepare func(params map[string]any, pi *pluginInstance) bool
}

// answer is one plugin's reply: raw as the plugin sent it when it needed no
// change, else decoded into v and converted to the session's encoding.
type answer struct {
	pi      *pluginInstance
	raw     json.RawMessage
	v       any
	decoded bool
	err     error
	skipped bool // the plugin does not serve this request
}

func (a *answer) null() bool {
	if a.decoded {
		return a.v == nil
	}
	return isNull(a.raw)
}

func (a *answer) value() any {
	if !a.decoded {
		a.v, _ = decodeJSON(a.raw)
		a.decoded = true
	}
	return a.v
}

// byDocument serves a textDocument/* request from the plugins of its document.
func (s *Session) byDocument(ctx context.Context, q *query) (json.RawMessage, error) {
	uri, ok := documentURI(q.params)
	if !ok {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "%s: no textDocument.uri", q.method)
	}
	q.uri = uri
	d := s.docSnapshot(q.uri)
	if d == nil || d.oversize {
		return null, nil
	}
	var insts []*pluginInstance
	for _, p := range d.plugins {
		if pi := s.existing(p.name); pi != nil {
			insts = append(insts, pi)
		}
	}
	if q.method == "textDocument/codeAction" {
		q.prepare = ownDiagnostics
	}
	if q.route.merge == mergeOwner {
		return s.owner(ctx, q, insts)
	}
	return s.collect(ctx, q, insts)
}

// owner serves a request from the first plugin declaring its capability.
func (s *Session) owner(ctx context.Context, q *query, insts []*pluginInstance) (json.RawMessage, error) {
	for _, pi := range insts {
		if _, err := pi.await(ctx); err != nil {
			continue
		}
		caps, _, _ := pi.view()
		if !hasCapability(caps, q.route.capability) {
			continue
		}
		if q.method == "textDocument/prepareRename" && !hasCapability(caps, "renameProvider.prepareProvider") {
			// The owner renames without preparing: let the editor decide.
			return json.RawMessage(`{"defaultBehavior":true}`), nil
		}
		if q.method == "textDocument/semanticTokens/range" && !hasCapability(caps, "semanticTokensProvider.range") {
			// Tokens for the whole document answer a range request too.
			q = &query{method: "textDocument/semanticTokens/full", route: q.route, params: q.params, uri: q.uri, parent: q.parent, deadline: q.deadline}
		}
		a := s.ask(ctx, pi, q)
		if a.err != nil {
			return nil, a.err
		}
		if strings.HasPrefix(q.method, "textDocument/semanticTokens/") && !a.null() {
			_, enc, _ := pi.view()
			var li *lineIndex
			if enc != s.enc {
				li = s.lineIndexOf(q.uri)
			}
			a.v, a.decoded = remapTokens(a.value(), newTokenMap(caps["semanticTokensProvider"]), li, enc, s.enc), true
		}
		return s.finish(q, []*answer{&a})
	}
	return null, nil
}

// collect asks every instance in parallel and merges their answers.
func (s *Session) collect(ctx context.Context, q *query, insts []*pluginInstance) (json.RawMessage, error) {
	if len(insts) == 0 {
		return null, nil
	}
	if len(insts) == 1 {
		// One plugin, the usual case: ask it on this goroutine.
		a := s.ask(ctx, insts[0], q)
		switch {
		case a.skipped:
			return s.finish(q, nil)
		case a.err != nil:
			return nil, a.err
		}
		return s.finish(q, []*answer{&a})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chans := make([]chan answer, len(insts))
	for i, pi := range insts {
		chans[i] = make(chan answer, 1)
		go func() { chans[i] <- s.ask(ctx, pi, q) }()
	}
	answers := make([]*answer, 0, len(insts))
	var firstErr error
	for _, ch := range chans {
		a := <-ch
		switch {
		case a.skipped:
		case a.err != nil:
			s.log.Debug("plugin failed a request", "plugin", a.pi.p.name, "method", q.method, "err", a.err)
			if firstErr == nil {
				firstErr = a.err
			}
		default:
			answers = append(answers, &a)
			if q.route.merge == mergeFirst && !a.null() {
				return s.finish(q, answers[len(answers)-1:])
			}
		}
	}
	if len(answers) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return s.finish(q, answers)
}

// finish tags and merges the answers of the plugins that served q.
func (s *Session) finish(q *query, answers []*answer) (json.RawMessage, error) {
	if q.route.tag {
		for _, a := range answers {
			tagAnswer(q, a)
		}
	}
	var out any
	switch q.route.merge {
	case mergeFirst, mergeOwner, mergeOne:
		for _, a := range answers {
			if !a.null() {
				if !a.decoded {
					return a.raw, nil
				}
				out = a.v
				break
			}
		}
	case mergeCompletion:
		out = mergeCompletions(answers)
	default:
		out = mergeLists(q.method, answers)
	}
	if out == nil {
		return null, nil
	}
	raw, err := encodeJSON(out)
	if err != nil {
		return nil, fmt.Errorf("%s: encode merged result: %w", q.method, err)
	}
	return raw, nil
}

// ask sends q to one instance: its params adjusted and converted to the
// instance's encoding, under the deadline of q's kind; the answer converted
// back to the session's encoding.
func (s *Session) ask(ctx context.Context, pi *pluginInstance, q *query) answer {
	a := answer{pi: pi}
	inst, err := pi.await(ctx)
	if err != nil {
		a.err = s.callError(q, pi, errors.Is(ctx.Err(), context.DeadlineExceeded), err)
		return a
	}
	caps, enc, _ := pi.view()
	if !hasCapability(caps, q.route.capability) {
		a.skipped = true
		return a
	}
	body := q.params
	tokens := bytes.Contains(body, []byte(`Token"`))
	if q.prepare != nil || enc != s.enc || tokens {
		v, err := decodeJSON(body)
		if err != nil {
			a.err = protocol.Errorf(protocol.ErrInvalidParams, "%s: %v", q.method, err)
			return a
		}
		if m, ok := v.(map[string]any); ok {
			// Partial results and the editor's progress would come back
			// unmerged and unconverted: plugins answer whole.
			delete(m, "workDoneToken")
			delete(m, "partialResultToken")
			if q.prepare != nil && !q.prepare(m, pi) {
				a.skipped = true
				return a
			}
		}
		s.converter(s.enc, enc, q.uri).walk(v, q.uri)
		if body, err = encodeJSON(v); err != nil {
			a.err = fmt.Errorf("%s: encode params: %w", q.method, err)
			return a
		}
		if len(body) > MaxParamsBytes {
			a.err = protocol.Errorf(protocol.ErrTooLarge, "%s params for plugin %s are %d bytes, over the limit", q.method, pi.p.name, len(body))
			return a
		}
	}
	gen := pi.generation()
	raw, err := inst.Call(ctx, q.method, body)
	if err != nil {
		if errors.Is(err, protocol.ErrPluginCrashed) {
			pi.stopped(gen) // now, not at the next status poll
		}
		var pe *protocol.Error
		if ctx.Err() == nil && errors.As(err, &pe) && pe.RPCCode == protocol.CodeMethodNotFound {
			a.raw = null // it does not serve the method after all
			return a
		}
		a.err = s.callError(q, pi, errors.Is(ctx.Err(), context.DeadlineExceeded), err)
		return a
	}
	a.raw = raw
	if enc != s.enc {
		v := a.value()
		s.converter(enc, s.enc, q.uri).walk(v, q.uri)
	}
	return a
}

// callError turns the failure of a call to pi into the error the editor
// gets: cancelled when the editor gave up, plugin_timeout when the deadline
// passed (timedOut), else the plugin's error with its name.
func (s *Session) callError(q *query, pi *pluginInstance, timedOut bool, err error) error {
	switch {
	case q.parent.Err() != nil:
		return protocol.Errorf(protocol.ErrRequestCancelled, "%s cancelled", q.method)
	case timedOut:
		return protocol.Errorf(protocol.ErrPluginTimeout, "plugin %s did not answer %s within %s", pi.p.name, q.method, q.deadline)
	}
	return pluginError(pi.p.name, err)
}

// pluginError names the plugin in err's message, keeping its codes (an
// error that has none is internal).
func pluginError(name string, err error) error {
	out := protocol.AsError(err)
	if !strings.Contains(out.Message, "plugin "+name) {
		out.Message = "plugin " + name + ": " + out.Message
	}
	if out.Data.Code == "" {
		switch out.RPCCode {
		case protocol.CodeRequestCancelled:
			out.Data.Code = protocol.Cancelled
		case protocol.CodeInvalidParams:
			out.Data.Code = protocol.InvalidParams
		default:
			out.Data.Code = protocol.Internal
		}
	}
	return out
}

// converter returns a converter of positions from one encoding to another
// for a request about document root.
func (s *Session) converter(from, to encoding, root string) *converter {
	return &converter{from: from, to: to, root: root, text: s.textIndex}
}

// ownDiagnostics keeps in a codeAction's context only the diagnostics of
// the plugin it goes to (and untagged ones), with their data restored.
func ownDiagnostics(params map[string]any, pi *pluginInstance) bool {
	c, _ := params["context"].(map[string]any)
	list, _ := c["diagnostics"].([]any)
	if list == nil {
		return true
	}
	kept := make([]any, 0, len(list))
	for _, d := range list {
		m, ok := d.(map[string]any)
		if !ok {
			continue
		}
		if name, _, tagged := taggedBy(m); tagged {
			if name != pi.p.name {
				continue
			}
			untagData(m)
		}
		kept = append(kept, m)
	}
	c["diagnostics"] = kept
	return true
}

// command routes workspace/executeCommand by the plugin name prefixing the
// command.
func (s *Session) command(ctx context.Context, q *query) (json.RawMessage, error) {
	var p struct {
		Command string `json:"command"`
	}
	if err := json.Unmarshal(q.params, &p); err != nil {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "%s: %v", q.method, err)
	}
	name, _, ok := strings.Cut(p.Command, ".")
	if !ok {
		return null, nil
	}
	pi := s.existing(name)
	if pi == nil {
		return null, nil
	}
	q.prepare = func(m map[string]any, pi *pluginInstance) bool {
		stripCommands(m, pi.p.name)
		return true
	}
	a := s.ask(ctx, pi, q)
	if a.err != nil {
		return nil, a.err
	}
	if a.skipped {
		return null, nil
	}
	return s.finish(q, []*answer{&a})
}

// resolve sends a resolve (or call/type hierarchy) request to the plugin
// whose tag its item carries, with the item's data and commands as that
// plugin made them. An item without a tag, or whose plugin cannot resolve,
// is answered as it came (null for hierarchy requests).
func (s *Session) resolve(ctx context.Context, q *query) (json.RawMessage, error) {
	unchanged := q.params
	if q.route.item != "" {
		unchanged = null
	}
	v, err := decodeJSON(q.params)
	if err != nil {
		return nil, protocol.Errorf(protocol.ErrInvalidParams, "%s: %v", q.method, err)
	}
	item, _ := v.(map[string]any)
	if q.route.item != "" {
		item, _ = item[q.route.item].(map[string]any)
	}
	if item == nil {
		return unchanged, nil
	}
	name, uri, ok := taggedBy(item)
	if !ok {
		return unchanged, nil
	}
	pi := s.existing(name)
	if pi == nil {
		return unchanged, nil
	}
	q.uri = uri
	q.prepare = func(m map[string]any, pi *pluginInstance) bool {
		it := m
		if q.route.item != "" {
			it, _ = m[q.route.item].(map[string]any)
		}
		if it != nil {
			untagData(it)
			stripCommands(it, pi.p.name)
		}
		return true
	}
	a := s.ask(ctx, pi, q)
	switch {
	case a.err != nil:
		return nil, a.err
	case a.skipped:
		return unchanged, nil
	}
	return s.finish(q, []*answer{&a})
}

// custom routes a method a plugin's manifest lists in custom_methods: to the
// first such plugin serving params.textDocument.uri if there is one, else to
// the first running instance listing it. Other methods answer null.
func (s *Session) custom(ctx context.Context, q *query) (json.RawMessage, error) {
	method := q.method
	uri, _ := documentURI(q.params)
	var candidates []*pluginInstance
	if d := s.docSnapshot(uri); d != nil && !d.oversize {
		for _, pl := range d.plugins {
			if pi := s.existing(pl.name); pi != nil {
				candidates = append(candidates, pi)
			}
		}
	} else if uri == "" {
		candidates = s.instances()
	}
	for _, pi := range candidates {
		for _, m := range pi.p.manifest.Capabilities.CustomMethods {
			if m != method {
				continue
			}
			q.uri = uri
			a := s.ask(ctx, pi, q)
			if a.err != nil {
				return nil, a.err
			}
			return s.finish(q, []*answer{&a})
		}
	}
	return null, nil
}

// documentURI returns params.textDocument.uri. It is read straight off
// the bytes, in whatever order the editor wrote the keys, when each of the
// two objects names its key once, exactly and without escapes, and the uri
// is plain ASCII (editors percent-encode the rest); else params are
// decoded, so that the answer is always encoding/json's (which takes the
// last of repeated keys and matches names without regard to case).
func documentURI(params json.RawMessage) (string, bool) {
	uri, ok := documentURIBytes(params)
	return string(uri), ok
}

// documentURIBytes is documentURI without the copy when the uri can be
// read off the bytes: then it is part of params.
func documentURIBytes(params json.RawMessage) ([]byte, bool) {
	if doc, ok := uniqueField(params, "textDocument"); ok {
		if uri, ok := uniqueField(doc, "uri"); ok && len(uri) > 2 && uri[0] == '"' && plainASCII(uri) {
			return uri[1 : len(uri)-1], true
		}
	}
	var p struct {
		TextDocument struct {
			URI string `json:"uri"`
		} `json:"textDocument"`
	}
	if json.Unmarshal(params, &p) != nil || p.TextDocument.URI == "" {
		return nil, false
	}
	return []byte(p.TextDocument.URI), true
}

// uniqueField returns the value of key name in the JSON object obj, as
// written, when the bytes alone settle it: obj names it exactly once, and
// no other key is one a decoder could take for it (one with escapes or
// other than ASCII, or name in another case). obj must be valid JSON.
func uniqueField(obj []byte, name string) ([]byte, bool) {
	at := skipSpace(obj, 0)
	if at >= len(obj) || obj[at] != '{' {
		return nil, false
	}
	var found []byte
	end, ok := walkKeys(obj, at, func(key []byte, start, end int) bool {
		if !plainASCII(key) {
			return false
		}
		if bytes.EqualFold(key, []byte(name)) {
			if found != nil || string(key) != name {
				return false
			}
			found = obj[start:end]
		}
		return true
	})
	return found, ok && found != nil && skipSpace(obj, end) == len(obj)
}

// plainASCII reports whether b holds no escape and nothing but ASCII: what
// a decoder would give back unchanged.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
