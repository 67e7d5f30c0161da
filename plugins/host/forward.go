package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gathering-dev/gathering/plugins/host/launch"
	"github.com/gathering-dev/gathering/protocol"
)

// forwarder is an instance that can take a request with no goroutine
// waiting on the answer (launch.Instance's Go): ok is false, and done is
// never called, when no process is running to take it.
type forwarder interface {
	Go(ctx context.Context, deadline time.Time, method string, params json.RawMessage, done launch.Answer) (cancel launch.Canceler, ok bool)
}

// A Reply receives the answer to a request [Session.Forward] sent.
type Reply interface {
	Reply(result json.RawMessage, err error)
}

// A Canceler ends a forwarded request before its answer.
type Canceler = launch.Canceler

// forwardCall is a request Forward sent: what turns the plugin's answer
// into the editor's. It is the request's one allocation in this package.
type forwardCall struct {
	s     *Session
	q     query
	pi    *pluginInstance
	gen   int
	reply Reply
}

// Answer implements launch.Answer.
func (f *forwardCall) Answer(raw json.RawMessage, err error) {
	f.reply.Reply(f.s.forwarded(&f.q, f.pi, f.gen, raw, err))
}

// soleServer returns the instance serving the open document uri when it
// is the only one and the document is not over the size limit; nil
// otherwise.
func (s *Session) soleServer(uri []byte) *pluginInstance {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[string(uri)]
	if d == nil || d.oversize || len(d.plugins) != 1 {
		return nil
	}
	return s.insts[d.plugins[0].name]
}

// forwardView returns, under one lock, what Forward needs of pi: its
// instance, the forward methods it declared and its encoding, and its
// generation; ok is false until it has finished initializing.
func (pi *pluginInstance) forwardView() (inst instance, forwards uint64, enc encoding, gen int, ok bool) {
	select {
	case <-pi.ready:
	default:
		return nil, 0, 0, 0, false
	}
	pi.mu.Lock()
	defer pi.mu.Unlock()
	if !pi.initialized || pi.startErr != nil || pi.inst == nil {
		return nil, 0, 0, 0, false
	}
	return pi.inst, pi.forwards, pi.enc, pi.inits, true
}

// Forward serves the usual case of Request, a document request that one
// running plugin serves in the editor's position encoding, without a
// goroutine waiting for the answer: the request goes out on the caller's
// goroutine and reply gets the answer, exactly once, on the goroutine that
// reads the plugin's output (or on the caller's, before Forward returns,
// when it cannot be sent). Between a request and a language server that
// answers in a few hundred microseconds, the hand-offs between goroutines
// that Request needs cost as much as the rest of the path together.
//
// params must be exactly one JSON value, as the editor's connection checks
// a request's; neither they nor the bytes of their uri are kept once
// Forward returns.
//
// The answer is what Request would give: the plugin's result as it sent it
// (completion lists and tagged items go through the same tagging and
// capping as Request's), plugin_timeout at the request kind's deadline
// with $/cancelRequest sent, request_cancelled when the caller calls the
// Canceler Forward returns first (ctx bounds only the sending: watching a
// context per request cost five allocations and two locks on the
// session's), and the plugin's errors with its name. Cancel does nothing
// once reply has run.
//
// Forward returns false, having done nothing, when the request needs more:
// no such document or several plugins for it, an instance still starting
// or restarting, another position encoding, progress tokens to adjust, a
// plugin that did not declare the method, or an instance that cannot
// forward (a method needing more, such as one owner to pick, is no
// ForwardMethod at all). The caller then uses Request. reply must not
// block.
func (s *Session) Forward(ctx context.Context, m ForwardMethod, params json.RawMessage, reply Reply) (cancel Canceler, ok bool) {
	if m.bit == 0 || len(params) > MaxParamsBytes || bytes.Contains(params, []byte(`Token"`)) {
		return nil, false
	}
	uri, ok := documentURIBytes(params)
	if !ok {
		return nil, false // Request names the bad params
	}
	pi := s.soleServer(uri)
	if pi == nil {
		return nil, false
	}
	inst, forwards, enc, gen, ready := pi.forwardView()
	f, canForward := inst.(forwarder)
	if !ready || !canForward || enc != s.enc || forwards&m.bit == 0 {
		return nil, false
	}
	r := m.route
	fc := &forwardCall{s: s, pi: pi, gen: gen, reply: reply,
		q: query{method: m.name, route: r, parent: ctx, deadline: s.h.deadlines.of(r.kind)}}
	if r.tag || r.merge == mergeCompletion {
		fc.q.uri = string(uri) // the tags name it
	}
	return f.Go(ctx, time.Now().Add(fc.q.deadline), m.name, params, fc)
}

// forwarded turns a forwarded request's answer into the editor's, as ask
// and finish do for Request.
func (s *Session) forwarded(q *query, pi *pluginInstance, gen int, raw json.RawMessage, err error) (json.RawMessage, error) {
	if err != nil {
		if errors.Is(err, protocol.ErrPluginCrashed) {
			pi.stopped(gen)
		}
		if errors.Is(err, context.Canceled) {
			return nil, protocol.Errorf(protocol.ErrRequestCancelled, "%s cancelled", q.method)
		}
		timedOut := errors.Is(err, context.DeadlineExceeded)
		var pe *protocol.Error
		if !timedOut && q.parent.Err() == nil && errors.As(err, &pe) && pe.RPCCode == protocol.CodeMethodNotFound {
			return null, nil // it does not serve the method after all
		}
		return nil, s.callError(q, pi, timedOut, err)
	}
	if !q.route.tag && q.route.merge != mergeCompletion {
		return raw, nil // one plugin's answer, as it sent it
	}
	if q.route.merge == mergeCompletion {
		_, _, declared := pi.view()
		if out, ok := tagCompletion(raw, pi.p.name, q.uri, declared); ok {
			return out, nil
		}
	}
	return s.finish(q, []*answer{{pi: pi, raw: raw}})
}
