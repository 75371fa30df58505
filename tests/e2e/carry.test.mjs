// Moving changes without a network: a delegate scores offline, exports the unsynced changes
// to a file (a real download), and the secretary imports it on the server's import page,
// reached from the block's documents. Importing twice changes
// nothing; a copy altered after export is refused with a clear error and changes nothing; and
// when the delegate's tablet reconnects its own outbox answers duplicate, nothing doubled.
// Then the rules switch to pairs drawn by lot and the secretary opens the cross round: the
// seed is shown and recorded, and the draw holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BLOCK, TABLET, assertText, freePort, harness, launch, openSelfRound, pullAll, pushOps,
  readIndexedDb, shot, signIn, startServer, typeScore,
} from './helpers.mjs';

const ROUND = '01900000-0000-7000-8000-00000000ca01';
const DEVICE = '01900000-0000-7000-8000-00000000ca11';

const h = harness();

test('unsynced changes travel by file, once, and an altered file is refused', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  h.server = await startServer(port, h.dataDir);
  const thuky = await openSelfRound(port, ROUND, DEVICE);
  const secretaryToken = thuky.token;
  const browser = await launch();
  h.browser = browser;
  const errors = [];
  const open = async (username) => {
    const context = await browser.newContext({ viewport: TABLET, acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`${username}: ${e.message}`));
    // The secretary's irreversible steps ask first: confirmed here.
    page.on('dialog', (d) => d.accept());
    await signIn(page, base, username);
    return { context, page };
  };
  const delegate = await open('donvi3');
  const secretary = await open('thuky');

  // A ballot is open before the connection goes: the delegate's paper will travel in the
  // file sealed to the server, unreadable by whoever carries it.
  await secretary.page.getByRole('button', { name: 'Suy tôn Khối trưởng' }).click();
  await secretary.page.getByTestId('ballot').first().getByTestId('open-ballot').click();
  await assertText(secretary.page.getByTestId('ballot').first(), 'Đang bỏ phiếu');
  await assertText(secretary.page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  await delegate.page.getByRole('button', { name: 'Đồng bộ ngay' }).click();
  const paper = delegate.page.getByTestId('ballot').first().getByTestId('paper');
  await paper.waitFor({ timeout: 20_000 });

  // The province loses its connection; the delegate votes, then scores two criteria.
  await delegate.context.setOffline(true);
  const choice = paper.locator('input').first();
  const chosen = await choice.getAttribute('data-option');
  await choice.check();
  await delegate.page.getByTestId('ballot').first().getByTestId('cast').click();
  await delegate.page.waitForFunction(
    () => Number(document.querySelector('[data-testid="pending-count"]').textContent) >= 1,
  );
  await assertText(delegate.page.getByTestId('network'), 'Ngoại tuyến');
  await delegate.page.getByTestId('round-self').getByTestId('open-round').click();
  await delegate.page.getByTestId('sheet').waitFor();
  await typeScore(delegate.page.locator('[data-code="1.1"]').getByTestId('score-input'), '6,5');
  await typeScore(delegate.page.locator('[data-code="2.2"]').getByTestId('score-input'), '9');
  // The paper, the sheet and its two cells are in the outbox once the count reaches four.
  await delegate.page.waitForFunction(
    () => Number(document.querySelector('[data-testid="pending-count"]').textContent) >= 4,
  );
  const pending = Number(await delegate.page.getByTestId('pending-count').textContent());
  assert.equal(pending, 4);

  // Export: a real download of a sealed file.
  await delegate.page.locator('details.carry summary').click();
  const [download] = await Promise.all([
    delegate.page.waitForEvent('download'),
    delegate.page.getByTestId('export-changes').click(),
  ]);
  assert.match(download.suggestedFilename(), /^thidua-thay-doi-[0-9a-f]{8}-\d+\.json$/);
  const file = path.join(h.dataDir, download.suggestedFilename());
  await download.saveAs(file);
  await assertText(delegate.page.getByTestId('carry-note'), `Đã xuất ${pending} thay đổi`);
  const sealed = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(sealed.format, 'thidua-changes');
  assert.equal(sealed.mutations.length, pending - 1);
  assert.equal(sealed.papers.length, 1, 'the ballot paper travels sealed');
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes('cast_vote'), 'no paper in clear');
  assert.ok(chosen && !text.includes(chosen), `the choice ${chosen} cannot be read`);
  assert.match(sealed.papers[0].key, /^3059301306072a8648ce3d0201/, 'an ephemeral P-256 key');
  assert.match(sealed.signature, /^[0-9a-f]{128}$/, 'signed with the device key (ECDSA P-256, r‖s)');
  await shot(delegate.page, '30-export-changes');

  // Altered after export (a score raised by hand): refused whole, in words.
  const altered = structuredClone(sealed);
  const cell = altered.mutations.find((m) => JSON.stringify(m.op).includes('6.5'));
  assert.ok(cell, JSON.stringify(altered.mutations.map((m) => m.op)));
  cell.op = JSON.parse(JSON.stringify(cell.op).replace('6.5', '8'));
  const alteredFile = path.join(h.dataDir, 'altered.json');
  writeFileSync(alteredFile, JSON.stringify(altered));
  // The secretary's tablet has a network: the block's documents page, then its import page.
  const [docs] = await Promise.all([
    secretary.context.waitForEvent('page'),
    secretary.page.getByTestId('documents').click(),
  ]);
  docs.on('pageerror', (e) => errors.push(`documents: ${e.message}`));
  await docs.getByRole('link', { name: /Nhập tệp thay đổi/ }).click();
  await docs.locator('#file').waitFor();
  await docs.locator('#file').setInputFiles(alteredFile);
  await assertText(docs.locator('#result'), 'Tệp thay đổi đã bị sửa sau khi xuất');
  let records = await pullAll(port, 'thuky');
  const cells = () => [...records.values()].filter((r) => r.type === 'score_cell');
  assert.equal(cells().length, 0, 'nothing of the altered file applied');

  // The real file, imported on the secretary's tablet: applied once.
  await docs.locator('#file').setInputFiles(file);
  await assertText(docs.locator('#result'), `Đã nhập: ${pending} · đã có trước 0 · bị từ chối 0`);
  await shot(docs, '31-import-changes');
  await docs.locator('#file').setInputFiles(file);
  await assertText(docs.locator('#result'), `Đã nhập: 0 · đã có trước ${pending} · bị từ chối 0`);
  records = await pullAll(port, 'thuky');
  const values = cells().map((c) => JSON.stringify(c.value)).sort();
  assert.equal(values.length, 2, JSON.stringify(values));

  // The delegate reconnects: its outbox empties with nothing doubled.
  const audit = async () => (await (await fetch(`${base}/api/v1/blocks/${BLOCK}/audit`, { headers: { authorization: `Bearer ${secretaryToken}` } })).json());
  const logged = await audit();
  for (const m of sealed.mutations) {
    assert.ok(logged.some((r) => r.mutation_id === m.id), `${m.id} in the audit log`);
  }
  await delegate.context.setOffline(false);
  await assertText(delegate.page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  records = await pullAll(port, 'thuky');
  assert.deepEqual(cells().map((c) => JSON.stringify(c.value)).sort(), values);
  assert.equal((await audit()).length, logged.length, 'the reconnect wrote nothing more');

  // The delegate submits the sheet with two criteria scored: a deliberate second step that
  // names what is missing; the secretary's tablet marks it as incomplete, not as done.
  await delegate.page.getByTestId('submit').click();
  await assertText(delegate.page.getByTestId('missing'), 'còn thiếu 1.2');
  await assertText(delegate.page.getByTestId('confirm-submit'), 'Vẫn nộp phiếu còn thiếu');
  await delegate.page.getByTestId('confirm-submit').click();
  await delegate.page.getByTestId('submitted-badge').waitFor();
  await assertText(delegate.page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  await secretary.page.getByRole('button', { name: 'Đồng bộ ngay' }).click();
  await assertText(secretary.page.getByTestId('round-self').getByTestId('partial-sheets'), '1 phiếu đã nộp còn thiếu điểm', 20_000);

  // The block's rules now draw cross-scoring pairs by lot, three per unit: the secretary
  // opens the round, the draw's seed shows, and the server (which redoes the draw from the
  // seed) accepts it; every unit then scores exactly three others.
  const block = (await pullAll(port, 'thuky')).get(BLOCK);
  const rules = { ...block.rules, cross_scoring: { type: 'pairs_by_lot', per_unit: 3 } };
  await pushOps(port, thuky, [{ type: 'update', id: BLOCK, fields: { rules } }]);
  await secretary.page.bringToFront();
  // Until the tablet has pulled the new rules.
  for (let i = 0; ; i++) {
    await secretary.page.getByRole('button', { name: 'Đồng bộ ngay' }).click();
    const { record } = await readIndexedDb(secretary.page, BLOCK);
    if (record?.rules?.cross_scoring?.type === 'pairs_by_lot') break;
    assert.ok(i < 40, `the rules did not reach the tablet: ${JSON.stringify(record?.rules)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const openCross = secretary.page.getByTestId('open-round-cross');
  await openCross.waitFor();
  await openCross.click();
  await assertText(secretary.page.getByTestId('round-cross').getByTestId('draw-seed'), 'Bốc thăm: mỗi đơn vị chấm 3 · hạt giống ');
  await assertText(secretary.page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  const round = [...(await pullAll(port, 'thuky')).values()].find((r) => r.type === 'round' && r.stage === 'cross');
  assert.ok(round, 'the server accepted the drawn round');
  assert.equal(round.assignment.type, 'pairs_by_lot');
  assert.match(round.assignment.seed, /^\d+$/);
  const seed = (await secretary.page.getByTestId('draw-seed').textContent()).split('hạt giống ')[1].trim();
  assert.equal(seed, round.assignment.seed, 'the seed shown is the seed recorded');
  assert.equal(round.assignment.pairs.length, 9 * 3);
  for (const unit of block.members) {
    assert.equal(round.assignment.pairs.filter((p) => p.scorer === unit).length, 3);
    assert.equal(round.assignment.pairs.filter((p) => p.subject === unit).length, 3);
  }
  assert.equal(await secretary.page.getByTestId('rejected-toggle').count(), 0, 'nothing refused');
  await shot(secretary.page, '32-pairs-by-lot');
  assert.deepEqual(errors, []);
});
