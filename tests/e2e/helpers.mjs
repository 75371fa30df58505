// Shared pieces of the browser end-to-end tests: a real thidua-server on a free port with
// its own SQLite file, Debian's Chromium driven by Playwright, and small waiting helpers.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const tools = process.env.THIDUA_TOOLS || path.join(os.homedir(), '.cache/thidua-tools');
export const { chromium } = createRequire(path.join(tools, 'node_modules/'))('playwright-core');
export const SERVER = process.env.THIDUA_SERVER_BIN;
export const DIST = process.env.THIDUA_DIST || 'dist';
assert.ok(SERVER, 'THIDUA_SERVER_BIN must name the thidua-server binary');

// Screenshots of the main screens at tablet size, kept for people to look at.
export const SHOTS = process.env.THIDUA_SCREENSHOTS || path.join(process.cwd(), 'target', 'screenshots');
mkdirSync(SHOTS, { recursive: true });

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const TABLET = { width: 768, height: 1024 };
export const PASSWORD = 'thidua-demo-2026';

export function tempDir() {
  return mkdtempSync(path.join(os.tmpdir(), 'thidua-e2e-'));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startServer(port, dataDir, extra = []) {
  const proc = spawn(
    SERVER,
    ['serve', '--listen', `127.0.0.1:${port}`, '--database-url', `sqlite://${dataDir}/thidua.db`,
      '--static-dir', DIST, '--seed-demo', ...extra],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`thidua-server exited with ${proc.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
      if (res.ok) return proc;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error('thidua-server did not answer /api/v1/health within 30 s');
}

export async function stopServer(proc) {
  if (!proc || proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await once(proc, 'exit');
}

export function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export async function assertText(locator, expected, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await locator.first().textContent({ timeout }).catch(() => null);
    if (last !== null && last.includes(expected)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`expected text containing ${JSON.stringify(expected)}, last saw ${JSON.stringify(last)}`);
}

export async function signIn(page, base, username) {
  await page.goto(base);
  await page.getByLabel('Tên đăng nhập').fill(username);
  await page.getByLabel('Mật khẩu').fill(PASSWORD);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('block').waitFor();
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  // The service worker must control the page before the network goes, or a reload fails.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
}

// Types a score and commits it with Enter, as a delegate does (a field is stored when
// committed: Enter, Tab or leaving it).
export async function typeScore(field, value) {
  await field.fill(value);
  await field.press('Enter');
}

// The demo block and its covenant (shared::demo ids).
export const BLOCK = '01900000-0000-7000-8000-000000000064';
export const COVENANT = '01900000-0000-7000-8000-0000000000c8';
export const unitId = (n) => `01900000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

// One test file's server data folder and browser, cleaned up after its tests:
// set `h.server` and `h.browser` as they start.
export function harness() {
  const h = { dataDir: tempDir(), server: null, browser: null };
  after(async () => {
    if (h.browser) await h.browser.close();
    await stopServer(h.server);
    rmSync(h.dataDir, { recursive: true, force: true });
  });
  return h;
}

// Signs in through the API as `device` (a new one unless given): `{ device, token }`.
export async function apiLogin(port, username, device = crypto.randomUUID()) {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD, device_id: device }),
  });
  assert.equal(res.status, 200);
  return { device, token: (await res.json()).token };
}

// Starts a page session for `token` in a browser context (its HttpOnly cookie opens server
// pages and documents there), as the app does before it opens them.
export async function pageSession(context, base, token) {
  const res = await context.request.post(`${base}/api/v1/auth/page-session`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status(), 204);
}

// GET `url` with a device token in the Authorization header (never in the address).
export function getAs(url, token) {
  return fetch(url, { headers: { authorization: `Bearer ${token}` } });
}

// Pushes `ops` as one batch from `who` (an `apiLogin` answer); every one must apply.
export async function pushOps(port, who, ops) {
  const ms = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${who.token}` },
    body: JSON.stringify({
      protocol: { major: 2, minor: 0 },
      device_id: who.device,
      cursor: 0,
      limit: 1,
      mutations: ops.map((op, counter) => ({
        id: crypto.randomUUID(), hlc: { ms, counter, node: who.device }, op,
      })),
    }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  for (const o of body.outcomes) assert.equal(o.status, 'applied', JSON.stringify(o));
  return body.outcomes;
}

// The secretary agrees the demo covenant and opens self-scoring round `round` through the
// API; answers the secretary's `apiLogin`.
export async function openSelfRound(port, round, device) {
  const thuky = await apiLogin(port, 'thuky', device);
  await pushOps(port, thuky, [
    { type: 'update', id: COVENANT, fields: { status: 'agreed' } },
    {
      type: 'create',
      record: {
        type: 'round', id: round, block_id: BLOCK, covenant_id: COVENANT, stage: 'self',
        state: 'open', assignment: { type: 'all_score_all' },
      },
    },
  ]);
  return thuky;
}

// Logs in through the API as a new device and pulls everything the account may read.
export async function pullAll(port, username) {
  const { device, token } = await apiLogin(port, username);
  const records = new Map();
  let cursor = 0;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ protocol: { major: 2, minor: 0 }, device_id: device, cursor, limit: 1000 }),
    });
    assert.equal(res.status, 200);
    const page = await res.json();
    for (const c of page.changes) {
      if (c.deleted) records.delete(c.record.id);
      else records.set(c.record.id, c.record);
    }
    cursor = page.cursor;
    if (!page.more) return records;
  }
}

// The app's IndexedDB: one record by id, and the outbox.
export function readIndexedDb(page, id) {
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
            resolve({ record: rec.result, outbox: out.result });
            db.close();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    id,
  );
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}
