'use strict';

// TypeScript through typescript-language-server (npm, pinned in
// acceptance/langservers) behind lspbridge, run alone (--plugins
// typescript): the type error in acceptance/testdata/typescript/app.ts is
// published on its identifier, and hover shows the function's signature
// and doc comment.

const assert = require('node:assert/strict');
const { languageScenario, Workspace, at, nameRange, openEditor, waitForDiagnostics, hoverText, needCommands } = require('./lib/languages');

languageScenario('typescript through lspbridge: diagnostics and hover', async (t, server) => {
  if (!needCommands(t, ['typescript-language-server', 'node'])) return;
  const ws = new Workspace('typescript', server.dir);
  const { c, init } = await openEditor(server, ws);

  const uri = ws.fileUri('app.ts');
  const text = ws.read('app.ts');
  await c.open(uri, text, { languageId: 'typescript' });
  const pub = await waitForDiagnostics(c, uri, { accept: (ds) => ds.length > 0, what: 'the type error', plugin: 'typescript' });
  t.diagnostic(`typescript diagnostics: ${JSON.stringify(pub.diagnostics)}`);
  const errors = pub.diagnostics.filter((d) => d.severity === 1);
  assert.equal(errors.length, 1, `typescript: one error in app.ts, got ${JSON.stringify(pub.diagnostics)}`);
  assert.equal(errors[0].code, 2322, 'typescript: error TS2322');
  assert.deepEqual(errors[0].range, nameRange(text, 'const total:', 'total'), 'typescript: the error is on the declared name');
  assert.match(errors[0].message, /Type 'number' is not assignable to type 'string'/, 'typescript: the error message');

  const hover = await c.request('textDocument/hover', { textDocument: { uri }, position: at(text, 'add(1, 2)', { delta: 1 }) });
  const shown = hoverText(hover);
  assert.match(shown, /function add\(a: number, b: number\): number/, 'typescript: hover on add shows its signature');
  assert.match(shown, /Adds two numbers\./, 'typescript: hover on add shows its doc comment');

  // An editor sends only what initialize advertised (checked last, so a
  // failure here still shows whether the features work).
  assert.ok(init.capabilities.hoverProvider, `typescript: initialize advertises hoverProvider; capabilities advertised: ${Object.keys(init.capabilities).join(", ")}`);
}, { args: ['--plugins', 'typescript'] });
