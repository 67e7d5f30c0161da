'use strict';

// Go language features for a real module (acceptance/testdata/gomod: a main
// package importing fmt and its own greet package), answered by one plugin
// at a time so the answer's origin is known: the native `go` plugin, and
// gopls behind lspbridge. The editor opens main.go as a user would; the
// other package is read from the workspace folder by the plugin.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const { TextDocument } = require('vscode-languageserver-textdocument');
const { assertSameText, withTimeout } = require('./lib/harness');
const {
  languageScenario, Workspace, at, nameRange, openEditor, waitForDiagnostics, hoverText, locations,
  completionLabels, gofmt, needCommands, descendants, pluginProcesses, serverPid,
} = require('./lib/languages');

// How long the plugin processes may take to go once the session has ended.
const GONE_TIMEOUT_MS = 10_000;

const FUNCTION = 3; // CompletionItemKind
const CONSTANT = 21;

// alive reports whether pid still runs, or is a zombie its parent
// serverPid has not reaped. A zombie under another parent (the machine's
// init, after a stdio server exited) is gone as far as gathering goes.
function alive(pid, serverPid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return state !== 'Z' || Number(ppid) === serverPid;
}

async function goFeatures(t, server, plugin) {
  if (plugin === 'gopls' && !needCommands(t, ['gopls', 'go'])) return;
  const ws = new Workspace('gomod', server.dir);
  const { c, init } = await openEditor(server, ws);

  const mainUri = ws.fileUri('main.go');
  const main = ws.read('main.go');
  const greetUri = ws.fileUri('greet/greet.go');
  const greet = ws.read('greet/greet.go');
  const doc = { uri: mainUri };

  await c.open(mainUri, main, { languageId: 'go' });
  // The first publication for main.go says the plugin has loaded the
  // module; main.go has no errors.
  const first = await waitForDiagnostics(c, mainUri, { what: 'any diagnostics (main.go is loaded)', plugin });
  assert.deepEqual(first.diagnostics.filter((d) => d.severity === 1), [], `${plugin}: errors in main.go`);

  // Hover on greet.Hello in main.go: the signature and the doc comment of
  // the function in the other package.
  const onHello = at(main, 'greet.Hello(', { delta: 'greet.He'.length });
  const hover = await c.request('textDocument/hover', { textDocument: doc, position: onHello });
  const text = hoverText(hover);
  t.diagnostic(`${plugin} hover: ${JSON.stringify(text)}`);
  assert.match(text, /func (greet\.)?Hello\(name string, loud bool\) string/, `${plugin}: hover shows the signature`);
  assert.match(text, /Hello returns a greeting for name, shouted when loud is set\./, `${plugin}: hover shows the doc comment`);
  if (hover.range) {
    assert.deepEqual(hover.range, nameRange(main, 'greet.Hello(', 'Hello'), `${plugin}: hover range is the identifier`);
  }

  // Definition: the declared name in greet/greet.go.
  const def = await c.request('textDocument/definition', { textDocument: doc, position: onHello });
  assert.deepEqual(locations(def), [{ uri: greetUri, range: nameRange(greet, 'func Hello(', 'Hello') }],
    `${plugin}: definition of greet.Hello`);

  // References: exactly the declaration, the call in Greet, and the two
  // calls in main.go; without the declaration when it is not asked for.
  const uses = [
    { uri: greetUri, range: nameRange(greet, '+ Hello(name, false)', 'Hello') },
    { uri: mainUri, range: nameRange(main, 'greet.Hello(', 'Hello', 0) },
    { uri: mainUri, range: nameRange(main, 'greet.Hello(', 'Hello', 1) },
  ];
  const decl = { uri: greetUri, range: nameRange(greet, 'func Hello(', 'Hello') };
  const refs = await c.request('textDocument/references', { textDocument: doc, position: onHello, context: { includeDeclaration: true } });
  assert.deepEqual(locations(refs), locations([decl, ...uses]), `${plugin}: references of Hello with the declaration`);
  const refsOnly = await c.request('textDocument/references', { textDocument: doc, position: onHello, context: { includeDeclaration: false } });
  assert.deepEqual(locations(refsOnly), locations(uses), `${plugin}: references of Hello without the declaration`);

  // Completion after "greet." typed on a new line of main: the package's
  // exported names, none of its unexported ones.
  const lines = main.split('\n');
  const close = lines.lastIndexOf('}');
  await c.notify('textDocument/didChange', {
    textDocument: { uri: mainUri, version: 2 },
    contentChanges: [{ range: { start: { line: close, character: 0 }, end: { line: close, character: 0 } }, text: '\tgreet.\n' }],
  });
  const completion = await c.request('textDocument/completion', {
    textDocument: doc,
    position: { line: close, character: '\tgreet.'.length },
    context: { triggerKind: 2, triggerCharacter: '.' },
  });
  const labels = completionLabels(completion);
  t.diagnostic(`${plugin} completion after greet.: ${JSON.stringify(labels)}`);
  for (const name of ['Hello', 'Version', 'Greeter', 'Shout']) {
    assert.ok(labels.includes(name), `${plugin}: completion after greet. offers ${name}; got ${JSON.stringify(labels)}`);
  }
  for (const name of ['helper', 'table', 'strings', 'fmt']) {
    assert.ok(!labels.includes(name), `${plugin}: completion after greet. offers ${name}, which is not an exported member of greet`);
  }
  const items = Array.isArray(completion) ? completion : completion.items;
  assert.equal(items.find((i) => i.label === 'Hello').kind, FUNCTION, `${plugin}: Hello's completion kind`);
  assert.equal(items.find((i) => i.label === 'Version').kind, CONSTANT, `${plugin}: Version's completion kind`);

  // Formatting a badly formatted file (astral characters and all): the
  // edits, applied in UTF-16 as an editor applies them, give gofmt's text;
  // the formatted file then needs no edits.
  const messyUri = ws.fileUri('greet/messy.go');
  const messy = ws.read('greet/messy.go');
  const want = gofmt(messy);
  assert.notEqual(want, messy, 'the fixture greet/messy.go.in must be badly formatted');
  await c.open(messyUri, messy, { languageId: 'go' });
  const options = { tabSize: 8, insertSpaces: false };
  const edits = await c.request('textDocument/formatting', { textDocument: { uri: messyUri }, options });
  assert.ok(Array.isArray(edits) && edits.length > 0, `${plugin}: formatting answered ${JSON.stringify(edits)}, want edits`);
  const got = TextDocument.applyEdits(TextDocument.create(messyUri, 'go', 1, messy), edits);
  assertSameText(got, want, `${plugin}: messy.go after the formatting edits vs gofmt`);
  await c.notify('textDocument/didChange', { textDocument: { uri: messyUri, version: 2 }, contentChanges: [{ text: want }] });
  const again = await c.request('textDocument/formatting', { textDocument: { uri: messyUri }, options });
  assert.ok(again === null || (Array.isArray(again) && again.length === 0),
    `${plugin}: formatting a gofmt'd file answered ${JSON.stringify(again)}, want no edits`);

  // An editor sends only what initialize advertised. (Checked last, so a
  // failure here still shows whether the features work.)
  for (const cap of ['hoverProvider', 'definitionProvider', 'referencesProvider', 'completionProvider', 'documentFormattingProvider']) {
    assert.ok(init.capabilities[cap], `${plugin}: initialize advertises ${cap}; capabilities advertised: ${Object.keys(init.capabilities).join(", ")}`);
  }

  // Ending the session ends the plugin and everything it started.
  const pid = serverPid(c);
  const plugins = pluginProcesses(pid, plugin);
  assert.ok(plugins.length > 0, `${plugin}: no process of the ${plugin} plugin under the server (pid ${pid}); ` +
    `its processes: ${JSON.stringify(descendants(pid).map((p) => p.argv.join(' ')))}`);
  const pids = new Set(plugins.flatMap((p) => [p.pid, ...descendants(p.pid).map((d) => d.pid)]));
  await c.request('shutdown');
  await c.notify('exit');
  await c.waitClosed();
  const running = () => [...pids].filter((p) => alive(p, pid));
  await withTimeout((async () => {
    while (running().length > 0) await new Promise((r) => setTimeout(r, 25));
  })(), GONE_TIMEOUT_MS, `${plugin}'s processes ${[...pids].join(', ')} to exit after the session ended`);
}

languageScenario('go plugin: hover, definition, references, completion, formatting', (t, server) => goFeatures(t, server, 'go'),
  { args: ['--plugins', 'go'] });

languageScenario('gopls through lspbridge: hover, definition, references, completion, formatting', (t, server) => goFeatures(t, server, 'gopls'),
  { args: ['--plugins', 'gopls'] });

// With no plugins, the server advertises no language features and answers
// their requests null, as LSP expects of a feature with nothing to show;
// no plugin process starts.
languageScenario('no plugins: language requests answer null', async (t, server) => {
  const ws = new Workspace('gomod', server.dir);
  const { c, init } = await openEditor(server, ws);
  for (const cap of ['hoverProvider', 'definitionProvider', 'referencesProvider', 'completionProvider', 'documentFormattingProvider']) {
    assert.equal(init.capabilities[cap], undefined, `--plugins none: initialize advertises ${cap}`);
  }
  const mainUri = ws.fileUri('main.go');
  const main = ws.read('main.go');
  await c.open(mainUri, main, { languageId: 'go' });
  const position = at(main, 'greet.Hello(', { delta: 'greet.He'.length });
  assert.equal(await c.request('textDocument/hover', { textDocument: { uri: mainUri }, position }), null, 'hover');
  assert.equal(await c.request('textDocument/definition', { textDocument: { uri: mainUri }, position }), null, 'definition');
  const pid = serverPid(c);
  assert.deepEqual(descendants(pid).filter((p) => p.argv.includes('plugin-run')), [], 'plugin processes under the server');
  const list = await c.request('gathering/plugin/list', {});
  assert.deepEqual(list.plugins.filter((p) => p.running > 0), [], 'running plugins in gathering/plugin/list');
}, { args: ['--plugins', 'none'] });
