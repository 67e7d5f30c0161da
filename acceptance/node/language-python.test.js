'use strict';

// Python through pyright (npm, pinned in acceptance/langservers) behind
// lspbridge, run alone (--plugins pyright): the type error in
// acceptance/testdata/python/app.py is published on its line, hover shows
// the function's signature, and fixing the error clears it.

const assert = require('node:assert/strict');
const { languageScenario, Workspace, at, span, nameRange, openEditor, waitForDiagnostics, hoverText, needCommands } = require('./lib/languages');

languageScenario('pyright through lspbridge: diagnostics', async (t, server) => {
  if (!needCommands(t, ['pyright-langserver', 'node'])) return;
  const ws = new Workspace('python', server.dir);
  const { c, init } = await openEditor(server, ws);

  const uri = ws.fileUri('app.py');
  const text = ws.read('app.py');
  await c.open(uri, text, { languageId: 'python' });
  const pub = await waitForDiagnostics(c, uri, { accept: (ds) => ds.length > 0, what: 'the type error', plugin: 'pyright' });
  t.diagnostic(`pyright diagnostics: ${JSON.stringify(pub.diagnostics)}`);
  const errors = pub.diagnostics.filter((d) => d.severity === 1);
  assert.equal(errors.length, 1, `pyright: one error in app.py, got ${JSON.stringify(pub.diagnostics)}`);
  assert.deepEqual(errors[0].range, span(text, 'add(1, 2)'), 'pyright: the error is on the assigned expression');
  assert.match(errors[0].message, /Type "int" is not assignable to declared type "str"/, 'pyright: the error message');

  const hover = await c.request('textDocument/hover', { textDocument: { uri }, position: at(text, 'add(1, 2)', { delta: 1 }) });
  assert.match(hoverText(hover), /def add\(\s*a: int,\s*b: int\s*\) -> int/, 'pyright: hover on add shows its signature');

  // Fix the annotation: the error goes.
  const from = c.notifications.length;
  await c.notify('textDocument/didChange', {
    textDocument: { uri, version: 2 },
    contentChanges: [{ range: nameRange(text, 'total: str', 'str'), text: 'int' }],
  });
  await waitForDiagnostics(c, uri, { from, accept: (ds) => !ds.some((d) => d.severity === 1), what: 'no errors after the fix', plugin: 'pyright' });

  // An editor sends only what initialize advertised (checked last, so a
  // failure here still shows whether the features work).
  assert.ok(init.capabilities.hoverProvider, `pyright: initialize advertises hoverProvider; capabilities advertised: ${Object.keys(init.capabilities).join(", ")}`);
}, { args: ['--plugins', 'pyright'] });
