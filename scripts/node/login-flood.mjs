// A flood of bad sign-ins against a real thidua-server: N parallel logins with wrong
// passwords (unknown names and a real account's), while the server's peak memory is read
// from /proc. Then a real user, from another address, still signs in.
// Usage: node scripts/node/login-flood.mjs SERVER_BIN DIST [N=1000]
// Prints `logins: …` lines (picked up by scripts/reliability).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [bin, dist, nArg] = process.argv.slice(2);
const N = Number(nArg || 1000);
if (!bin || !dist) {
  console.error('usage: login-flood.mjs SERVER_BIN DIST [N]');
  process.exit(2);
}

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = s.address();
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(path.join(os.tmpdir(), 'thidua-flood-'));
const proc = spawn(bin, ['serve', '--seed-demo', '--listen', `127.0.0.1:${port}`,
  '--database-url', `sqlite://${dir}/t.db`, '--static-dir', dist],
{ stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: 'error' } });

const kb = (field) => Number(readFileSync(`/proc/${proc.pid}/status`, 'utf8')
  .match(new RegExp(`${field}:\\s+(\\d+)`))[1]);

// One login from `localAddress`; resolves with the status code.
function login(username, password, localAddress = '127.0.0.1') {
  const body = JSON.stringify({ username, password, device_id: crypto.randomUUID() });
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port, path: '/api/v1/auth/login', method: 'POST', localAddress,
      agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

try {
  for (let i = 0; ; i++) {
    if ((await login('nobody', 'x'.repeat(12), '127.0.0.9')) !== 0) break;
    if (i > 300) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const idle = kb('VmRSS');
  let peak = idle;
  const sampler = setInterval(() => { peak = Math.max(peak, kb('VmRSS')); }, 20);
  const started = Date.now();
  const statuses = await Promise.all(Array.from({ length: N }, (_, i) => (
    i % 2 ? login(`khong-co-${i}`, 'sai mật khẩu rồi') : login('donvi1', `sai-${i}-mật-khẩu`))));
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, kb('VmHWM'));
  const count = (s) => statuses.filter((x) => x === s).length;
  // A real user at another address (another tablet of the hall).
  const real = await login('thuky', 'thidua-demo-2026', '127.0.0.2');
  console.log(`logins: ${N} parallel bad sign-ins in ${seconds.toFixed(1)} s: ${count(401)} refused (401), ${count(429)} throttled (429), ${count(0)} failed to connect`);
  console.log(`logins: server RSS idle ${(idle / 1024).toFixed(1)} MB, peak ${(peak / 1024).toFixed(1)} MB`);
  console.log(`logins: a real user from another address then signs in: HTTP ${real}`);
  if (real !== 200 || peak / 1024 > 300 || count(200) > 0) process.exitCode = 1;
} finally {
  proc.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
