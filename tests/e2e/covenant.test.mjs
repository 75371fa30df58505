// The secretary's path in the built app against a real server: sign in (a wrong password is
// refused in words), the block's home, the covenant editor refusing invalid criteria with
// the shared validator's message, an edit made offline that survives a reload with no
// network (the app shell comes from the service worker), reaches the server when the network
// returns and is still there after a server restart; then the covenant is circulated and
// agreed and the self-scoring round opened from the home screen.
//
// The network is cut for real by stopping the server (Chromium's offline emulation alone
// does not cover requests that pass through a service worker), and the browser is put
// offline too so the app sees `navigator.onLine` false, as on a tablet that lost its Wi-Fi.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLOCK, COVENANT, TABLET, apiLogin, assertText, freePort, harness, launch, pullAll, pushOps,
  readIndexedDb, shot, signIn, startServer, stopServer, unitId,
} from './helpers.mjs';

// Criterion 1.1 of the demo covenant (shared::demo::id(1000)).
const CRITERION = '01900000-0000-7000-8000-0000000003e8';
const OLD_TITLE = 'Quán triệt, triển khai nghị quyết, chỉ thị của Đảng';
const NEW_TITLE = 'Quán triệt, triển khai và kiểm tra việc thực hiện nghị quyết của Đảng';

const h = harness();

const serverTitle = async (port) => (await pullAll(port, 'thuky')).get(CRITERION).title;

test('secretary: covenant editor, offline edit through a reload, round opened', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  h.server = await startServer(port, h.dataDir);
  const browser = await launch();
  h.browser = browser;
  const context = await browser.newContext({ viewport: TABLET });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const row = page.locator(`tr[data-id="${CRITERION}"]`);

  // 1. A wrong password is refused in words; then the secretary signs in and the demo block
  //    syncs into IndexedDB.
  // The secretary's irreversible steps (agreeing, deleting, opening a round) ask first.
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.accept();
  });
  await page.goto(base);
  await shot(page, '01-sign-in');
  await page.getByLabel('Tên đăng nhập').fill('thuky');
  await page.getByLabel('Mật khẩu').fill('sai mật khẩu');
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('signin-error').waitFor();
  await signIn(page, base, 'thuky');
  await page.getByText('Tổng Liên đoàn Lao động Việt Nam').first().waitFor();
  await assertText(page.getByTestId('covenant-status'), 'Bản nháp');
  await shot(page, '02-block-home');

  // 2. The covenant editor: a negative maximum is refused by the shared rules, a maximum off
  //    the block's 0,5 step by the shared validator, each with its message next to the field.
  await page.getByTestId('open-covenant').click();
  await assertText(row.getByTestId('criterion-title'), OLD_TITLE);
  await assertText(page.getByTestId('covenant-total'), '100 / 100');
  await row.getByTestId('edit-criterion').click();
  const form = page.getByTestId('criterion-form');
  await page.waitForFunction(() => document.activeElement?.id === 'cf-code');
  await form.getByTestId('form-max').fill('-2');
  await form.getByTestId('form-save').click();
  await assertText(form.getByTestId('form-error'), 'Tiêu chí 1.1 không thể có điểm chuẩn -2');
  await form.getByTestId('form-max').fill('2,3');
  await form.getByTestId('form-save').click();
  await assertText(form.getByTestId('form-error'), '2,3 điểm không phải bội số của 0,5 (tiêu chí 1.1)');
  await shot(page, '03-covenant-editor-refusal');
  let local = await readIndexedDb(page, CRITERION);
  assert.equal(local.outbox.length, 0, 'a refused edit writes nothing');

  // 3. The network goes; a valid edit is kept on the device, pending.
  await stopServer(h.server);
  await context.setOffline(true);
  await assertText(page.getByTestId('network'), 'Ngoại tuyến');
  await form.getByTestId('form-max').fill('2');
  await form.getByTestId('form-title').fill(NEW_TITLE);
  await form.getByTestId('form-save').click();
  await assertText(row.getByTestId('criterion-title'), NEW_TITLE);
  await row.getByTestId('pending-badge').waitFor();
  await assertText(page.getByTestId('sync-state'), 'Chờ đồng bộ: 1');
  local = await readIndexedDb(page, CRITERION);
  assert.equal(local.record.title, NEW_TITLE);
  assert.equal(local.outbox.length, 1);
  assert.equal(local.outbox[0].mutation.op.type, 'update');
  assert.equal(local.outbox[0].mutation.op.fields.title, NEW_TITLE);
  const mutationId = local.outbox[0].id;

  // 4. A reload with no network: the app loads from the service worker on the same screen,
  //    the edit is still there and still pending, and the failed sync shows its error.
  await page.reload();
  await assertText(row.getByTestId('criterion-title'), NEW_TITLE);
  await row.getByTestId('pending-badge').waitFor();
  await assertText(page.getByTestId('sync-state'), 'Chờ đồng bộ: 1');
  await page.getByTestId('sync-error').waitFor();
  // A new tab opens too, with the network still off.
  const second = await context.newPage();
  await second.goto(base);
  await second.getByTestId('block').waitFor();
  await second.close();
  local = await readIndexedDb(page, CRITERION);
  assert.equal(local.outbox.length, 1);
  assert.equal(local.outbox[0].id, mutationId);

  // 5. The network returns: the edit reaches the server and the outbox empties.
  h.server = await startServer(port, h.dataDir);
  await context.setOffline(false);
  await assertText(page.getByTestId('network'), 'Trực tuyến');
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  assert.equal(await row.getByTestId('pending-badge').count(), 0);
  assert.equal(await page.getByTestId('sync-error').count(), 0);
  assert.equal((await readIndexedDb(page, CRITERION)).outbox.length, 0);
  assert.equal(await serverTitle(port), NEW_TITLE);

  // 6. The server restarts on the same SQLite file and still has it.
  await stopServer(h.server);
  h.server = await startServer(port, h.dataDir);
  assert.equal(await serverTitle(port), NEW_TITLE);

  // 7. English, remembered across a reload; then back to Vietnamese.
  await page.getByRole('button', { name: 'English' }).click();
  await assertText(page.getByTestId('covenant-status'), 'Draft');
  await page.reload();
  await assertText(page.getByTestId('covenant-status'), 'Draft');
  await page.getByRole('button', { name: 'Tiếng Việt' }).click();

  // 8. The covenant no longer adds up (1.1 went from 8 to 2): the shared rules refuse to
  //    circulate it, in words, and show the problem on the covenant. Back to 8, it goes out.
  await assertText(page.getByTestId('covenant-total'), '94 / 100');
  await assertText(page.getByTestId('covenant-problem'), 'Tổng điểm chuẩn các tiêu chí là 94, khác tổng điểm của giao ước là 100');
  await page.getByTestId('circulate').click();
  await assertText(page.getByTestId('action-error'), 'Tổng điểm chuẩn các tiêu chí là 94');
  await assertText(page.getByTestId('covenant-status'), 'Bản nháp');
  await row.getByTestId('edit-criterion').click();
  // The sheet puts the cursor in its first field as it opens; type once it has.
  await page.waitForFunction(() => document.activeElement?.id === 'cf-code');
  await form.getByTestId('form-max').fill('8');
  await form.getByTestId('form-save').click();
  await assertText(page.getByTestId('covenant-total'), '100 / 100');
  await page.getByTestId('circulate').click();
  await assertText(page.getByTestId('covenant-status'), 'Đã gửi xin ý kiến');
  await page.getByTestId('agree').click();
  await assertText(page.getByTestId('covenant-status'), 'Đã thống nhất');
  assert.ok(dialogs.some((m) => m.startsWith('Thông qua giao ước?')), dialogs.join(' | '));
  // Unit 3 signs through its own device, once the agreement reached the server; at its
  // request the secretary takes the signature back while the covenant is not complete.
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  const donvi3 = await apiLogin(port, 'donvi3');
  const signature = crypto.randomUUID();
  await pushOps(port, donvi3, [{
    type: 'create',
    record: {
      type: 'signature', id: signature, block_id: BLOCK, covenant_id: COVENANT, unit: unitId(3),
      signer: 'Trần Văn Ba, Phó Chủ tịch', signed_at_ms: Date.now(),
    },
  }]);
  await page.getByRole('button', { name: 'Đồng bộ ngay' }).click();
  await assertText(page.getByTestId('signatures'), 'Trần Văn Ba, Phó Chủ tịch', 20_000);
  await page.getByTestId('signatures').getByTestId('withdraw').click();
  assert.ok(dialogs.some((m) => m.startsWith('Rút chữ ký này?')), dialogs.join(' | '));
  await assertText(page.getByTestId('signatures'), '(0)');
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  assert.ok(!(await pullAll(port, 'thuky')).has(signature), 'the signature is withdrawn on the server');
  await page.getByRole('link', { name: '← Về trang khối' }).click();
  await page.getByTestId('open-round-self').click();
  await assertText(page.getByTestId('round-self').getByTestId('round-state'), 'Đang mở');
  await assertText(page.getByTestId('sync-state'), 'Đã đồng bộ', 20_000);
  const records = [...(await pullAll(port, 'thuky')).values()];
  assert.ok(records.some((r) => r.type === 'round' && r.stage === 'self' && r.state === 'open'));
  assert.ok(records.some((r) => r.type === 'covenant' && r.status === 'agreed'));

  assert.deepEqual(pageErrors, []);
});
