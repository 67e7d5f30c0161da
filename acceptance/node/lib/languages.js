'use strict';

// Helpers for the language scenarios: the fixtures in acceptance/testdata
// copied to a workspace of their own, an editor's answers to the requests a
// language server sends its client, positions found by text rather than
// counted by hand, waiting for published diagnostics, the external language
// servers a scenario needs, and the plugin processes under a server.

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { ResponseError } = require('vscode-languageserver-protocol/node');
const { scenario } = require('./harness');
const { positionAt } = require('./positions');

const TESTDATA = path.resolve(__dirname, '..', '..', 'testdata');

// How long a language server may take to publish after a document opens:
// it loads the module and type-checks the standard library it imports
// first, and the built-in go plugin is the server binary itself, built with
// the race detector under -race (some 20 s then for fmt's imports on two
// busy cores, against 2.5 s without). Bounds for failures: waits end as
// soon as the publication comes.
const PUBLISH_TIMEOUT_MS = 120_000;
const POLL_MS = 25;
// A language scenario's whole run, over harness.js's minute for the
// server-only scenarios.
const LANGUAGE_TEST_TIMEOUT_MS = 240_000;

// languageScenario is harness.js's scenario with room for language servers
// to load (LANGUAGE_TEST_TIMEOUT_MS).
function languageScenario(name, body, options = {}) {
  scenario(name, body, { timeout: LANGUAGE_TEST_TIMEOUT_MS, ...options });
}

// copyFixture copies acceptance/testdata/name into dir/name and returns the
// copy's real path (language servers answer with real paths). A file named
// X.go.in is copied as X.go: it is badly formatted on purpose, and
// scripts/test fails on any tracked .go file gofmt would change.
function copyFixture(name, dir) {
  const dest = path.join(dir, name);
  const copy = (from, to) => {
    fs.mkdirSync(to, { recursive: true });
    for (const e of fs.readdirSync(from, { withFileTypes: true })) {
      const src = path.join(from, e.name);
      if (e.isDirectory()) copy(src, path.join(to, e.name));
      else fs.copyFileSync(src, path.join(to, e.name.replace(/\.go\.in$/, '.go')));
    }
  };
  copy(path.join(TESTDATA, name), dest);
  return fs.realpathSync(dest);
}

// Workspace is a fixture copy, with its files by relative path.
class Workspace {
  constructor(name, dir) {
    this.root = copyFixture(name, dir);
    this.uri = pathToFileURL(this.root).href;
  }

  path(rel) {
    return path.join(this.root, rel);
  }

  fileUri(rel) {
    return pathToFileURL(this.path(rel)).href;
  }

  read(rel) {
    return fs.readFileSync(this.path(rel), 'utf8');
  }

  write(rel, text) {
    fs.writeFileSync(this.path(rel), text);
  }

  // folder is the initialize params naming the workspace as the one folder.
  folder() {
    return { rootUri: this.uri, workspaceFolders: [{ uri: this.uri, name: path.basename(this.root) }] };
  }
}

// at returns the UTF-16 position of the occurrence-th (from 0) match of
// needle in text, moved by delta characters along the line.
function at(text, needle, { occurrence = 0, delta = 0 } = {}) {
  let i = -1;
  for (let n = 0; n <= occurrence; n++) {
    i = text.indexOf(needle, i + 1);
    assert.ok(i >= 0, `fixture text has no occurrence ${occurrence} of ${JSON.stringify(needle)}`);
  }
  return positionAt(text, i + delta, 'utf-16');
}

// span returns the range of the occurrence-th match of needle in text.
function span(text, needle, occurrence = 0) {
  const start = at(text, needle, { occurrence });
  return { start, end: { line: start.line, character: start.character + needle.length } };
}

// nameRange returns the range of name inside the occurrence-th match of
// context in text: nameRange(src, 'func Hello(', 'Hello') is the declared
// name, not an earlier mention in a comment.
function nameRange(text, context, name, occurrence = 0) {
  const within = context.indexOf(name);
  assert.ok(within >= 0, `${JSON.stringify(name)} is not in ${JSON.stringify(context)}`);
  const start = at(text, context, { occurrence, delta: within });
  return { start, end: { line: start.line, character: start.character + name.length } };
}

// CLIENT_CAPABILITIES are what a typical editor declares for the features
// the scenarios use, so servers answer in their richest form.
const CLIENT_CAPABILITIES = {
  workspace: { configuration: true, workspaceFolders: true, applyEdit: true },
  textDocument: {
    synchronization: { didSave: true, dynamicRegistration: false },
    hover: { contentFormat: ['markdown', 'plaintext'] },
    completion: { completionItem: { snippetSupport: false, documentationFormat: ['markdown', 'plaintext'] } },
    definition: { linkSupport: false },
    references: {},
    formatting: {},
    publishDiagnostics: { relatedInformation: true, versionSupport: true },
  },
  window: { workDoneProgress: false },
};

// actAsEditor answers the requests a language server sends its client, as
// an editor does: configuration (no settings, so defaults), capability
// registration, progress tokens. Anything else is refused, as
// vscode-jsonrpc refuses a method it has no handler for.
function actAsEditor(client) {
  client.serverRequests = [];
  client.conn.onRequest((method, params) => {
    client.serverRequests.push({ method, params });
    switch (method) {
      case 'workspace/configuration':
        return (params?.items ?? []).map(() => null);
      case 'client/registerCapability':
      case 'client/unregisterCapability':
      case 'window/workDoneProgress/create':
        return null;
      case 'window/showMessageRequest':
        return null;
      case 'workspace/workspaceFolders':
        return null;
      default:
        return new ResponseError(-32601, `the acceptance client does not handle ${method}`);
    }
  });
}

// openEditor connects a session to server with ws as its folder, ready to
// answer what language servers ask, and returns it with the initialize
// result.
async function openEditor(server, ws) {
  const c = await server.connect();
  actAsEditor(c);
  const init = await c.initialize({ capabilities: CLIENT_CAPABILITIES, ...ws.folder() });
  return { c, init };
}

// published returns the publishDiagnostics notifications c has had for
// uri, oldest first, from index from of its notifications on.
function published(c, uri, from = 0) {
  return c.notifications.slice(from)
    .filter((n) => n.method === 'textDocument/publishDiagnostics' && n.params?.uri === uri)
    .map((n) => n.params);
}

// waitForDiagnostics resolves to the first publishDiagnostics for uri, at or
// after notification index from, whose diagnostics satisfy accept. Given
// the plugin expected to publish, it fails as soon as
// gathering/plugin/list says that plugin is disabled or refused.
async function waitForDiagnostics(c, uri, { from = 0, accept = () => true, what = 'diagnostics', timeoutMs = PUBLISH_TIMEOUT_MS, plugin } = {}) {
  const deadline = performance.now() + timeoutMs;
  let nextCheck = performance.now() + 1000;
  for (;;) {
    const hit = published(c, uri, from).find((p) => accept(p.diagnostics ?? []));
    if (hit) return hit;
    if (plugin && performance.now() > nextCheck) {
      nextCheck = performance.now() + 1000;
      const list = await c.request('gathering/plugin/list', {});
      const st = list.plugins.find((p) => p.name === plugin);
      if (st && (st.state === 'disabled' || st.state === 'refused')) {
        assert.fail(`waiting for ${what} on ${uri}: plugin ${plugin} is ${st.state}: ${st.reason} ` +
          `(restarts ${st.restarts}); see the server log`);
      }
    }
    if (performance.now() > deadline) {
      const seen = published(c, uri, from).map((p) => p.diagnostics);
      assert.fail(`no publishDiagnostics for ${uri} with ${what} within ${timeoutMs} ms; ` +
        `published for it: ${JSON.stringify(seen)}; all notifications: ` +
        `${JSON.stringify(c.notifications.slice(from).map((n) => n.method))}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// hoverText flattens a Hover's contents (MarkupContent, MarkedString or a
// list of them) to one string.
function hoverText(hover) {
  assert.ok(hover && hover.contents, `hover result ${JSON.stringify(hover)} has no contents`);
  const one = (c) => (typeof c === 'string' ? c : c.value);
  const cs = hover.contents;
  return Array.isArray(cs) ? cs.map(one).join('\n') : one(cs);
}

// locations normalises a definition or references result (Location,
// Location[], LocationLink[], null) to [{uri, range}] sorted by uri and
// position.
function locations(result) {
  if (!result) return [];
  const list = Array.isArray(result) ? result : [result];
  return list
    .map((l) => (l.targetUri ? { uri: l.targetUri, range: l.targetSelectionRange } : { uri: l.uri, range: l.range }))
    .sort((a, b) => a.uri.localeCompare(b.uri) ||
      a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
}

// completionLabels returns the labels of a completion result
// (CompletionItem[] or CompletionList).
function completionLabels(result) {
  assert.ok(result, 'completion answered null');
  const items = Array.isArray(result) ? result : result.items;
  assert.ok(Array.isArray(items), `completion result ${JSON.stringify(result).slice(0, 200)} has no items`);
  return items.map((i) => i.label);
}

// gofmt returns text as gofmt formats it.
function gofmt(text) {
  return execFileSync('gofmt', [], { input: text, encoding: 'utf8' });
}

// onPath returns the absolute path of command on PATH, or null.
function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, command);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

// needCommands reports whether every command is on PATH. When one is not,
// the test is skipped with a message, or under CI=true, where every
// language server must be present, fails.
function needCommands(t, commands) {
  const absent = commands.filter((c) => !onPath(c));
  if (absent.length === 0) return true;
  const msg = `${absent.join(', ')} not on PATH; install the pinned language servers with scripts/langservers ` +
    '(TestAcceptance puts its bin directory on PATH)';
  if (/^(1|t|true)$/i.test(process.env.CI ?? '')) assert.fail(`CI=true and ${msg}`);
  t.skip(msg);
  return false;
}

// processTree returns every process on the machine as pid → {ppid, argv},
// from /proc.
function processTree() {
  const procs = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces and ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      procs.set(Number(name), { pid: Number(name), ppid, argv });
    } catch {
      // exited meanwhile
    }
  }
  return procs;
}

// descendants returns the processes under pid, nearest first.
function descendants(pid) {
  const procs = processTree();
  const out = [];
  let level = [pid];
  while (level.length) {
    const next = [];
    for (const p of procs.values()) {
      if (level.includes(p.ppid)) {
        out.push(p);
        next.push(p.pid);
      }
    }
    level = next;
  }
  return out;
}

// bridgeServers names, for each bridge built-in, the executable its process
// runs: the built-in becomes its language server inside the sandbox.
const bridgeServers = { gopls: 'gopls', pyright: 'langserver.index.js', typescript: 'typescript-language-server' };

// pluginProcesses returns the processes under serverPid running the
// built-in plugin name, nearest first: argv ... plugin-run name ..., or for
// a bridge built-in its language server.
function pluginProcesses(serverPid, name) {
  return descendants(serverPid).filter((p) => {
    const i = p.argv.indexOf('plugin-run');
    if (i >= 0) return p.argv[i + 1] === name;
    const server = bridgeServers[name];
    return server !== undefined && p.argv.slice(0, 2).some((a) => path.basename(a) === server);
  });
}

// serverPid is the pid of the gathering process serving client c: its own
// process over stdio, the listener over TCP.
function serverPid(c) {
  return c.process ? c.process.pid : c.server.listener.pid;
}

module.exports = {
  languageScenario,
  Workspace,
  at,
  span,
  nameRange,
  CLIENT_CAPABILITIES,
  actAsEditor,
  openEditor,
  published,
  waitForDiagnostics,
  hoverText,
  locations,
  completionLabels,
  gofmt,
  needCommands,
  descendants,
  pluginProcesses,
  serverPid,
  PUBLISH_TIMEOUT_MS,
  POLL_MS,
};
