'use strict';

// $/cancelRequest, sent by the client library when a CancellationToken
// fires, ends a running request with RequestCancelled (-32800) promptly.

const assert = require('node:assert/strict');
const rpc = require('vscode-languageserver-protocol/node');
const { scenario, expectError } = require('./lib/harness');

const SLEEP_MS = 10_000;
const CANCEL_AFTER_MS = 50;
// Generous for a loaded CI machine, and still far below the sleep.
const PROMPT_MS = 2_000;

scenario('cancellation', async (t, server) => {
  const c = await server.connect();
  await c.initialize();

  // The sleep really holds a request open: a short one answers after it.
  const short = await c.request('gathering/debug/sleep', { ms: 30 });
  assert.ok(short.sleptMs >= 30, `a 30 ms sleep reported sleptMs ${short.sleptMs}`);

  const source = new rpc.CancellationTokenSource();
  const started = performance.now();
  const sleeping = c.request('gathering/debug/sleep', { ms: SLEEP_MS }, source.token);
  // The delay is part of the scenario (cancel a request that is running),
  // not synchronisation: the server registers a request before it reads
  // the $/cancelRequest behind it on the wire.
  const timer = setTimeout(() => source.cancel(), CANCEL_AFTER_MS);
  try {
    await expectError(sleeping, rpc.LSPErrorCodes.RequestCancelled, 'a cancelled sleep');
  } finally {
    clearTimeout(timer);
    source.dispose();
  }
  const elapsed = performance.now() - started;
  t.diagnostic(`cancelled after ${elapsed.toFixed(0)} ms`);
  assert.ok(elapsed >= CANCEL_AFTER_MS - 5, `answered after ${elapsed.toFixed(0)} ms, before it was cancelled`);
  assert.ok(elapsed < PROMPT_MS, `answered after ${elapsed.toFixed(0)} ms, want < ${PROMPT_MS} ms`);

  // Cancelling one request leaves the others alone.
  const keep = c.request('gathering/debug/sleep', { ms: 200 });
  const drop = new rpc.CancellationTokenSource();
  const dropped = c.request('gathering/debug/sleep', { ms: SLEEP_MS }, drop.token);
  drop.cancel();
  await expectError(dropped, rpc.LSPErrorCodes.RequestCancelled, 'the cancelled one of two sleeps');
  const kept = await keep;
  assert.ok(kept.sleptMs >= 200, `the uncancelled sleep reported sleptMs ${kept.sleptMs}`);

  // Cancelling a request that has already been answered is harmless.
  await c.notify('$/cancelRequest', { id: 1 });
  await c.notify('$/cancelRequest', { id: 'no-such-request' });
  assert.equal((await c.request('gathering/debug/echo', { value: 42 })).value, 42, 'echo after cancellations');
});
