'use strict';

// Position encoding negotiation (LSP 3.17 general.positionEncodings), and
// that edits are then read in the negotiated encoding: on text with
// astral characters the three encodings give different columns, so an edit
// read in the wrong one lands in the wrong place or splits a character.

const assert = require('node:assert/strict');
const { scenario, assertSameText, mulberry32, seed } = require('./lib/harness');
const { randomEdit, applyEdit } = require('./lib/edits');
const { positionAt } = require('./lib/positions');

const INITIAL = 'héllo 😀 wörld 👍🏽\r\nçà 🇫🇷 end\nlast 𝄞';
const RANDOM_EDITS = 200;

// Edits found by content, as {start, end, text} in UTF-16 offsets of the
// text at that point.
const FIXED = [
  (s) => ({ start: s.indexOf('😀') + 2, end: s.indexOf('😀') + 2, text: 'X' }), // after an astral char
  (s) => ({ start: s.indexOf('👍🏽'), end: s.indexOf('👍🏽') + 4, text: '👌' }), // two astral code points
  (s) => ({ start: s.indexOf('é'), end: s.indexOf('é') + 1, text: '' }), // a 2-byte char
  (s) => ({ start: s.indexOf('\r\n'), end: s.indexOf('\r\n'), text: '🎉' }), // end of a CRLF line
  (s) => ({ start: s.indexOf('🇫🇷'), end: s.indexOf('🇫🇷') + 4, text: 'FR' }),
  (s) => ({ start: s.indexOf('𝄞') + 2, end: s.indexOf('𝄞') + 2, text: ' ok' }), // end of the document
  (s) => ({ start: s.indexOf('ç'), end: s.indexOf('ç') + 1, text: 'c😀' }),
];

const CASES = [
  { offered: ['utf-8', 'utf-16'], want: 'utf-8' },
  { offered: ['utf-16', 'utf-8'], want: 'utf-8' },
  { offered: ['utf-32'], want: 'utf-32' },
  { offered: ['utf-32', 'utf-16'], want: 'utf-32' },
  { offered: ['utf-16', 'utf-32'], want: 'utf-16' },
  { offered: ['latin-1'], want: 'utf-16' },
  { offered: [], want: 'utf-16' },
  { offered: undefined, want: 'utf-16' }, // no general capabilities at all
];

scenario('encoding', async (t, server) => {
  const s = seed();
  t.diagnostic(`seed ${s} (rerun with GATHERING_SEED=${s})`);
  const rand = mulberry32(s);

  for (const [i, tc] of CASES.entries()) {
    const what = `offered ${JSON.stringify(tc.offered)}`;
    const c = await server.connect();
    const capabilities = tc.offered === undefined ? {} : { general: { positionEncodings: tc.offered } };
    const init = await c.initialize({ capabilities });
    assert.equal(init.capabilities.positionEncoding, tc.want, `${what}: capabilities.positionEncoding`);
    const status = await c.request('gathering/status', {});
    assert.equal(status.session.positionEncoding, tc.want, `${what}: status.session.positionEncoding`);

    const uri = `file:///encoding/${i}.txt`;
    let text = INITIAL;
    await c.open(uri, text);
    let version = 1;
    const send = (e) => {
      const change = { range: { start: positionAt(text, e.start, tc.want), end: positionAt(text, e.end, tc.want) }, text: e.text };
      text = applyEdit(text, e);
      version++;
      return c.notify('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [change] });
    };

    for (const edit of FIXED) await send(edit(text));
    let got = await c.getDocument(uri);
    assert.equal(got.version, version, `${what}: version after the fixed edits`);
    assertSameText(got.text, text, `${what}: text after the fixed edits in ${tc.want}`);

    for (let n = 0; n < RANDOM_EDITS; n++) await send(randomEdit(rand, text, 600));
    got = await c.getDocument(uri);
    assert.equal(got.version, version, `${what}: version after the random edits`);
    assertSameText(got.text, text, `${what}: text after ${RANDOM_EDITS} random edits in ${tc.want}`);

    // The process (stdio) or connection (TCP) ends with the test.
    await c.request('shutdown');
    await c.notify('exit');
  }
});
