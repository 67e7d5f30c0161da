'use strict';

// The LSP lifecycle as a real client drives it: the error codes around
// initialize and shutdown, and how exit ends a session.

const assert = require('node:assert/strict');
const rpc = require('vscode-languageserver-protocol/node');
const { scenario, expectError } = require('./lib/harness');

const { ErrorCodes } = rpc;

scenario('lifecycle', async (t, server) => {
  const c = await server.connect();

  await expectError(c.request('gathering/status', {}), ErrorCodes.ServerNotInitialized, 'a request before initialize');
  // A notification before initialize is dropped, not answered and not fatal.
  await c.notify('textDocument/didOpen', { textDocument: { uri: 'file:///early.txt', languageId: 'plaintext', version: 1, text: 'x' } });

  const init = await c.initialize();
  assert.equal(init.serverInfo?.name, 'gathering');
  assert.equal(init.capabilities.textDocumentSync?.change, rpc.TextDocumentSyncKind.Incremental, 'textDocumentSync.change');
  assert.equal(init.capabilities.textDocumentSync?.openClose, true, 'textDocumentSync.openClose');

  await expectError(c.request('initialize', { processId: null, rootUri: null, capabilities: {} }),
    ErrorCodes.InvalidRequest, 'a second initialize');
  await expectError(c.getDocument('file:///early.txt'), -31001, 'the document opened before initialize');
  await expectError(c.request('gathering/no/such/method', {}), ErrorCodes.MethodNotFound, 'an unknown method');
  await expectError(c.request('textDocument/definitelyNotAMethod', {}), ErrorCodes.MethodNotFound, 'an unknown textDocument method');

  const status = await c.request('gathering/status', {});
  assert.equal(status.session.transport, server.transport, 'status.session.transport');
  assert.equal(status.session.positionEncoding, 'utf-16', 'status.session.positionEncoding');
  assert.equal(status.store.kind, 'sqlite', 'status.store.kind');
  assert.ok(status.clients >= 1, `status.clients = ${status.clients}, want >= 1`);

  assert.equal(await c.request('shutdown'), null, 'the shutdown result');
  await expectError(c.request('gathering/status', {}), ErrorCodes.InvalidRequest, 'a request after shutdown');
  await expectError(c.request('shutdown'), ErrorCodes.InvalidRequest, 'a second shutdown');

  await c.notify('exit');
  await c.waitClosed();
  if (server.transport === 'stdio') {
    assert.equal(await c.exitCode(), 0, 'exit code after shutdown and exit');
  }

  // exit without shutdown: the process exits 1 (stdio); the session ends.
  const rude = await server.connect();
  await rude.initialize();
  await rude.notify('exit');
  await rude.waitClosed();
  if (server.transport === 'stdio') {
    assert.equal(await rude.exitCode(), 1, 'exit code after exit without shutdown');
  }

  // exit before initialize is still an exit without shutdown.
  const early = await server.connect();
  await early.notify('exit');
  await early.waitClosed();
  if (server.transport === 'stdio') {
    assert.equal(await early.exitCode(), 1, 'exit code after exit before initialize');
  }

  if (server.transport === 'stdio') {
    // The editor going away without exit is no clean stop either.
    const gone = await server.connect();
    await gone.initialize();
    gone.process.stdin.end();
    assert.equal(await gone.exitCode(), 1, 'exit code when stdin closes without exit');
    return;
  }

  // Over TCP the listener outlives its clients' exits, and SIGTERM with no
  // request running drains at once and exits 0.
  const after = await server.connect();
  await after.initialize();
  assert.equal((await after.request('gathering/debug/echo', { value: 'still here' })).value, 'still here');
  const code = await server.stop();
  assert.equal(code, 0, 'listener exit code after SIGTERM');
  await after.waitClosed();
});
