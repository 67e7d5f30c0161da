'use strict';

// A storm of incremental didChange notifications, sent without waiting, on
// text with astral characters (surrogate pairs in UTF-16), CRLF, lone CR and
// LF line ends. The client keeps its own copy with the reference
// TextDocument implementation (vscode-languageserver-textdocument, the one
// VS Code's servers use); at the end the server's text must be identical.

const assert = require('node:assert/strict');
const { TextDocument } = require('vscode-languageserver-textdocument');
const { scenario, assertSameText, mulberry32, seed } = require('./lib/harness');
const { randomEdit } = require('./lib/edits');

const NOTIFICATIONS = 1000;
const INITIAL = 'héllo 😀 wörld 👍🏽\r\nline two\r\n🇫🇷 lone cr\rafter cr\nlf only\n\n𝄞 end';

scenario('storm', async (t, server) => {
  const s = seed();
  t.diagnostic(`seed ${s} (rerun with GATHERING_SEED=${s})`);
  const rand = mulberry32(s);

  const c = await server.connect();
  const init = await c.initialize(); // no positionEncodings offered: utf-16
  assert.equal(init.capabilities.positionEncoding ?? 'utf-16', 'utf-16');

  const uri = 'file:///storm/emoji.txt';
  const doc = TextDocument.create(uri, 'plaintext', 1, INITIAL);
  await c.open(uri, INITIAL);

  let changes = 0;
  const writes = [];
  for (let version = 2; version <= NOTIFICATIONS + 1; version++) {
    // One to three changes per notification; each change's range is in the
    // text as the changes before it in the same notification left it.
    const contentChanges = [];
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      const e = randomEdit(rand, doc.getText());
      const change = { range: { start: doc.positionAt(e.start), end: doc.positionAt(e.end) }, text: e.text };
      TextDocument.update(doc, [change], version);
      contentChanges.push(change);
    }
    changes += contentChanges.length;
    // Fire and forget: the next notification does not wait for anything.
    writes.push(c.notify('textDocument/didChange', { textDocument: { uri, version }, contentChanges }));
  }
  await Promise.all(writes); // written to the transport, not answered: notifications have no answer

  const got = await c.getDocument(uri);
  t.diagnostic(`${NOTIFICATIONS} notifications, ${changes} changes, final text ${doc.getText().length} UTF-16 units`);
  assert.equal(got.version, NOTIFICATIONS + 1, 'document version');
  assert.equal(got.uri, uri);
  assert.equal(got.languageId, 'plaintext');
  assert.equal(got.oversize, false);
  assertSameText(got.text, doc.getText(), 'server text after the storm');
  assert.ok(c.errors.length === 0, `transport errors: ${c.errors.join('; ')}`);
});
