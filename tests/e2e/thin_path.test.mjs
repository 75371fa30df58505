// Browser end-to-end test of the thin path, against the real built app and a real server:
// sync the demo block into IndexedDB, cut the network, edit a criterion's title, reload
// offline, reconnect, and check the server stored it and still has it after a restart.
//
// Run by scripts/test; needs THIDUA_SERVER_BIN (the server binary) and THIDUA_DIST (the
// built app). Playwright drives Debian's Chromium. The network is cut for real by stopping
// the server (Chromium's offline emulation alone does not cover requests that pass through a
// service worker), and the browser is put offline too so the app sees `navigator.onLine`
// false, as on a tablet that lost its Wi-Fi.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const tools = process.env.THIDUA_TOOLS || path.join(os.homedir(), '.cache/thidua-tools');
const { chromium } = createRequire(path.join(tools, 'node_modules/'))('playwright-core');
const SERVER = process.env.THIDUA_SERVER_BIN;
const DIST = process.env.THIDUA_DIST || 'dist';
assert.ok(SERVER, 'THIDUA_SERVER_BIN must name the thidua-server binary');

// Criterion 1.1 of the demo covenant (shared::demo::id(1000)).
const CRITERION = '01900000-0000-7000-8000-0000000003e8';
const OLD_TITLE = 'Quán triệt, triển khai nghị quyết, chỉ thị của Đảng';
const NEW_TITLE = 'Quán triệt, triển khai và kiểm tra việc thực hiện nghị quyết của Đảng';

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'thidua-e2e-'));
const dbUrl = `sqlite://${dataDir}/thidua.db`;
let server;
let browser;

after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server);
  rmSync(dataDir, { recursive: true, force: true });
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(port) {
  const proc = spawn(
    SERVER,
    ['serve', '--listen', `127.0.0.1:${port}`, '--database-url', dbUrl, '--static-dir', DIST, '--seed-demo'],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`thidua-server exited with ${proc.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
      if (res.ok) {
        const body = await res.json();
        assert.equal(body.protocol.major, 2);
        return proc;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error('thidua-server did not answer /api/v1/health within 30 s');
}

async function stopServer(proc) {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await once(proc, 'exit');
}

// The demo's secretary (scripts/run seeds it; thidua-server --seed-demo).
const USERNAME = 'thuky';
const PASSWORD = 'thidua-demo-2026';
const PROBE_DEVICE = '01900000-0000-7000-8000-00000000e2e0';

// The criterion's title as the server has it, read through the sync API like a new device.
async function serverTitle(port) {
  const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: USERNAME, password: PASSWORD, device_id: PROBE_DEVICE }),
  });
  assert.equal(login.status, 200);
  const { token } = await login.json();
  let cursor = 0;
  let title;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        protocol: { major: 2, minor: 0 },
        device_id: PROBE_DEVICE,
        cursor,
        limit: 1000,
      }),
    });
    assert.equal(res.status, 200);
    const page = await res.json();
    for (const c of page.changes) if (c.record.id === CRITERION) title = c.record.title;
    cursor = page.cursor;
    if (!page.more) return title;
  }
}

// What the app's IndexedDB holds for the criterion, and its outbox.
function readIndexedDb(page) {
  return page.evaluate(
    (id) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('thidua');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['records', 'outbox'], 'readonly');
          const rec = tx.objectStore('records').get(id);
          const out = tx.objectStore('outbox').getAll();
          tx.oncomplete = () => {
            resolve({ title: rec.result && rec.result.title, outbox: out.result });
            db.close();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    CRITERION,
  );
}

const row = (page) => page.locator(`tr[data-id="${CRITERION}"]`);

test('thin path: offline edit survives a reload and reaches the server', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  server = await startServer(port);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 768, height: 1024 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // 1. The secretary signs in; the app syncs the demo block into IndexedDB and shows its
  //    covenant. A wrong password is refused in words first.
  await page.goto(base);
  await page.getByLabel('Tên đăng nhập').fill(USERNAME);
  await page.getByLabel('Mật khẩu').fill('sai mật khẩu');
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('signin-error').waitFor();
  await page.getByLabel('Mật khẩu').fill(PASSWORD);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await assertText(row(page).getByTestId('criterion-title'), OLD_TITLE);
  await page.getByText('Giao ước thi đua năm 2026').waitFor();
  await page.getByText('Tổng Liên đoàn Lao động Việt Nam').waitFor();
  assert.equal((await readIndexedDb(page)).title, OLD_TITLE);
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ');
  assert.equal(await serverTitle(port), OLD_TITLE);
  // The service worker must control the page before the network goes, or a reload fails.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });

  // 2. The network is cut; the user edits the title.
  await stopServer(server);
  await context.setOffline(true);
  await assertText(page.getByTestId('network'), 'Ngoại tuyến');
  await row(page).getByRole('button', { name: 'Sửa' }).click();
  const input = row(page).getByLabel('Tên tiêu chí');
  await input.fill(NEW_TITLE);
  await input.press('Enter');
  await assertText(row(page).getByTestId('criterion-title'), NEW_TITLE);
  await row(page).getByTestId('pending-badge').waitFor();
  await assertText(page.getByTestId('sync-state'), 'Chờ đồng bộ: 1');

  // The edit is in IndexedDB, and in the outbox, pending.
  let local = await readIndexedDb(page);
  assert.equal(local.title, NEW_TITLE);
  assert.equal(local.outbox.length, 1);
  assert.equal(local.outbox[0].status, 'pending');
  assert.equal(local.outbox[0].target, CRITERION);
  assert.equal(local.outbox[0].mutation.op.type, 'update');
  assert.equal(local.outbox[0].mutation.op.fields.title, NEW_TITLE);
  const mutationId = local.outbox[0].id;

  // 3. A reload with no network: the app loads from the service worker, the edit is still
  //    there and still pending, and the failed sync attempt shows its error.
  await page.reload();
  await assertText(row(page).getByTestId('criterion-title'), NEW_TITLE);
  await row(page).getByTestId('pending-badge').waitFor();
  await assertText(page.getByTestId('sync-state'), 'Chờ đồng bộ: 1');
  await page.getByTestId('sync-error').waitFor();
  local = await readIndexedDb(page);
  assert.equal(local.outbox.length, 1);
  assert.equal(local.outbox[0].id, mutationId);

  // 4. The network returns: the edit reaches the server and the outbox empties.
  server = await startServer(port);
  await context.setOffline(false);
  await assertText(page.getByTestId('network'), 'Trực tuyến');
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  assert.equal(await row(page).getByTestId('pending-badge').count(), 0);
  assert.equal(await page.getByTestId('sync-error').count(), 0);
  local = await readIndexedDb(page);
  assert.equal(local.outbox.length, 0);
  assert.equal(local.title, NEW_TITLE);
  assert.equal(await serverTitle(port), NEW_TITLE);

  // 5. The server restarts on the same SQLite file and still has it.
  await stopServer(server);
  server = await startServer(port);
  assert.equal(await serverTitle(port), NEW_TITLE);
  await page.reload();
  await assertText(row(page).getByTestId('criterion-title'), NEW_TITLE);
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ');

  assert.deepEqual(pageErrors, []);
});

async function assertText(locator, expected, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await locator.first().textContent({ timeout }).catch(() => null);
    if (last !== null && last.includes(expected)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`expected text containing ${JSON.stringify(expected)}, last saw ${JSON.stringify(last)}`);
}
