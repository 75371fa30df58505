// The browser path at a block's real size, in headless Chromium against the real server and
// the built app (figures printed, never asserted; `scripts/bench` runs it):
// 1. a fresh browser signs in as a delegate and pulls the block (UNITS × PER_UNIT ×
//    CRITERIA score cells) into IndexedDB: sign-in to the first screen, and to all stored;
// 2. typing scores in the delegate's sheet with that block on the device: each keystroke to
//    the sheet's total on screen (median, p95);
// 3. opening the app offline with that block on the device, to the first screen;
// 4. the page's memory (the renderer's resident set) with that block open;
// 5. a device holding QUEUE queued mutations pushes them all (from reload to an empty
//    outbox).
// Usage: node browser-bench.mjs SERVER_BIN SEED_BIN DIST [UNITS PER_UNIT CRITERIA QUEUE]
import { createRequire } from 'node:module';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [server, seed, dist, ...sizes] = process.argv.slice(2);
if (!server || !seed || !dist) throw new Error('usage: node browser-bench.mjs SERVER_BIN SEED_BIN DIST [UNITS PER_UNIT CRITERIA QUEUE]');
const [UNITS, PER_UNIT, CRITERIA, QUEUE] = [sizes[0] ?? 50, sizes[1] ?? 30, sizes[2] ?? 40, sizes[3] ?? 60000].map(Number);
const tools = process.env.THIDUA_TOOLS || path.join(os.homedir(), '.cache/thidua-tools');
const { chromium } = createRequire(path.join(tools, 'node_modules/'))('playwright-core');

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function startServer(dir) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(server, ['serve', '--listen', `127.0.0.1:${port}`, '--database-url',
    `sqlite://${dir}/thidua.db`, '--static-dir', dist], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/api/v1/health`)).ok) return { proc, base };
    } catch {
      await sleep(100);
    }
  }
  throw new Error('the server did not start');
}

function seedDb(dir, extra = []) {
  const out = execFileSync(seed, [`sqlite://${dir}/thidua.db`, String(UNITS), String(PER_UNIT), String(CRITERIA), ...extra],
    { maxBuffer: 1 << 26 });
  return JSON.parse(out.toString());
}

// Counts of the app's IndexedDB stores, read from the page.
const counts = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('thidua');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(['base', 'outbox', 'rejected'], 'readonly');
    const out = {};
    for (const s of ['base', 'outbox', 'rejected']) {
      const r = tx.objectStore(s).count();
      r.onsuccess = () => { out[s] = r.result; };
    }
    tx.oncomplete = () => { db.close(); resolve(out); };
  };
}));

async function until(page, what, test, timeoutMs) {
  const started = Date.now();
  let last;
  while (Date.now() - started < timeoutMs) {
    last = await counts(page);
    if (test(last)) return last;
    await sleep(50);
  }
  throw new Error(`${what}: not done after ${timeoutMs} ms, last saw ${JSON.stringify(last)}`);
}

// The renderer processes' resident memory now and at peak (MiB), the largest renderer.
function rendererMemory() {
  let best = { rss: 0, hwm: 0 };
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer') || cmd.includes('--extension-process')) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k) => Number((status.match(new RegExp(`${k}:\\s+(\\d+)`)) || [0, 0])[1]);
      if (kb('VmRSS') > best.rss) best = { rss: kb('VmRSS'), hwm: kb('VmHWM') };
    } catch { /* gone meanwhile */ }
  }
  return { rss: best.rss / 1024, hwm: best.hwm / 1024 };
}

async function signIn(page, base, who) {
  await page.goto(base);
  await page.getByLabel('Tên đăng nhập').fill(who.username);
  await page.getByLabel('Mật khẩu').fill(who.password);
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('block').waitFor({ timeout: 120_000 });
  return t0;
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});

// 1–4: the big block pulled, typed in, opened offline.
{
  const dir = mkdtempSync(path.join(os.tmpdir(), 'thidua-bbench-'));
  const who = seedDb(dir);
  const { proc, base } = await startServer(dir);
  const context = await browser.newContext({ viewport: { width: 768, height: 1024 } });
  const page = await context.newPage();
  const t0 = await signIn(page, base, who);
  const firstScreen = Date.now() - t0;
  await until(page, 'pull', (c) => c.base >= who.records, 600_000);
  const pulled = Date.now() - t0;
  await page.waitForFunction(() => document.querySelector('[data-testid="sync-state"]')?.textContent.includes('Đã đồng bộ'), null, { timeout: 120_000 });
  console.log(`browser pull: ${who.records} records (${who.cells} score cells) into a fresh browser: sign-in to the first screen ${firstScreen} ms, to all stored ${(pulled / 1000).toFixed(2)} s (floor 5 s)`);

  // 2. Typing in the delegate's first sheet.
  await page.getByTestId('round-cross').getByTestId('open-round').click();
  await page.getByTestId('subject-tab').first().click();
  await page.getByTestId('sheet').waitFor({ timeout: 60_000 });
  const input = page.getByTestId('score-input').first();
  await input.waitFor();
  const times = await page.evaluate(async () => {
    const el = document.querySelector('[data-testid="score-input"]');
    const total = document.querySelector('[data-testid="sheet-total"]');
    const values = ['0,5', '1', '1,5', '2', '2,5', '0'];
    const out = [];
    for (let i = 0; i < 60; i++) {
      const before = total.textContent;
      const changed = new Promise((resolve) => {
        const obs = new MutationObserver(() => {
          if (total.textContent !== before) { obs.disconnect(); resolve(); }
        });
        obs.observe(total, { childList: true, characterData: true, subtree: true });
      });
      const t = performance.now();
      el.value = values[i % values.length];
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
      await Promise.race([changed, new Promise((r) => setTimeout(r, 5000))]);
      // The frame that shows it.
      await new Promise((r) => requestAnimationFrame(() => r()));
      out.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
    return out;
  });
  console.log(`browser edit: a score typed to the sheet's total on screen with ${who.records} records on the device: median ${median(times).toFixed(1)} ms, p95 ${pct(times, 0.95).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms over ${times.length} keystrokes (floor 16 ms)`);
  const mem = rendererMemory();

  // 3. Offline open from the service worker's cache.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="sync-state"]')?.textContent.includes('Đã đồng bộ'), null, { timeout: 120_000 });
  proc.kill('SIGTERM');
  await once(proc, 'exit');
  await context.setOffline(true);
  const opens = [];
  for (let i = 0; i < 5; i++) {
    await page.goto(`${base}/`, { waitUntil: 'commit' });
    await page.waitForSelector('[data-ready]', { timeout: 60_000 });
    await page.getByTestId('block').waitFor({ timeout: 60_000 });
    opens.push(await page.evaluate(() => performance.now()));
  }
  const after = rendererMemory();
  console.log(`browser open offline: ${who.records} records on the device: median ${median(opens).toFixed(0)} ms, max ${Math.max(...opens).toFixed(0)} ms over ${opens.length} opens to the first screen (floor 1500 ms)`);
  console.log(`browser memory: the renderer holds ${mem.rss.toFixed(0)} MiB after typing (peak ${mem.hwm.toFixed(0)} MiB), ${after.rss.toFixed(0)} MiB after the offline opens, with ${who.records} records (floor 150 MiB)`);
  await context.close();
  rmSync(dir, { recursive: true, force: true });
}

// 5. A long queue pushed.
if (QUEUE > 0) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'thidua-bbench-'));
  const queueFile = path.join(dir, 'queue.json');
  const who = seedDb(dir, ['--queue', String(QUEUE), '--queue-file', queueFile]);
  const { proc, base } = await startServer(dir);
  const context = await browser.newContext({ viewport: { width: 768, height: 1024 } });
  const page = await context.newPage();
  await signIn(page, base, who);
  await until(page, 'pull', (c) => c.base >= who.records, 600_000);
  const entries = readFileSync(queueFile, 'utf8');
  // The queue goes into the app's outbox under this device's id, as its own edits would.
  await page.evaluate((text) => new Promise((resolve, reject) => {
    const entries = JSON.parse(text);
    const open = indexedDB.open('thidua');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(['outbox', 'meta'], 'readwrite');
      const meta = tx.objectStore('meta').get('state');
      meta.onsuccess = () => {
        const node = meta.result.device_id;
        const outbox = tx.objectStore('outbox');
        for (const e of entries) {
          e.mutation.hlc.node = node;
          outbox.put(e);
        }
      };
      tx.oncomplete = () => { db.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), entries);
  const t0 = Date.now();
  await page.reload();
  const done = await until(page, 'push', (c) => c.outbox === 0, 900_000);
  const pushed = Date.now() - t0;
  console.log(`browser push: ${QUEUE} queued mutations pushed by the app, from reload to an empty outbox: ${(pushed / 1000).toFixed(2)} s = ${(QUEUE / (pushed / 1000)).toFixed(0)} mutations/s, ${done.rejected} refused (floor 5 s)`);
  proc.kill('SIGTERM');
  await once(proc, 'exit');
  await context.close();
  rmSync(dir, { recursive: true, force: true });
}
await browser.close();
