// The app's budgets, measured against a real thidua-server serving the built app:
// 1. the shell a first visit transfers (index.html, JS, WebAssembly, CSS; compressed as the
//    server sends them to a browser that accepts Brotli), budget 300 KB;
// 2. opening the app from the service worker's cache, with the server gone, to the first
//    screen drawn from IndexedDB ("interactive"), budget 1.5 s, median of 10 opens.
// Usage: node budget.mjs SERVER_BIN DIST
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [server, dist] = process.argv.slice(2);
if (!server || !dist) throw new Error('usage: node budget.mjs SERVER_BIN DIST');
const tools = process.env.THIDUA_TOOLS || path.join(os.homedir(), '.cache/thidua-tools');
const { chromium } = createRequire(path.join(tools, 'node_modules/'))('playwright-core');

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'thidua-budget-'));
const start = async () => {
  const proc = spawn(server, ['serve', '--listen', `127.0.0.1:${port}`, '--database-url',
    `sqlite://${dataDir}/thidua.db`, '--static-dir', dist, '--seed-demo'], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/api/v1/health`)).ok) return proc;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the server did not start');
};
let proc = await start();

// 1. The shell, as a browser accepting Brotli receives it.
const headers = { 'accept-encoding': 'br, gzip' };
const html = await fetch(`${base}/`, { headers });
const htmlText = await html.text();
const assets = new Set(
  [...htmlText.matchAll(/(?:href|src)="(\/[^"]+\.(?:js|wasm|css))"/g), ...htmlText.matchAll(/'(\/[^']+\.(?:js|wasm))'/g)]
    .map((m) => m[1]),
);
// fetch() decodes bodies, so the bytes on the wire are read from a raw request.
async function wireBytes(p) {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    request(`${base}${p}`, { headers }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => resolve({ n, encoding: res.headers['content-encoding'] || 'identity' }));
    }).on('error', reject).end();
  });
}
let total = 0;
const parts = [];
for (const p of ['/', ...assets]) {
  const { n, encoding } = await wireBytes(p);
  total += n;
  parts.push(`${p.split('/').pop() || 'index.html'} ${n} B ${encoding}`);
}
// The editor module (secretaries and administrators only; no budget, reported).
{
  const page = await (await fetch(`${base}/editor/`, { headers })).text();
  const files = new Set([...page.matchAll(/(?:href|src)="(\/editor\/[^"]+\.(?:js|wasm|css))"/g),
    ...page.matchAll(/'(\/editor\/[^']+\.(?:js|wasm))'/g)].map((m) => m[1]));
  let n = 0;
  for (const p of ['/editor/', ...files]) n += (await wireBytes(p)).n;
  console.log(`budget editor module: ${n} bytes = ${(n / 1000).toFixed(1)} kB on a secretary's first visit to /editor/ (not in the shell)`);
}
console.log(
  `budget shell: ${total} bytes = ${(total / 1000).toFixed(1)} kB = ${(total / 1024).toFixed(1)} KiB on a first visit (budget 300 KB): ${parts.join(', ')}`,
);

// 2. Opening from the service worker's cache with the server stopped.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 768, height: 1024 } });
const page = await context.newPage();
await page.goto(base);
await page.waitForSelector('[data-ready]');
await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
proc.kill('SIGTERM');
await once(proc, 'exit');
await context.setOffline(true);
const opens = [];
for (let i = 0; i < 10; i++) {
  await page.reload({ waitUntil: 'commit' });
  await page.waitForSelector('[data-ready]', { timeout: 10_000 });
  opens.push(await page.evaluate(() => performance.now()));
}
opens.sort((a, b) => a - b);
console.log(
  `budget offline open: median ${opens[5].toFixed(0)} ms, min ${opens[0].toFixed(0)} ms, max ${opens[9].toFixed(0)} ms over 10 opens from the service worker cache to the first screen (budget 1500 ms)`,
);
await browser.close();
rmSync(dataDir, { recursive: true, force: true });
