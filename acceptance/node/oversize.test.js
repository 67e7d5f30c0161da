'use strict';

// A document over --max-document-bytes is still kept in sync exactly, and
// the user is warned once per open, not once per edit.

const assert = require('node:assert/strict');
const { TextDocument } = require('vscode-languageserver-textdocument');
const { scenario, assertSameText } = require('./lib/harness');

const LIMIT = 1024;

function showMessages(c) {
  return c.notifications.filter((n) => n.method === 'window/showMessage');
}

scenario('oversize', async (t, server) => {
  const c = await server.connect();
  await c.initialize();

  // 2 KiB of UTF-8 with multi-byte characters and CRLFs.
  const line = 'größer 😀 text\r\n'; // 20 bytes of UTF-8
  let big = line.repeat(Math.ceil(2048 / Buffer.byteLength(line)));
  big = big.slice(0, big.length - 2) + '\n';
  assert.ok(Buffer.byteLength(big) >= 2048, 'the document is at least 2 KiB');

  // Exactly the limit in bytes, and half of it in UTF-16 units: not over.
  const edge = 'é'.repeat(LIMIT / 2);
  const edgeURI = 'file:///oversize/edge.txt';
  await c.open(edgeURI, edge);
  const uri = 'file:///oversize/big.txt';
  const doc = TextDocument.create(uri, 'plaintext', 1, big);
  await c.open(uri, big);

  // Edits that keep it over the limit must not warn again.
  for (let version = 2; version <= 6; version++) {
    const change = { range: { start: doc.positionAt(0), end: doc.positionAt(1) }, text: `v${version}😀` };
    TextDocument.update(doc, [change], version);
    await c.notify('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [change] });
  }

  // Notifications the server sent while handling the didOpen and didChanges
  // arrive before the answer to a request sent after them.
  const got = await c.getDocument(uri);
  assert.equal(got.oversize, true, 'document/get oversize');
  assert.equal(got.version, 6);
  assertSameText(got.text, doc.getText(), 'the oversize document');
  const warnings = showMessages(c);
  assert.equal(warnings.length, 1, `one showMessage, got ${JSON.stringify(warnings)}`);
  assert.equal(warnings[0].params.type, 2, 'MessageType.Warning');
  assert.ok(warnings[0].params.message.includes(uri), `the warning names the document: ${warnings[0].params.message}`);

  const e = await c.getDocument(edgeURI);
  assert.equal(e.oversize, false, `a document of exactly ${LIMIT} bytes is not oversize`);
  assert.equal(e.text, edge);

  // One more byte makes it oversize, and warns once.
  await c.notify('textDocument/didChange', {
    textDocument: { uri: edgeURI, version: 2 },
    contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'x' }],
  });
  const e2 = await c.getDocument(edgeURI);
  assert.equal(e2.oversize, true, `a document of ${LIMIT + 1} bytes is oversize`);
  assert.equal(e2.text, 'x' + edge);
  assert.equal(showMessages(c).length, 2, 'a warning when an edit takes a document over the limit');

  // The warning is once per open: closing and reopening warns again.
  await c.notify('textDocument/didClose', { textDocument: { uri } });
  await c.open(uri, big, { version: 10 });
  const reopened = await c.getDocument(uri);
  assert.equal(reopened.oversize, true);
  assert.equal(showMessages(c).length, 3, 'another warning after close and reopen');
}, { args: ['--max-document-bytes', String(LIMIT)] });
