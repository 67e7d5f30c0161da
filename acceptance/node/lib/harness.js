'use strict';

// The harness starts the gathering binary named by GATHERING_BIN and connects
// real LSP clients (vscode-languageserver-protocol, the layer under VS Code's
// language client) to it, over stdio or TCP.
//
// A Server is a database plus settings. Over TCP it is one listening process
// and each connect() opens a socket to it, a new session. Over stdio each
// connect() spawns a process of its own, as an editor does, all sharing the
// Server's database. Either way a test gets independent sessions on shared
// storage, so one scenario body serves both transports.

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const { once } = require('node:events');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { describe, test } = require('node:test');
const rpc = require('vscode-languageserver-protocol/node');

const TRANSPORTS = ['stdio', 'tcp'];

// How long the server may take to print its listening line, and a process
// to exit once asked. Bounds for failures, not waits: nothing sleeps them out.
const START_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 10_000;

// Each test gets this long before node:test fails it, so a server that never
// answers fails the run instead of hanging it.
const TEST_TIMEOUT_MS = 60_000;

function binary() {
  const bin = process.env.GATHERING_BIN;
  if (!bin) {
    throw new Error('GATHERING_BIN must name a built gathering binary, e.g. ' +
      'go build -o /tmp/gathering ./cmd/gathering && GATHERING_BIN=/tmp/gathering node --test');
  }
  return path.resolve(bin);
}

// serverEnv is this process's environment without GATHERING_* settings, so
// the developer's own configuration cannot leak into the server under test.
function serverEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('GATHERING_')) env[k] = v;
  }
  return env;
}

// withTimeout rejects with a message naming what was awaited when promise
// has not settled within ms.
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// exitOf resolves to the exit code of child (or the signal name when it was
// killed) once it has exited, however long ago that was.
function exitOf(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode ?? child.signalCode);
  }
  return once(child, 'exit').then(([code, signal]) => code ?? signal);
}

// stopProcess asks child to stop with SIGTERM and, if it has not exited in
// time, kills it. It resolves to the exit code or signal.
async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return exitOf(child);
  child.kill('SIGTERM');
  try {
    return await withTimeout(exitOf(child), EXIT_TIMEOUT_MS, `pid ${child.pid} to exit after SIGTERM`);
  } catch (err) {
    child.kill('SIGKILL');
    await exitOf(child);
    throw err;
  }
}

function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

function readIfExists(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

class Server {
  // Use Server.start.
  constructor(transport, dir, args) {
    this.transport = transport;
    this.dir = dir;
    this.args = args;
    this.database = path.join(dir, 'g.db');
    this.config = path.join(dir, 'config.toml');
    this.clients = [];
    this.processes = []; // {child, logFile, stderr}
    this.listener = null; // the TCP server process
    this.port = 0;
    this.token = null; // TCP sessions authenticate with it (initializationOptions.token)
  }

  // start prepares a server in dir with extra command-line args; over TCP it
  // starts the listening process and waits for its address.
  static async start(transport, dir, args = []) {
    const s = new Server(transport, dir, args);
    // An explicit, empty config file: the developer's own must not apply.
    fs.writeFileSync(s.config, '');
    if (transport === 'tcp') {
      s.token = s.adminToken();
      await s.listen();
    }
    return s;
  }

  // adminToken makes an admin account in the server's database and returns
  // a token for it, as README.md tells a TCP user to: TCP sessions must
  // authenticate, stdio sessions are the local owner.
  adminToken() {
    const common = ['--database', this.database, '--config', this.config];
    const email = 'acceptance@example.invalid';
    const opts = { env: serverEnv(), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] };
    execFileSync(binary(), ['user', 'add', '--email', email, '--role', 'admin', ...common],
      { ...opts, input: 'acceptance-password\n' });
    return execFileSync(binary(), ['token', 'create', '--email', email, ...common], opts).trim();
  }

  baseArgs(logFile) {
    return ['serve', '--debug-methods', '--database', this.database, '--config', this.config,
      '--log-file', logFile, '--log-level', 'debug', ...this.args];
  }

  spawn(extra) {
    const logFile = path.join(this.dir, `log-${this.processes.length}.txt`);
    const child = spawn(binary(), [...this.baseArgs(logFile), ...extra], {
      cwd: this.dir,
      env: serverEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const proc = { child, logFile, stderr: '' };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => { proc.stderr += chunk; });
    // A failed spawn (ENOENT, EACCES) surfaces as 'exit' not coming; report it.
    child.on('error', (err) => { proc.stderr += `\nspawn error: ${err.message}\n`; });
    this.processes.push(proc);
    return proc;
  }

  async listen() {
    const proc = this.spawn(['--listen', '127.0.0.1:0']);
    this.listener = proc.child;
    const lines = readline.createInterface({ input: proc.child.stderr });
    const address = new Promise((resolve, reject) => {
      lines.on('line', (line) => {
        const m = /^gathering \S+ listening on 127\.0\.0\.1:(\d+) \(store: /.exec(line);
        if (m) resolve(Number(m[1]));
      });
      proc.child.on('exit', (code, signal) =>
        reject(new Error(`gathering serve exited (${code ?? signal}) before listening:\n${proc.stderr}`)));
      proc.child.on('error', reject);
    });
    this.port = await withTimeout(address, START_TIMEOUT_MS, 'the "listening on" line on stderr');
    lines.close();
  }

  // connect opens a new session: a socket to the listener over TCP, a new
  // process over stdio. The session is not initialized.
  async connect() {
    let client;
    if (this.transport === 'tcp') {
      // noDelay: vscode-jsonrpc writes a message's header and body
      // separately, and Nagle's algorithm would hold the body for the
      // server's delayed ACK, some 40 ms a request.
      const socket = net.connect({ port: this.port, host: '127.0.0.1', noDelay: true });
      await withTimeout(once(socket, 'connect'), START_TIMEOUT_MS, `a TCP connection to port ${this.port}`);
      client = new Client(this, new rpc.SocketMessageReader(socket), new rpc.SocketMessageWriter(socket));
      client.socket = socket;
      client.closed = once(socket, 'close').then(() => undefined);
      socket.on('error', (err) => client.errors.push(err));
    } else {
      const proc = this.spawn(['--stdio']);
      client = new Client(this, new rpc.StreamMessageReader(proc.child.stdout), new rpc.StreamMessageWriter(proc.child.stdin));
      client.process = proc.child;
      // 'close', not 'exit': the process can exit before its last output
      // has been read from the pipe.
      client.closed = once(proc.child, 'close').then(() => undefined);
      // Writing to a server that has exited is expected in the exit tests.
      proc.child.stdin.on('error', (err) => client.errors.push(err));
    }
    this.clients.push(client);
    return client;
  }

  // stop ends the TCP listener with SIGTERM and resolves to its exit code.
  async stop() {
    assert.equal(this.transport, 'tcp', 'stop applies to the TCP listener');
    return stopProcess(this.listener);
  }

  // report gathers what a failing test should show: stderr and log tails.
  report() {
    return this.processes.map((p, i) => {
      const parts = [`--- process ${i} (pid ${p.child.pid}, exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'})`];
      if (p.stderr.trim()) parts.push(`stderr:\n${tail(p.stderr, p.stderr.includes('DATA RACE') ? 200 : 40)}`);
      const log = readIfExists(p.logFile);
      if (log.trim()) parts.push(`log ${p.logFile}:\n${tail(log)}`);
      return parts.join('\n');
    }).join('\n');
  }

  // cleanup closes every client and stops every process, all at once: a
  // server built with -race sleeps a second before it exits.
  async cleanup() {
    for (const c of this.clients) c.dispose();
    const results = await Promise.allSettled(this.processes.map((p) => stopProcess(p.child)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

class Client {
  constructor(server, reader, writer) {
    this.server = server;
    this.errors = [];
    this.notifications = []; // {method, params}, in arrival order
    this.conn = rpc.createMessageConnection(reader, writer);
    this.conn.onNotification((method, params) => this.notifications.push({ method, params }));
    this.conn.onError(([err]) => this.errors.push(err));
    this.conn.listen();
    this.socket = null;
    this.process = null;
    this.closed = null; // resolves when the transport has closed
  }

  get transport() {
    return this.server.transport;
  }

  // initialize sends initialize with the given params over defaults, then
  // initialized, and resolves to the InitializeResult.
  async initialize(params = {}) {
    const auth = this.server.token ? { initializationOptions: { token: this.server.token } } : {};
    const result = await this.request('initialize', {
      processId: process.pid,
      clientInfo: { name: 'gathering-acceptance', version: '1' },
      rootUri: null,
      capabilities: {},
      ...auth,
      ...params,
    });
    await this.conn.sendNotification('initialized', {});
    return result;
  }

  // request sends a request and resolves to its result. It rejects when the
  // transport closes first: vscode-jsonrpc leaves such requests pending, and
  // with nothing else left to wait for, node:test would end the test with a
  // bare "Promise resolution is still pending" instead of a reason.
  request(method, params, token) {
    let sent;
    if (token) sent = this.conn.sendRequest(method, params, token);
    else if (params === undefined) sent = this.conn.sendRequest(method);
    else sent = this.conn.sendRequest(method, params);
    const closed = this.closed.then(() => {
      const code = this.process ? ` (exit code ${this.process.exitCode ?? this.process.signalCode})` : '';
      throw new Error(`${method}: the ${this.transport} session closed before the answer${code}`);
    });
    return Promise.race([sent, closed]);
  }

  notify(method, params) {
    if (params === undefined) return this.conn.sendNotification(method);
    return this.conn.sendNotification(method, params);
  }

  open(uri, text, { languageId = 'plaintext', version = 1 } = {}) {
    return this.notify('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
  }

  getDocument(uri) {
    return this.request('gathering/document/get', { uri });
  }

  // exitCode resolves to the stdio process's exit code.
  exitCode() {
    assert.ok(this.process, 'exitCode applies to stdio sessions');
    return withTimeout(exitOf(this.process), EXIT_TIMEOUT_MS, 'the server process to exit');
  }

  // waitClosed resolves when the transport has closed: the socket, or the
  // stdio process.
  waitClosed() {
    return withTimeout(this.closed, EXIT_TIMEOUT_MS, `the ${this.transport} session to close`);
  }

  dispose() {
    this.conn.dispose();
    if (this.socket) this.socket.destroy();
  }
}

// scenario declares a test per transport. body(t, server) gets a started
// Server in a fresh temporary directory, which is removed afterwards. On
// failure the servers' stderr and log tails are attached to the test output.
// timeout bounds each test (a minute unless the scenario needs longer, as
// language servers loading a module do).
function scenario(name, body, { transports = TRANSPORTS, args = [], timeout = TEST_TIMEOUT_MS } = {}) {
  describe(name, () => {
    for (const transport of transports) {
      test(transport, { timeout }, async (t) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gathering-acceptance-'));
        let server;
        let failure;
        try {
          server = await Server.start(transport, dir, args);
          await body(t, server);
        } catch (err) {
          failure = err;
        }
        try {
          if (server) await server.cleanup();
        } catch (err) {
          failure ??= err;
        }
        // A server built with -race reports races on stderr and goes on.
        const raced = server?.processes.find((p) => p.stderr.includes('WARNING: DATA RACE'));
        if (raced && !failure) failure = new Error(`data race in the server (pid ${raced.child.pid})`);
        if (failure && server) t.diagnostic(`server output:\n${server.report()}`);
        fs.rmSync(dir, { recursive: true, force: true });
        if (failure) throw failure;
      });
    }
  });
}

// expectError asserts that promise rejects with a JSON-RPC error of code
// and, if dataCode is given, with that data.code; it returns the error.
async function expectError(promise, code, what, dataCode) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    assert.equal(err.code, code, `${what}: error code ${err.code} (${err.message}), want ${code}`);
    if (dataCode !== undefined) {
      assert.equal(err.data?.code, dataCode, `${what}: data.code ${JSON.stringify(err.data)}, want ${dataCode}`);
    }
    return err;
  }
  assert.fail(`${what}: got result ${JSON.stringify(result)}, want error ${code}`);
}

// assertSameText compares two texts and, when they differ, reports where,
// with escaped context, rather than two long strings.
function assertSameText(got, want, what) {
  if (got === want) return;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const ctx = (s) => JSON.stringify(s.slice(Math.max(0, i - 30), i + 30));
  assert.fail(`${what}: texts differ at UTF-16 offset ${i} (lengths got ${got.length}, want ${want.length})\n` +
    `  got:  ${ctx(got)}\n  want: ${ctx(want)}`);
}

// mulberry32 is a small seeded PRNG, so a failing random run can be replayed.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// seed returns GATHERING_SEED when set, else a fresh random seed; tests
// print it so a failure can be rerun with the same edits.
function seed() {
  const s = process.env.GATHERING_SEED;
  return s ? Number(s) : Math.floor(Math.random() * 2 ** 31);
}

module.exports = {
  TRANSPORTS,
  Server,
  Client,
  scenario,
  expectError,
  assertSameText,
  mulberry32,
  seed,
  withTimeout,
  exitOf,
};
