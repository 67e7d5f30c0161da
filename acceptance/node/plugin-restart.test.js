'use strict';

// A plugin that dies, seen from the editor: the `go` plugin's process is
// killed with SIGKILL while a hover is on its way. That hover, and any
// request until the plugin is back, either fails with a clear error
// (RequestFailed, data.code plugin_crashed, plugin_unavailable or
// plugin_timeout) or is
// answered correctly; the plugin restarts as a new process, the open
// documents are replayed to it, so their diagnostics are published again
// and it follows later edits; gathering/plugin/list counts the restart.

const assert = require('node:assert/strict');
const {
  languageScenario, Workspace, at, nameRange, openEditor, waitForDiagnostics, hoverText, descendants, pluginProcesses, serverPid,
  PUBLISH_TIMEOUT_MS,
} = require('./lib/languages');

const REQUEST_FAILED = -32803;
// A request that reaches the restarted plugin before it has loaded the
// module may run out its deadline instead: also a clear error.
const CLEAR_CODES = ['plugin_crashed', 'plugin_unavailable', 'plugin_timeout'];
// How long the restarted plugin may take to answer again: the back-off
// starts at some 100 ms and the process in milliseconds, but the plugin
// then loads the module again (see PUBLISH_TIMEOUT_MS). A bound for
// failures; the test goes on as soon as a hover is answered.
const RESTART_TIMEOUT_MS = PUBLISH_TIMEOUT_MS;

const OOPS = 'package main\n\nvar broken int = "not a number"\n';

// settle turns a request into {result} or {error}.
function settle(promise) {
  return promise.then((result) => ({ result }), (error) => ({ error }));
}

languageScenario('go plugin killed: clear errors, restart, diagnostics again', async (t, server) => {
  const ws = new Workspace('gomod', server.dir);
  ws.write('oops.go', OOPS);
  const { c } = await openEditor(server, ws);
  const mainUri = ws.fileUri('main.go');
  const main = ws.read('main.go');
  const oopsUri = ws.fileUri('oops.go');
  await c.open(mainUri, main, { languageId: 'go' });
  await c.open(oopsUri, OOPS, { languageId: 'go' });

  const typeError = (message) => (ds) => ds.some((d) => d.severity === 1 && d.range.start.line === 2 && message.test(d.message));
  const first = await waitForDiagnostics(c, oopsUri, { accept: typeError(/"not a number"/), what: 'the type error in oops.go', plugin: 'go' });
  const diag = first.diagnostics.find((d) => d.severity === 1);
  assert.deepEqual(diag.range.start, at(OOPS, '"not a number"'), 'the type error is on the string');

  const pid = serverPid(c);
  const before = pluginProcesses(pid, 'go');
  assert.ok(before.length > 0, `no process running "plugin-run go" under the server (pid ${pid}); ` +
    `its processes: ${JSON.stringify(descendants(pid).map((p) => p.argv.join(' ')))}`);
  t.diagnostic(`plugin processes: ${JSON.stringify(before)}`);

  const hoverParams = { textDocument: { uri: mainUri }, position: at(main, 'greet.Hello(', { delta: 'greet.He'.length }) };
  const checkHover = (result, what) => {
    assert.match(hoverText(result), /func (greet\.)?Hello\(name string, loud bool\) string/, `${what}: hover shows the signature`);
  };
  const checkError = (error, what) => {
    assert.equal(error.code, REQUEST_FAILED, `${what}: error code ${error.code} (${error.message}), want ${REQUEST_FAILED}`);
    assert.ok(CLEAR_CODES.includes(error.data?.code), `${what}: data ${JSON.stringify(error.data)}, want code one of ${CLEAR_CODES}`);
    assert.ok(error.message, `${what}: an error without a message`);
  };

  // Kill the plugin right behind a hover.
  const notificationsBefore = c.notifications.length;
  const pending = settle(c.request('textDocument/hover', hoverParams));
  for (const p of before) process.kill(p.pid, 'SIGKILL');
  const killedAt = performance.now();
  const outcome = await pending;
  if (outcome.error) {
    t.diagnostic(`the hover in flight failed: ${outcome.error.code} ${outcome.error.message} ${JSON.stringify(outcome.error.data)}`);
    checkError(outcome.error, 'the hover in flight when the plugin was killed');
  } else {
    t.diagnostic('the hover in flight was answered');
    checkHover(outcome.result, 'the hover in flight when the plugin was killed');
  }

  // Until the plugin is back, each request fails clearly; then it answers.
  let failures = 0;
  for (;;) {
    const next = await settle(c.request('textDocument/hover', hoverParams));
    if (!next.error) {
      checkHover(next.result, 'a hover after the restart');
      break;
    }
    t.diagnostic(`hover ${failures + 1} after the kill, at ${(performance.now() - killedAt).toFixed(0)} ms: ` +
      `${next.error.code} ${next.error.message} ${JSON.stringify(next.error.data)}`);
    checkError(next.error, `hover ${failures + 1} after the kill`);
    failures++;
    assert.ok(performance.now() - killedAt < RESTART_TIMEOUT_MS,
      `the go plugin did not answer within ${RESTART_TIMEOUT_MS} ms of being killed; last error: ${next.error.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.diagnostic(`answered again ${(performance.now() - killedAt).toFixed(0)} ms after the kill, after ${failures} failed hovers`);

  // A new process, and the open documents replayed to it: the type error
  // is published again.
  const after = pluginProcesses(pid, 'go');
  assert.ok(after.length > 0, 'no "plugin-run go" process after the restart');
  const old = new Set(before.map((p) => p.pid));
  assert.ok(after.every((p) => !old.has(p.pid)), `the plugin still runs as a killed pid: ${JSON.stringify(after)}`);
  await waitForDiagnostics(c, oopsUri, {
    from: notificationsBefore,
    accept: typeError(/"not a number"/),
    what: 'the type error published again after the restart (didOpen replayed)',
    plugin: 'go',
  });

  // The restarted plugin has the documents' text: a ranged edit applies to
  // it, and the diagnostics follow.
  const from = c.notifications.length;
  await c.notify('textDocument/didChange', {
    textDocument: { uri: oopsUri, version: 2 },
    contentChanges: [{ range: nameRange(OOPS, '"not a number"', 'not a number'), text: 'still not' }],
  });
  await waitForDiagnostics(c, oopsUri, { from, accept: typeError(/"still not"/), what: 'the edited type error after the restart', plugin: 'go' });

  const list = await c.request('gathering/plugin/list', {});
  const go = list.plugins.find((p) => p.name === 'go');
  assert.ok(go, `gathering/plugin/list has no go plugin: ${JSON.stringify(list)}`);
  assert.ok(go.restarts >= 1, `gathering/plugin/list: go restarts ${go.restarts}, want >= 1: ${JSON.stringify(go)}`);
  assert.ok(go.running >= 1, `gathering/plugin/list: go running ${go.running}, want >= 1: ${JSON.stringify(go)}`);
}, { args: ['--plugins', 'go'] });
