'use strict';

// Workspace folders given in initialize become projects, rooted at the
// folder's real path, once however many sessions name the folder.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { scenario } = require('./lib/harness');

// allProjects pages through gathering/project/list.
async function allProjects(c) {
  const out = [];
  let after;
  for (let page = 0; page < 100; page++) {
    const res = await c.request('gathering/project/list', after ? { after, limit: 2 } : { limit: 2 });
    out.push(...res.projects);
    if (!res.next) return out;
    after = res.next;
  }
  assert.fail('project/list did not end after 100 pages');
}

scenario('workspace folders', async (t, server) => {
  const real = path.join(server.dir, 'real project');
  fs.mkdirSync(real);
  const link = path.join(server.dir, 'link');
  fs.symlinkSync(real, link);
  const other = path.join(server.dir, 'other');
  fs.mkdirSync(other);
  const want = fs.realpathSync(real);

  const c = await server.connect();
  await c.initialize({
    rootUri: pathToFileURL(link).href,
    workspaceFolders: [
      { uri: pathToFileURL(link).href, name: 'linked' },
      { uri: pathToFileURL(other).href, name: 'other' },
    ],
  });
  let projects = await allProjects(c);
  const roots = projects.map((p) => p.root);
  const mine = projects.filter((p) => p.root === want);
  assert.equal(mine.length, 1, `one project rooted at ${want}; roots: ${JSON.stringify(roots)}`);
  assert.equal(mine[0].name, 'linked', 'the project takes the folder name');
  assert.ok(roots.includes(fs.realpathSync(other)), `a project rooted at ${other}; roots: ${JSON.stringify(roots)}`);
  assert.ok(!roots.includes(link), 'no project under the symlink spelling');
  assert.deepEqual(await c.request('gathering/project/get', { id: mine[0].id }), mine[0], 'project/get of the folder project');
  assert.equal(c.notifications.filter((n) => n.method === 'window/showMessage').length, 0,
    `no warnings: ${JSON.stringify(c.notifications)}`);

  // A second session naming the real directory finds the same project.
  const d = await server.connect();
  await d.initialize({ workspaceFolders: [{ uri: pathToFileURL(real).href, name: 'again' }] });
  projects = await allProjects(d);
  const again = projects.filter((p) => p.root === want);
  assert.equal(again.length, 1, `still one project rooted at ${want}`);
  assert.equal(again[0].id, mine[0].id, 'the same project');
  assert.equal(again[0].name, 'linked', 'an existing project keeps its name');

  // Folders added later (workspace/didChangeWorkspaceFolders) become
  // projects too; with no workspaceFolders, rootUri is the folder.
  const added = path.join(server.dir, 'added');
  fs.mkdirSync(added);
  await d.notify('workspace/didChangeWorkspaceFolders', {
    event: { added: [{ uri: pathToFileURL(added).href, name: 'added later' }], removed: [] },
  });
  // d handles its notification before it reads its next request.
  let byRoot = new Map((await allProjects(d)).map((p) => [p.root, p]));
  assert.equal(byRoot.get(fs.realpathSync(added))?.name, 'added later', `a project for the added folder; roots: ${[...byRoot.keys()]}`);
  const rooted = path.join(server.dir, 'root uri');
  fs.mkdirSync(rooted);
  const r = await server.connect();
  await r.initialize({ rootUri: pathToFileURL(rooted).href });
  byRoot = new Map((await allProjects(r)).map((p) => [p.root, p]));
  assert.ok(byRoot.has(fs.realpathSync(rooted)), `a project for rootUri; roots: ${[...byRoot.keys()]}`);

  // A folder that does not exist is reported to the user, and the session
  // goes on.
  const e = await server.connect();
  const missing = path.join(server.dir, 'missing');
  await e.initialize({ workspaceFolders: [{ uri: pathToFileURL(missing).href, name: 'missing' }] });
  projects = await allProjects(e);
  assert.ok(!projects.some((p) => p.root === missing), 'no project for a missing folder');
  const warnings = e.notifications.filter((n) => n.method === 'window/showMessage');
  assert.equal(warnings.length, 1, `one showMessage for the missing folder, got ${JSON.stringify(e.notifications)}`);
  assert.equal(warnings[0].params.type, 2, 'a warning');
});
