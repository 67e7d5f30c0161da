'use strict';

// SIGTERM drains: running requests get --drain-timeout to finish and are
// answered, then the process exits 0; past the timeout they are cancelled
// and the process exits 1.

const assert = require('node:assert/strict');
const rpc = require('vscode-languageserver-protocol/node');
const { scenario, expectError, withTimeout, exitOf } = require('./lib/harness');

// serverProcess is the process a SIGTERM for c's session goes to.
function serverProcess(server, c) {
  return server.transport === 'tcp' ? server.listener : c.process;
}

// running sends a sleep and resolves, once the server has registered it,
// to {sleep}, the sleep's promise (wrapped: an async function returning a
// promise would wait for it). The server reads in wire order, so when an
// echo sent after the sleep is answered, the sleep is running.
async function running(c, ms) {
  const sleep = c.request('gathering/debug/sleep', { ms });
  sleep.catch(() => {}); // awaited by the caller; keep node quiet meanwhile
  await c.request('gathering/debug/echo', { value: 'barrier' });
  return { sleep };
}

function exited(proc) {
  return withTimeout(exitOf(proc), 15_000, 'the server to exit');
}

scenario('drain', async (t, server) => {
  const c = await server.connect();
  await c.initialize();
  const { sleep } = await running(c, 400);
  const proc = serverProcess(server, c);
  const exit = exited(proc);
  proc.kill('SIGTERM');
  const res = await sleep;
  assert.ok(res.sleptMs >= 400, `the running request finished: ${JSON.stringify(res)}`);
  assert.equal(await exit, 0, 'exit code after a drain in time');
  await c.waitClosed();
});

scenario('drain timeout', async (t, server) => {
  const c = await server.connect();
  await c.initialize();
  const { sleep } = await running(c, 30_000);
  const proc = serverProcess(server, c);
  const exit = exited(proc);
  const started = performance.now();
  proc.kill('SIGTERM');
  await expectError(sleep, rpc.LSPErrorCodes.RequestCancelled, 'a request still running at the drain timeout');
  assert.equal(await exit, 1, 'exit code after the drain timed out');
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 5_000, `exited ${elapsed.toFixed(0)} ms after SIGTERM with --drain-timeout 300ms`);
}, { args: ['--drain-timeout', '300ms'] });
