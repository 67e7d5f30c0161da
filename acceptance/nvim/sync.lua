-- Headless Neovim as a real LSP client of gathering.
--
-- Neovim computes its own incremental didChange ranges (UTF-16 columns, from
-- its byte-indexed buffer), so edits made with nvim_buf_set_text test the
-- server's document sync against an independent implementation. After the
-- edits, gathering/document/get must return exactly the text Neovim would
-- send in a didOpen: the buffer's lines joined by the line ending, plus one
-- more when 'eol' is set.
--
-- Run (Neovim 0.7+; TCP needs netcat-openbsd):
--
--   GATHERING_BIN=/path/to/gathering GATHERING_TRANSPORT=stdio \
--     nvim --headless --clean -n -c 'luafile acceptance/nvim/sync.lua'
--
-- GATHERING_TRANSPORT is stdio (default) or tcp. GATHERING_SEED replays a
-- run's random edits; GATHERING_EDITS sets their number (default 300). It
-- prints "N passed, N failed" and exits 0, or 1 (:cq) on any failure.

local api = vim.api
local uv = vim.loop

local TIMEOUT_MS = 15000

local function out(s)
  io.stdout:write(s .. '\n')
  io.stdout:flush()
end

local passed, failed = 0, 0
local function check(ok, what)
  if ok then
    passed = passed + 1
    out('ok   ' .. what)
  else
    failed = failed + 1
    out('FAIL ' .. what)
  end
  return ok
end

-- waitFor runs the event loop until cond() holds; it errors after the
-- timeout, naming what it waited for.
local function waitFor(what, cond)
  if not vim.wait(TIMEOUT_MS, cond, 10) then
    error('timed out waiting for ' .. what, 2)
  end
end

local bin = os.getenv('GATHERING_BIN')
if not bin or bin == '' then
  out('GATHERING_BIN must name a built gathering binary')
  vim.cmd('cq')
end
local transport = os.getenv('GATHERING_TRANSPORT') or 'stdio'
local edits = tonumber(os.getenv('GATHERING_EDITS') or '') or 300
local seed = tonumber(os.getenv('GATHERING_SEED') or '') or (uv.hrtime() % 2147483647)
math.randomseed(seed)
out(string.format('transport %s, %d edits, seed %d (rerun with GATHERING_SEED=%d)', transport, edits, seed, seed))

-- Neovim deletes its tempname() directory when it exits.
local dir = vim.fn.fnamemodify(vim.fn.tempname(), ':p')
vim.fn.mkdir(dir, 'p')
local config = dir .. '/config.toml'
vim.fn.writefile({}, config)
local function serverArgs(log)
  return { bin, 'serve', '--debug-methods', '--database', dir .. '/g.db', '--config', config,
    '--log-file', dir .. '/' .. log, '--log-level', 'debug' }
end

local listener -- {job, port, exit, token} for TCP

-- adminToken makes an admin account in the server's database and returns a
-- token for it: TCP sessions must authenticate (stdio ones are the local
-- owner). The password goes on stdin, as the command requires.
local function adminToken()
  local common = { '--database', dir .. '/g.db', '--config', config }
  local email = 'acceptance@example.invalid'
  local add = { bin, 'user', 'add', '--email', email, '--role', 'admin' }
  vim.list_extend(add, common)
  local out = vim.fn.system(add, 'acceptance-password\n')
  assert(vim.v.shell_error == 0, 'gathering user add: ' .. out)
  local create = { bin, 'token', 'create', '--email', email }
  vim.list_extend(create, common)
  local token = vim.fn.system(create):match('gat_[%w_-]+')
  assert(vim.v.shell_error == 0 and token, 'gathering token create failed')
  return token
end

-- startListener starts the TCP server and reads its port from stderr.
local function startListener()
  local l = { stderr = {}, token = adminToken() }
  local args = serverArgs('listener.log')
  vim.list_extend(args, { '--listen', '127.0.0.1:0' })
  l.job = vim.fn.jobstart(args, {
    on_stderr = function(_, data)
      for _, line in ipairs(data) do
        table.insert(l.stderr, line)
        local port = line:match('^gathering %S+ listening on 127%.0%.0%.1:(%d+) ')
        if port then l.port = tonumber(port) end
      end
    end,
    on_exit = function(_, code) l.exit = code end,
  })
  assert(l.job > 0, 'could not start ' .. bin)
  waitFor('the listening line', function() return l.port ~= nil or l.exit ~= nil end)
  if not l.port then
    error('gathering serve exited ' .. tostring(l.exit) .. ': ' .. table.concat(l.stderr, '\n'))
  end
  return l
end

-- startClient starts an LSP client over the transport and waits until it
-- is initialized. flags are start_client flags.
local function startClient(name, flags)
  local c = { name = name }
  local cmd
  if transport == 'tcp' then
    cmd = { 'nc', '127.0.0.1', tostring(listener.port) }
  else
    cmd = serverArgs(name .. '.log')
    table.insert(cmd, '--stdio')
  end
  c.id = vim.lsp.start_client({
    name = name,
    cmd = cmd,
    init_options = listener and { token = listener.token } or nil,
    root_dir = dir,
    flags = flags,
    on_init = function(client, result)
      c.client = client
      c.result = result
    end,
    on_exit = function(code, signal) c.exit = { code = code, signal = signal } end,
  })
  assert(c.id, 'start_client failed for ' .. name)
  waitFor(name .. ' to initialize', function() return c.result ~= nil or c.exit ~= nil end)
  if not c.result then
    error(name .. ' exited during initialize: code ' .. tostring(c.exit.code))
  end
  return c
end

-- request sends a request to the clients attached to bufnr and returns c's
-- result, or nil and its error. (An empty params table must be
-- vim.empty_dict(): {} is encoded as a JSON array.)
local function request(c, bufnr, method, params)
  local res, err = vim.lsp.buf_request_sync(bufnr, method, params, TIMEOUT_MS)
  if not res then error(method .. ': ' .. tostring(err)) end
  local r = res[c.id]
  if not r then error(method .. ': no answer from ' .. c.name) end
  return r.result, r.error
end

-- must is request for answers that must not be errors.
local function must(c, bufnr, method, params)
  local result, err = request(c, bufnr, method, params)
  if err then error(method .. ' from ' .. c.name .. ': ' .. vim.inspect(err)) end
  return result
end

-- The text Neovim sends in didOpen (buf_get_full_text in runtime/lua/vim/lsp.lua).
local function bufferText(bufnr)
  local eol = ({ unix = '\n', dos = '\r\n', mac = '\r' })[api.nvim_buf_get_option(bufnr, 'fileformat')]
  local text = table.concat(api.nvim_buf_get_lines(bufnr, 0, -1, true), eol)
  if api.nvim_buf_get_option(bufnr, 'eol') then
    text = text .. eol
  end
  return text
end

-- charStarts lists the byte columns of line that start a character, and
-- the end: the columns nvim_buf_set_text can take without splitting UTF-8.
local function charStarts(line)
  local cols = {}
  for i = 1, #line do
    local b = line:byte(i)
    if b < 0x80 or b >= 0xC0 then table.insert(cols, i - 1) end
  end
  table.insert(cols, #line)
  return cols
end

local FRAGMENTS = {
  { 'x' }, { 'é' }, { '😀' }, { '👍🏽' }, { '🇫🇷' }, { '𝄞' }, { 'ab' }, { '' },
  { '', '' }, -- a line break
  { 'a😀', 'b' }, { '😀', '', 'é' },
}

local function randomPos(bufnr)
  local lines = api.nvim_buf_get_lines(bufnr, 0, -1, true)
  local row = math.random(0, #lines - 1)
  local cols = charStarts(lines[row + 1])
  return row, cols[math.random(#cols)], lines
end

-- randomEdit makes one edit with nvim_buf_set_text: an insert, a delete
-- (possibly across lines) or a replacement; sometimes an undo or a redo.
local function randomEdit(bufnr)
  local r = math.random()
  if r < 0.04 then
    api.nvim_buf_call(bufnr, function()
      vim.cmd(r < 0.025 and 'silent! undo' or 'silent! redo')
    end)
    return
  end
  local row, col, lines = randomPos(bufnr)
  local erow, ecol = row, col
  if r < 0.35 then
    -- delete or replace up to a few characters forward, maybe into the
    -- next line
    local cols = charStarts(lines[row + 1])
    local i = 1
    while cols[i] ~= col do i = i + 1 end
    local j = i + math.random(1, 4)
    if j <= #cols then
      ecol = cols[j]
    elseif row + 1 < #lines then
      erow = row + 1
      local next = charStarts(lines[row + 2])
      ecol = next[math.min(#next, j - #cols)]
    else
      ecol = cols[#cols]
    end
  end
  local text = { '' }
  if r >= 0.2 then
    text = FRAGMENTS[math.random(#FRAGMENTS)]
  end
  api.nvim_buf_set_text(bufnr, row, col, erow, ecol, text)
  -- Close the undo block, so an undo reverts this one edit rather than
  -- everything since the last undo (setting 'undolevels' syncs undo).
  api.nvim_buf_call(bufnr, function() vim.cmd('let &undolevels = &undolevels') end)
end

local function newBuffer(name, lines)
  local bufnr = api.nvim_create_buf(true, false)
  api.nvim_buf_set_name(bufnr, dir .. '/' .. name)
  api.nvim_buf_set_lines(bufnr, 0, -1, true, lines)
  return bufnr
end

local INITIAL = { 'héllo 😀 wörld 👍🏽', 'second line', '🇫🇷 flags and é', '', 'last 𝄞' }

local function run()
  if transport == 'tcp' then
    listener = startListener()
  elseif transport ~= 'stdio' then
    error('GATHERING_TRANSPORT must be stdio or tcp, not ' .. transport)
  end

  -- One client sends each change at once, the other batches them with
  -- Neovim's default debounce and flushes them before a request.
  local now = startClient('immediate', { debounce_text_changes = 0 })
  local batched = startClient('batched', {})
  local clients = { now, batched }

  for _, c in ipairs(clients) do
    local caps = c.client.server_capabilities
    check(caps.textDocumentSync and caps.textDocumentSync.change == 2, c.name .. ': incremental sync')
    check(caps.positionEncoding == 'utf-16', c.name .. ': positionEncoding utf-16 (Neovim 0.7 offers none), got ' .. tostring(caps.positionEncoding))
  end

  local a = newBuffer('a.txt', INITIAL)
  local b = newBuffer('b.txt', INITIAL)
  for _, bufnr in ipairs({ a, b }) do
    for _, c in ipairs(clients) do
      check(vim.lsp.buf_attach_client(bufnr, c.id), string.format('attach %s to buffer %d', c.name, bufnr))
    end
  end

  -- Before any edit: what didOpen sent.
  for _, bufnr in ipairs({ a, b }) do
    for _, c in ipairs(clients) do
      local doc, err = request(c, bufnr, 'gathering/document/get', { uri = vim.uri_from_bufnr(bufnr) })
      check(err == nil and doc.text == bufferText(bufnr),
        string.format('%s: buffer %d as opened: %s', c.name, bufnr, err and vim.inspect(err) or vim.inspect(doc.text)))
    end
  end

  for _ = 1, edits do
    randomEdit(a)
    randomEdit(b)
  end
  -- No wait here: client.request flushes a client's pending didChange
  -- before sending, so the requests below see every edit.

  for _, bufnr in ipairs({ a, b }) do
    local want = bufferText(bufnr)
    local version = vim.lsp.util.buf_versions[bufnr]
    for _, c in ipairs(clients) do
      local doc, err = request(c, bufnr, 'gathering/document/get', { uri = vim.uri_from_bufnr(bufnr) })
      if check(err == nil, string.format('%s: document/get of buffer %d answered%s', c.name, bufnr, err and (': ' .. vim.inspect(err)) or '')) then
        check(doc.version == version, string.format('%s: buffer %d version %s, want %s', c.name, bufnr, doc.version, version))
        if not check(doc.text == want, string.format('%s: buffer %d text after %d edits (%d bytes)', c.name, bufnr, edits, #want)) then
          local i = 1
          while i <= #want and doc.text:byte(i) == want:byte(i) do i = i + 1 end
          out(string.format('     first difference at byte %d:\n     got  %s\n     want %s', i - 1,
            vim.inspect(doc.text:sub(math.max(1, i - 20), i + 20)), vim.inspect(want:sub(math.max(1, i - 20), i + 20))))
        end
      end
    end
  end

  -- Neovim's stop: shutdown, then exit.
  for _, c in ipairs(clients) do
    vim.lsp.stop_client(c.id)
  end
  if transport == 'stdio' then
    for _, c in ipairs(clients) do
      waitFor(c.name .. ' to exit', function() return c.exit ~= nil end)
      check(c.exit.code == 0, string.format('%s: exit code after shutdown and exit: %s', c.name, c.exit.code))
    end
  else
    -- nc outlives the connection (it quits when its stdin ends or a write
    -- fails, and Neovim 0.7 closes neither), so the sessions' end is seen
    -- from the server: a third session asks gathering/status until it is
    -- the only client. Nothing signals that end to Neovim; this polls.
    local observer = startClient('observer', {})
    local c = newBuffer('c.txt', { '' })
    vim.lsp.buf_attach_client(c, observer.id)
    local count
    for _ = 1, TIMEOUT_MS / 20 do
      count = must(observer, c, 'gathering/status', vim.empty_dict()).clients
      if count == 1 then break end
      vim.wait(20)
    end
    check(count == 1, 'the server ended both sessions after shutdown and exit; clients: ' .. tostring(count))
    table.insert(clients, observer)
    for _, cl in ipairs(clients) do
      vim.lsp.stop_client(cl.id, true)
      waitFor(cl.name .. ' (nc) to exit', function() return cl.exit ~= nil end)
    end
  end

  if listener then
    vim.fn.jobstop(listener.job) -- SIGTERM: drain and exit 0
    waitFor('the listener to exit', function() return listener.exit ~= nil end)
    check(listener.exit == 0, 'listener exit code after SIGTERM: ' .. tostring(listener.exit))
    listener = nil
  end
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  failed = failed + 1
  out('FAIL ' .. tostring(err))
end
if listener then vim.fn.jobstop(listener.job) end
if failed > 0 then
  for _, log in ipairs(vim.fn.glob(dir .. '/*.log', false, true)) do
    out('--- ' .. log)
    for _, line in ipairs(vim.fn.readfile(log, '', -30)) do out(line) end
  end
end
out(string.format('%d passed, %d failed', passed, failed))
if failed > 0 then vim.cmd('cq') end
vim.cmd('qa!')
