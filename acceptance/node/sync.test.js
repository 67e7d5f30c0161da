'use strict';

// Document sync cases the storm reaches only by chance: positions past the
// end of a line (LSP 3.17: "If the character value is greater than the line
// length it defaults back to the line length"), full-text changes mixed
// with ranged ones, empty documents, and the open/close cycle.

const assert = require('node:assert/strict');
const { scenario, expectError } = require('./lib/harness');

const NOT_FOUND = -31001;

function change(uri, version, ...contentChanges) {
  return { textDocument: { uri, version }, contentChanges };
}

function at(line, character) {
  return { line, character };
}

scenario('sync edge cases', async (t, server) => {
  for (const enc of ['utf-16', 'utf-8', 'utf-32']) {
    const c = await server.connect();
    const init = await c.initialize({ capabilities: { general: { positionEncodings: [enc] } } });
    assert.equal(init.capabilities.positionEncoding, enc);

    // Past the end of a line: clamped to the line, never into the next.
    const uri = `file:///edge/clamp-${enc}.txt`;
    await c.open(uri, 'ab😀\r\ncd\rlast');
    await c.notify('textDocument/didChange', change(uri, 2, { range: { start: at(0, 100), end: at(0, 100) }, text: 'X' }));
    await c.notify('textDocument/didChange', change(uri, 3, { range: { start: at(1, 1), end: at(1, 50) }, text: 'Z' }));
    await c.notify('textDocument/didChange', change(uri, 4, { range: { start: at(2, 4), end: at(2, 9) }, text: '!' }));
    let got = await c.getDocument(uri);
    assert.equal(got.text, 'ab😀X\r\ncZ\rlast!', `${enc}: characters past the line end`);
    assert.equal(got.version, 4);

    // A full-text change, then ranged changes against the new text, in
    // one notification.
    await c.notify('textDocument/didChange', change(uri, 5,
      { text: 'new 😀\nsecond' },
      { range: { start: at(1, 0), end: at(1, 0) }, text: '> ' },
      { range: { start: at(0, 0), end: at(0, 3) }, text: 'old' }));
    got = await c.getDocument(uri);
    assert.equal(got.text, 'old 😀\n> second', `${enc}: full-text change followed by ranged ones`);

    // Empty documents: open empty, insert, delete everything.
    const empty = `file:///edge/empty-${enc}.txt`;
    await c.open(empty, '');
    assert.equal((await c.getDocument(empty)).text, '', `${enc}: an empty document`);
    await c.notify('textDocument/didChange', change(empty, 2, { range: { start: at(0, 0), end: at(0, 0) }, text: '😀\n' }));
    assert.equal((await c.getDocument(empty)).text, '😀\n');
    await c.notify('textDocument/didChange', change(empty, 3, { range: { start: at(0, 0), end: at(1, 0) }, text: '' }));
    const cleared = await c.getDocument(empty);
    assert.deepEqual({ text: cleared.text, version: cleared.version }, { text: '', version: 3 }, `${enc}: everything deleted`);

    // Close and reopen: the reopened document is the new text and version.
    await c.notify('textDocument/didClose', { textDocument: { uri } });
    await expectError(c.getDocument(uri), NOT_FOUND, `${enc}: a closed document`, 'not_found');
    // A change to a document that is not open is dropped; the session goes on.
    await c.notify('textDocument/didChange', change(uri, 6, { range: { start: at(0, 0), end: at(0, 0) }, text: 'lost' }));
    await c.open(uri, 'again', { languageId: 'markdown', version: 42 });
    got = await c.getDocument(uri);
    assert.deepEqual({ text: got.text, version: got.version, languageId: got.languageId },
      { text: 'again', version: 42, languageId: 'markdown' }, `${enc}: the reopened document`);

    const status = await c.request('gathering/status', {});
    assert.equal(status.session.openDocuments, 2, `${enc}: open documents`);
    // The process (stdio) or connection (TCP) ends with the test.
    await c.request('shutdown');
    await c.notify('exit');
  }
});
