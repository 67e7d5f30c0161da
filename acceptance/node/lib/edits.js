'use strict';

// Random edits for document-sync storms. Edits are chosen as UTF-16 offsets
// into the client's text, at boundaries a real editor can address: never
// inside a surrogate pair and never between the CR and LF of a CRLF. They
// cluster around the interesting places (astral characters, line ends) and
// insert fragments that make new ones, including CRs and LFs that join into
// or split from CRLFs.

const FRAGMENTS = [
  'x', 'ab', ' ', 'é', 'ü', 'ß', '€', '😀', '👍🏽', '🇫🇷', '𝄞', 'a😀b', '\n', '\r\n', '\r', 'x\r\ny', '😀\n', '\r😀',
];

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;
const isEOL = (c) => c === 0x0a || c === 0x0d;

// boundaries returns the addressable offsets of text, and the subset next to
// an astral character or a line end.
function boundaries(text) {
  const all = [];
  const hot = [];
  for (let i = 0; i <= text.length; i++) {
    const before = i > 0 ? text.charCodeAt(i - 1) : -1;
    const after = i < text.length ? text.charCodeAt(i) : -1;
    if (isHigh(before) && isLow(after)) continue;
    if (before === 0x0d && after === 0x0a) continue;
    all.push(i);
    if (isLow(before) || isHigh(after) || isEOL(before) || isEOL(after)) hot.push(i);
  }
  return { all, hot };
}

// randomEdit returns {start, end, text}: replace text[start:end] with text.
// maxLength keeps the document from growing without bound.
function randomEdit(rand, text, maxLength = 3000) {
  const { all, hot } = boundaries(text);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const startIndex = all.indexOf(rand() < 0.75 && hot.length ? pick(hot) : pick(all));
  const start = all[startIndex];
  const r = rand();
  const grow = text.length < maxLength;
  let kind;
  if (!grow || (r < 0.25 && startIndex < all.length - 1)) kind = 'delete';
  else if (r < 0.45) kind = 'replace';
  else kind = 'insert';

  let end = start;
  if (kind !== 'insert') {
    const span = 1 + Math.floor(rand() * 6);
    end = all[Math.min(all.length - 1, startIndex + span)];
  }
  let insert = '';
  if (kind !== 'delete') {
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) insert += pick(FRAGMENTS);
  }
  return { start, end, text: insert };
}

function applyEdit(text, e) {
  return text.slice(0, e.start) + e.text + text.slice(e.end);
}

module.exports = { boundaries, randomEdit, applyEdit };
