// The hall shape: tablets reach a laptop by a name that is not localhost. Over plain HTTP the
// page is not a secure context and the app says so. In hall mode the server makes its own
// authority; the tablet downloads it from the setup page over plain HTTP and trusts it the
// way a device does (an NSS database, never --ignore-certificate-errors). Then a delegate
// signs in over https://hoitruong.lan, the service worker installs, the Wi-Fi drops and the
// server stops, the page reloads and opens, scores are typed, the changes file exports
// (SubtleCrypto works), the server comes back and the scores sync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {
  CHROMIUM_ARGS, DIST, SERVER, TABLET, assertText, chromium, freePort, harness, openSelfRound,
  shot, signIn, startServer, stopServer, typeScore,
} from './helpers.mjs';

const ROUND = '01900000-0000-7000-8000-00000000ab01';
const DEVICE = '01900000-0000-7000-8000-00000000ab11';
const NAME = 'hoitruong.lan';

const h = harness();

function startHall(httpsPort, httpPort) {
  return spawn(
    SERVER,
    ['serve', '--hall', '--listen', `127.0.0.1:${httpsPort}`, '--redirect-http', `127.0.0.1:${httpPort}`,
      '--hall-dir', path.join(h.dataDir, 'hall'), '--hall-name', NAME,
      '--database-url', `sqlite://${h.dataDir}/thidua.db`, '--static-dir', DIST],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
}

async function waitFor(url) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { redirect: 'manual' });
      if (res.status < 500) return res;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within 30 s`);
}

// JSON over HTTPS trusting only the hall's authority.
function httpsJson(url, ca, { body, token } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: body ? 'POST' : 'GET',
      ca,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

test('a tablet works through a Wi-Fi cut over the hall server\'s HTTPS', async () => {
  const plainPort = await freePort();
  h.server = await startServer(plainPort, h.dataDir);
  await openSelfRound(plainPort, ROUND, DEVICE);
  const resolver = `--host-resolver-rules=MAP ${NAME} 127.0.0.1`;
  const errors = [];

  // 1. The same name over plain HTTP: not a secure context, and the app says so.
  {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, resolver] });
    const page = await (await browser.newContext({ viewport: TABLET })).newPage();
    page.on('pageerror', (e) => errors.push(`http: ${e.message}`));
    await page.goto(`http://${NAME}:${plainPort}/`);
    await page.getByTestId('insecure-banner').waitFor();
    assert.equal(await page.evaluate(() => window.isSecureContext), false);
    await assertText(page.getByTestId('insecure-banner'), 'làm việc được khi mất mạng');
    assert.ok(!(await page.getByTestId('device-note').textContent()).includes('Sẵn sàng'), 'never claims to be offline-ready');
    await shot(page, '40-insecure-banner');
    await browser.close();
  }
  await stopServer(h.server);

  // 2. Hall mode: the authority is made on first start; the setup page is on plain HTTP.
  const httpsPort = await freePort();
  const httpPort = await freePort();
  h.server = startHall(httpsPort, httpPort);
  const setup = await waitFor(`http://127.0.0.1:${httpPort}/hall`);
  assert.equal(setup.status, 200);
  const setupPage = await setup.text();
  assert.match(setupPage, /<svg/, 'a QR code of the address');
  assert.ok(setupPage.includes(`https://${NAME}:${httpsPort}/`) || setupPage.includes(`:${httpsPort}/`), 'the https address');
  const redirect = await fetch(`http://127.0.0.1:${httpPort}/some/page?x=1`, { redirect: 'manual' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), `https://127.0.0.1:${httpsPort}/some/page?x=1`);
  const ca = await (await fetch(`http://127.0.0.1:${httpPort}/hall/ca.pem`)).text();
  assert.equal(ca, readFileSync(path.join(h.dataDir, 'hall', 'ca.pem'), 'utf8'));
  const mobileconfig = await (await fetch(`http://127.0.0.1:${httpPort}/hall/thidua.mobileconfig`)).text();
  assert.match(mobileconfig, /com\.apple\.security\.root/);

  // The tablet trusts the authority (Chromium on Linux reads $HOME/.pki/nssdb).
  const home = path.join(h.dataDir, 'tablet-home');
  const nssdb = path.join(home, '.pki', 'nssdb');
  mkdirSync(nssdb, { recursive: true });
  const caFile = path.join(h.dataDir, 'hall-ca.pem');
  writeFileSync(caFile, ca);
  execFileSync('certutil', ['-d', `sql:${nssdb}`, '-N', '--empty-password']);
  execFileSync('certutil', ['-d', `sql:${nssdb}`, '-A', '-t', 'C,,', '-n', 'thidua-hall', '-i', caFile]);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, resolver],
    env: { ...process.env, HOME: home },
  });
  h.browser = browser;
  const context = await browser.newContext({ viewport: TABLET, acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`https: ${e.message}`));
  const base = `https://${NAME}:${httpsPort}`;
  await signIn(page, base, 'donvi3');
  assert.equal(await page.evaluate(() => window.isSecureContext), true);
  assert.equal(await page.getByTestId('insecure-banner').count(), 0);
  await assertText(page.getByTestId('device-note'), 'Sẵn sàng làm việc không có mạng');
  const headers = await page.evaluate(async () => {
    const r = await fetch('/api/v1/health');
    return Object.fromEntries(['strict-transport-security', 'content-security-policy', 'x-content-type-options']
      .map((k) => [k, r.headers.get(k)]));
  });
  assert.match(headers['strict-transport-security'] ?? '', /max-age=/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  await shot(page, '41-hall-https');

  // 3. The Wi-Fi drops and the laptop's server stops; the page reloads and opens.
  await context.setOffline(true);
  await stopServer(h.server);
  await page.reload();
  await page.getByTestId('block').waitFor({ timeout: 15_000 });
  await page.getByTestId('round-self').getByTestId('open-round').click();
  await page.getByTestId('sheet').waitFor();
  await typeScore(page.locator('[data-code="1.1"]').getByTestId('score-input'), '7,5');
  await typeScore(page.locator('[data-code="2.2"]').getByTestId('score-input'), '9');
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="pending-count"]').textContent) >= 3,
  );
  // The changes file needs SubtleCrypto: a secure context.
  await page.locator('details.carry summary').click();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-changes').click(),
  ]);
  const file = path.join(h.dataDir, download.suggestedFilename());
  await download.saveAs(file);
  const sealed = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(sealed.format, 'thidua-changes');
  assert.ok(sealed.mutations.length >= 3);

  // 4. The server comes back (the same authority and certificate), the network returns.
  h.server = startHall(httpsPort, httpPort);
  await waitFor(`http://127.0.0.1:${httpPort}/hall`);
  await context.setOffline(false);
  await page.getByRole('button', { name: 'Đồng bộ ngay' }).click();
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ', 30_000);

  // The scores are on the server, read over HTTPS trusting only the hall's authority.
  const device = crypto.randomUUID();
  const login = await httpsJson(`https://127.0.0.1:${httpsPort}/api/v1/auth/login`, ca, {
    body: { username: 'thuky', password: 'thidua-demo-2026', device_id: device },
  });
  assert.equal(login.status, 200);
  const pulled = await httpsJson(`https://127.0.0.1:${httpsPort}/api/v1/sync`, ca, {
    token: login.body.token,
    body: { protocol: { major: 2, minor: 1 }, device_id: device, cursor: 0, limit: 5000 },
  });
  assert.equal(pulled.status, 200);
  const values = pulled.body.changes.map((c) => c.record).filter((r) => r.type === 'score_cell')
    .map((c) => JSON.stringify(c.value)).sort();
  assert.equal(values.length, 2, JSON.stringify(values));
  assert.deepEqual(errors, []);
});
