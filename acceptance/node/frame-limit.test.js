'use strict';

// A message over --max-frame-bytes is refused from its header: the client
// gets a too_large error carrying its request's id, before it has even sent
// the rest of the body, and the connection goes on working.

const assert = require('node:assert/strict');
const net = require('node:net');
const { once } = require('node:events');
const rpc = require('vscode-languageserver-protocol/node');
const { scenario, expectError, withTimeout } = require('./lib/harness');

const LIMIT = 4096;
const TOO_LARGE = -31006;
const ANSWER_TIMEOUT_MS = 15_000;

// rawSession opens a connection to server that the test writes bytes to
// itself, while vscode-jsonrpc's reader parses what comes back: a socket
// over TCP, a process of its own over stdio.
async function rawSession(server) {
  let writable;
  let reader;
  if (server.transport === 'tcp') {
    const socket = net.connect({ port: server.port, host: '127.0.0.1', noDelay: true });
    await once(socket, 'connect');
    writable = socket;
    reader = new rpc.SocketMessageReader(socket);
  } else {
    const proc = server.spawn(['--stdio']);
    writable = proc.child.stdin;
    reader = new rpc.StreamMessageReader(proc.child.stdout);
  }
  const messages = [];
  const waiting = [];
  reader.listen((msg) => {
    if (waiting.length > 0) waiting.shift()(msg);
    else messages.push(msg);
  });
  return {
    write: (bytes) => new Promise((resolve, reject) => writable.write(bytes, (err) => (err ? reject(err) : resolve()))),
    // next resolves to the next message from the server.
    next: (what) => withTimeout(
      messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiting.push(resolve)),
      ANSWER_TIMEOUT_MS, what),
    close: () => {
      reader.dispose();
      if (server.transport === 'tcp') writable.destroy();
      else writable.end();
    },
  };
}

function frame(message) {
  const body = Buffer.from(JSON.stringify(message));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}

function assertTooLarge(msg, id, what) {
  assert.equal(msg.id, id, `${what}: the answer's id (${JSON.stringify(msg)})`);
  assert.equal(msg.error?.code, TOO_LARGE, `${what}: error ${JSON.stringify(msg.error)}`);
  assert.equal(msg.error?.data?.code, 'too_large', `${what}: data.code`);
}

scenario('frame-limit', async (t, server) => {
  const big = 'x'.repeat(64 * 1024);

  // Through the client library: it matches answers to requests by id, so
  // the request settles only if the error carries the id it was sent with.
  const c = await server.connect();
  await c.initialize();
  await expectError(c.request('gathering/debug/echo', { value: big }), TOO_LARGE, 'a 64 KiB request', 'too_large');
  assert.deepEqual(await c.request('gathering/debug/echo', { value: 'small' }), { value: 'small' },
    'a normal request after the refused one');

  // Byte by byte: the header and the first 2 KiB of a 64 KiB request are
  // answered before the rest is written; the rest is then skipped, and the
  // next message on the connection is read as usual.
  const raw = await rawSession(server);
  try {
    const whole = frame({ jsonrpc: '2.0', id: 'raw-1', method: 'gathering/debug/echo', params: { value: big } });
    const cut = whole.indexOf('\r\n\r\n') + 4 + 2048;
    await raw.write(whole.subarray(0, cut));
    assertTooLarge(await raw.next('the too_large answer before the rest of the body is sent'), 'raw-1', 'the partly sent request');
    await raw.write(whole.subarray(cut));

    const auth = server.token ? { initializationOptions: { token: server.token } } : {};
    await raw.write(frame({ jsonrpc: '2.0', id: 'raw-2', method: 'initialize', params: { processId: null, rootUri: null, capabilities: {}, ...auth } }));
    const init = await raw.next('the answer to initialize after the skipped body');
    assert.equal(init.id, 'raw-2', `the answer after the skipped body: ${JSON.stringify(init)}`);
    assert.equal(init.result?.serverInfo?.name, 'gathering', `initialize answered: ${JSON.stringify(init)}`);
  } finally {
    raw.close();
  }
}, { args: ['--max-frame-bytes', String(LIMIT)] });
