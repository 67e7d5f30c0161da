'use strict';

// LSP positions in each negotiable encoding, computed independently of the
// server and of vscode-languageserver-textdocument (which knows only
// UTF-16). Lines end at CRLF, CR or LF, as LSP 3.17 specifies.

// units counts the code units of s in encoding enc.
function units(s, enc) {
  switch (enc) {
    case 'utf-8':
      return Buffer.byteLength(s, 'utf8');
    case 'utf-16':
      return s.length;
    case 'utf-32':
      return [...s].length;
    default:
      throw new Error(`unknown position encoding ${enc}`);
  }
}

// positionAt returns the LSP position of the UTF-16 offset in text, with
// the character counted in enc. offset must not split a surrogate pair or
// a CRLF.
function positionAt(text, offset, enc) {
  const before = text.slice(0, offset);
  const breaks = before.match(/\r\n|\r|\n/g);
  const lineStart = Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r')) + 1;
  return { line: breaks ? breaks.length : 0, character: units(text.slice(lineStart, offset), enc) };
}

module.exports = { units, positionAt };
