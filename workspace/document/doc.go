// Package document owns the text of the documents a client has open: the
// immutable [Text] with its LSP position conversions and incremental edits,
// and the [Store] of one session's open documents.
//
// # Text
//
// A [Text] is a persistent balanced tree (an implicit treap) whose elements
// are lines. Every line carries its terminator ("\n", "\r\n" or a lone "\r",
// the three that LSP 3.17 recognises); only the last line has none, so a text
// of n terminators has n+1 lines and the empty text has one empty line. Each
// tree node also records how many lines and bytes its subtree holds, so line
// lookups, offset lookups and edits all cost O(log n) plus the size of the
// lines they touch. Edits copy the path they change and share everything else,
// which makes a Text an immutable value: keeping an old one is an O(1)
// snapshot, and any number of goroutines may read it.
//
// # Positions
//
// A [Position] counts [Position.Character] in code units of an [Encoding],
// which the client and server agree on during initialize. Positions are
// clamped the way the LSP specification asks rather than rejected:
//
//   - a Character past the end of its line's content (the line without its
//     terminator) means the end of that content;
//   - a Line past the last line means the end of the document;
//   - a Character that falls inside a character made of several units, such
//     as the middle of a UTF-16 surrogate pair or of a UTF-8 sequence, is
//     rounded down to the start of that character;
//   - a [Range] whose End comes before its Start is treated as if the two were
//     swapped.
//
// Bytes that are not valid UTF-8 are counted as one code unit each, in every
// encoding, exactly as [utf8.DecodeRuneInString] steps over them. The text is
// stored as given; nothing is ever replaced by U+FFFD.
//
// # Store
//
// A [Store] maps URIs to open [Document] values and applies the
// textDocument/didOpen, didChange and didClose notifications to them. Its
// [Store.Snapshot] is O(1): the Store keeps its documents in a persistent
// tree too, so a snapshot is one pointer.
//
// Where a client breaks the protocol, the Store keeps its text in step with
// the client's rather than refusing: a second didOpen replaces the document
// and a didChange whose version does not increase is applied anyway, each
// with a logged warning. It refuses only what it cannot do: changing or
// closing a document that is not open, and opening more than
// [Config.MaxDocuments]. A document larger than [Config.MaxBytes] is kept
// exactly but marked Oversize, and [Update.BecameOversize] says so once per
// opening, so that the caller can tell the user once.
package document
