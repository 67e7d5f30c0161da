'use strict';

// Several sessions at once are independent: each has its own open
// documents, even under the same URI, and its own negotiated encoding. Over
// TCP they are connections to one process; over stdio, two processes on one
// database, as two editors would spawn them. Projects are shared storage,
// so what one session creates the other sees.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const { scenario, expectError } = require('./lib/harness');

const NOT_FOUND = -31001;
const CONFLICT = -31002;

scenario('sessions', async (t, server) => {
  const a = await server.connect();
  const b = await server.connect();
  await a.initialize({ capabilities: { general: { positionEncodings: ['utf-8'] } } });
  await b.initialize();

  const sa = await a.request('gathering/status', {});
  const sb = await b.request('gathering/status', {});
  assert.notEqual(sa.session.id, sb.session.id, 'session ids');
  assert.equal(sa.session.positionEncoding, 'utf-8');
  assert.equal(sb.session.positionEncoding, 'utf-16');
  if (server.transport === 'tcp') {
    assert.equal(sa.instanceId, sb.instanceId, 'one process, one instance id');
    assert.equal(sb.clients, 2, 'status.clients with two connections');
  } else {
    assert.notEqual(sa.instanceId, sb.instanceId, 'two processes, two instance ids');
  }

  const uri = 'file:///shared/same.txt';
  await a.open(uri, 'alpha 😀 omega\n');
  await b.open(uri, 'beta 😀 gamma\n', { version: 7 });
  // Both insert just after the 😀, each in its own encoding: it ends at
  // byte 10 in utf-8 and at unit 7 in utf-16 ("beta " is one unit shorter).
  await a.notify('textDocument/didChange', {
    textDocument: { uri, version: 2 },
    contentChanges: [{ range: { start: { line: 0, character: 10 }, end: { line: 0, character: 10 } }, text: '!' }],
  });
  await b.notify('textDocument/didChange', {
    textDocument: { uri, version: 8 },
    contentChanges: [{ range: { start: { line: 0, character: 7 }, end: { line: 0, character: 7 } }, text: '?' }],
  });

  const da = await a.getDocument(uri);
  const db = await b.getDocument(uri);
  assert.deepEqual({ text: da.text, version: da.version }, { text: 'alpha 😀! omega\n', version: 2 }, 'session a sees its own document');
  assert.deepEqual({ text: db.text, version: db.version }, { text: 'beta 😀? gamma\n', version: 8 }, 'session b sees its own document');

  const onlyA = 'file:///shared/only-a.txt';
  await a.open(onlyA, 'mine');
  await expectError(b.getDocument(onlyA), NOT_FOUND, "b asking for a's document", 'not_found');
  assert.equal((await a.request('gathering/status', {})).session.openDocuments, 2, 'a has two documents open');
  assert.equal((await b.request('gathering/status', {})).session.openDocuments, 1, 'b has one document open');

  // Closing in one session leaves the other's document open.
  await a.notify('textDocument/didClose', { textDocument: { uri } });
  await expectError(a.getDocument(uri), NOT_FOUND, 'a document after didClose');
  assert.equal((await b.getDocument(uri)).text, 'beta 😀? gamma\n', "b's document after a closed its own");

  // Projects are shared: created by a, seen and changed by b.
  const root = fs.realpathSync(server.dir);
  const created = await a.request('gathering/project/create', { name: 'shared', root });
  assert.equal(created.root, root);
  const seen = await b.request('gathering/project/get', { id: created.id });
  assert.deepEqual(seen, created, 'b sees the project a created');
  const renamed = await b.request('gathering/project/update', { id: created.id, name: 'renamed' });
  assert.equal(renamed.name, 'renamed');
  assert.equal((await a.request('gathering/project/get', { id: created.id })).name, 'renamed', 'a sees the rename b made');
  await expectError(b.request('gathering/project/create', { name: 'again', root }), CONFLICT, 'a second project on the same root', 'conflict');
  assert.deepEqual(await b.request('gathering/project/delete', { id: created.id }), { id: created.id });
  await expectError(a.request('gathering/project/get', { id: created.id }), NOT_FOUND, 'a project the other session deleted', 'not_found');
});
