// The minutes of the review meeting as printed: the real thidua-server holds the demo block
// after its meeting (the casebook's conference, seeded by the report_fixture binary), a
// delegate opens /minutes.html, Chromium prints it to an A4 PDF, and pdftoppm renders the
// pages to images (kept in target/screenshots, and looked at). The figures in the printed
// text are the hand-computed ones.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  BLOCK, SERVER, SHOTS, apiLogin, freePort, launch, pageSession, startServer, stopServer, tempDir,
} from './helpers.mjs';

const FIXTURE = path.join(path.dirname(SERVER), 'report_fixture');
let port, dir, proc, browser;

before(async () => {
  dir = tempDir();
  execFileSync(FIXTURE, [`sqlite://${dir}/thidua.db`], { stdio: 'inherit' });
  port = await freePort();
  proc = await startServer(port, dir);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stopServer(proc);
});

const token = async (username) => (await apiLogin(port, username)).token;

test('the minutes print on A4 with the hand-computed results', async () => {
  // The secretary records the meeting's details on the block and prints.
  const saved = await fetch(`http://127.0.0.1:${port}/api/v1/blocks/${BLOCK}/meeting`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('thuky')}` },
    body: JSON.stringify({
      place: 'Hà Nội', date: 'ngày 20 tháng 12 năm 2026', chair: 'Nguyễn Văn An', secretary: 'Trần Thị Bình',
    }),
  });
  assert.equal(saved.status, 200, await saved.text());
  // The casebook's rounds are locked, not published: the ranking is the secretary's until
  // then, for the documents as for the projector.
  const t = await token('donvi1');
  const early = await fetch(`http://127.0.0.1:${port}/api/v1/blocks/${BLOCK}/minutes.html`, {
    headers: { authorization: `Bearer ${t}` },
  });
  assert.equal(early.status, 403, 'a delegate before publication');
  const page = await browser.newPage();
  await pageSession(page.context(), `http://127.0.0.1:${port}`, await token('thuky'));
  const res = await page.goto(`http://127.0.0.1:${port}/api/v1/blocks/${BLOCK}/minutes.html`);
  assert.equal(res.status(), 200);
  const text = await page.locator('body').innerText();
  for (const part of ['BIÊN BẢN', 'Họp bình xét thi đua năm 2026', 'Hà Nội, ngày 20 tháng 12 năm 2026',
    'CHỦ TRÌ', 'THƯ KÝ', 'Cờ thi đua của Chính phủ', '77,78 %']) {
    assert.ok(text.includes(part), `the minutes show ${part}`);
  }
  // The ranking as computed by hand in the casebook: ranks and block scores in order.
  const rows = await page.locator('table').first().locator('tbody tr').allInnerTexts();
  const cells = rows.map((r) => r.split('\t'));
  assert.deepEqual(cells.map((c) => c[0].trim()), ['1', '2', '3', '4', '5', '6', '7', '7', '9']);
  assert.deepEqual(cells.map((c) => c[4].trim()),
    ['107,00', '95,00', '90,00', '90,00', '86,00', '86,00', '85,00', '85,00', '50,00']);

  const pdf = path.join(dir, 'minutes.pdf');
  writeFileSync(pdf, await page.pdf({ format: 'A4', preferCSSPageSize: true }));
  execFileSync('pdftoppm', ['-png', '-r', '70', pdf, path.join(dir, 'minutes')]);
  const pages = readdirSync(dir).filter((f) => /^minutes-\d+\.png$/.test(f)).sort();
  assert.ok(pages.length >= 1 && pages.length <= 4, `${pages.length} A4 pages`);
  for (const [i, f] of pages.entries()) {
    assert.ok(statSync(path.join(dir, f)).size > 5_000, `page ${i + 1} has ink`);
    copyFileSync(path.join(dir, f), path.join(SHOTS, `minutes-page-${i + 1}.png`));
  }
  // A delegate of another block may not print them.
  const other = await fetch(`http://127.0.0.1:${port}/api/v1/blocks/${crypto.randomUUID()}/minutes.html`, {
    headers: { authorization: `Bearer ${t}` },
  });
  assert.equal(other.status, 403);
});

test('the central office overview lists the block with its leader and documents', async () => {
  const t = await token('admin');
  const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  await pageSession(page.context(), `http://127.0.0.1:${port}`, t);
  const res = await page.goto(`http://127.0.0.1:${port}/api/v1/overview.html`);
  assert.equal(res.status(), 200);
  const row = await page.locator('tbody tr').first().innerText();
  assert.ok(row.includes('2026') && row.includes('(107,00)'), row);
  await page.getByLabel('Năm').fill('2025');
  await page.getByRole('button', { name: 'Lọc' }).click();
  await page.waitForURL(/year=2025/);
  assert.equal(await page.locator('tbody tr').count(), 0, 'no block in 2025');
  await page.getByLabel('Năm').fill('2026');
  await page.getByRole('button', { name: 'Lọc' }).click();
  await page.waitForURL(/year=2026/);
  await page.screenshot({ path: path.join(SHOTS, 'overview.png'), fullPage: true });
  // The minutes link opens the block's minutes with the same sign-in.
  await page.getByRole('link', { name: 'Biên bản' }).click();
  await page.waitForURL(/minutes\.html/);
  assert.ok((await page.locator('h1').innerText()).includes('BIÊN BẢN'));
});

test('the covenant prints for signing with a block per member', async () => {
  const t = await token('thuky');
  const page = await browser.newPage();
  await pageSession(page.context(), `http://127.0.0.1:${port}`, t);
  const res = await page.goto(`http://127.0.0.1:${port}/api/v1/blocks/${BLOCK}/covenant.html`);
  assert.equal(res.status(), 200);
  assert.ok((await page.locator('h1').innerText()).includes('GIAO ƯỚC THI ĐUA NĂM 2026'));
  assert.equal(await page.locator('.sign').count(), 9);
  const pdf = path.join(dir, 'covenant.pdf');
  writeFileSync(pdf, await page.pdf({ format: 'A4', preferCSSPageSize: true }));
  execFileSync('pdftoppm', ['-png', '-r', '70', pdf, path.join(dir, 'covenant')]);
  const pages = readdirSync(dir).filter((f) => /^covenant-\d+\.png$/.test(f)).sort();
  assert.ok(pages.length >= 2 && pages.length <= 6, `${pages.length} A4 pages`);
  copyFileSync(path.join(dir, pages[0]), path.join(SHOTS, 'covenant-page-1.png'));
  copyFileSync(path.join(dir, pages.at(-1)), path.join(SHOTS, 'covenant-page-last.png'));
});
