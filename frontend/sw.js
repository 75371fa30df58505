// ThiĐua service worker: the app shell loads with no network.
//
// The editor module under /editor/ is cached the same way once a secretary opens it; a
// delegate's tablet never downloads it.
// index.html is fetched network-first (so an update is seen at once) and kept as the
// offline copy. Trunk names the wasm, JS and CSS after their content hash, so those are
// cache-first and never change under one name: an old index.html always meets its own
// script and module, never a newer one. At install the worker reads index.html to learn
// the current file names and caches them together with it.
const CACHE = 'thidua-shell-v5';
// The editor module (secretaries, administrators): cached when first opened, and its
// hashed files as they are fetched, so a secretary who opened it once works offline.
const EDITOR = '/editor/';
// Unhashed files of the shell: cached at install, served from the cache and refreshed behind.
const STATIC = ['/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png'];
// Trunk prints its 64-bit hash in hex without leading zeros: 1 to 16 digits.
const HASHED = /-[0-9a-f]{1,16}(_bg)?\.(js|wasm|css)$/;
// wasm-bindgen's JavaScript snippets (the SubtleCrypto calls): their names do not change
// with their content, so they are fetched network-first, like index.html, and kept for
// offline use; index.html preloads them, which is how the worker learns their names.
const SNIPPET = /\/snippets\/[^/]+\/[^/]+\.js$/;

async function cacheShell() {
  const cache = await caches.open(CACHE);
  const res = await fetch('/', { cache: 'no-cache' });
  if (!res.ok) return;
  const html = await res.clone().text();
  const assets = [...html.matchAll(/(?:href|src)="(\/[^"]+)"/g)]
    .map((m) => m[1])
    .filter((u) => HASHED.test(u) || SNIPPET.test(u));
  // The script imports the module by name from inline code too.
  for (const m of html.matchAll(/'(\/[^']+\.(?:js|wasm))'/g)) {
    if (HASHED.test(m[1])) assets.push(m[1]);
  }
  await cache.addAll([...new Set(assets), ...STATIC]);
  await cache.put('/', res);
}

// The network's answer, kept under `key` as the offline copy; the copy when the network fails.
function networkFirst(req, key) {
  return fetch(req)
    .then(async (res) => {
      if (res.ok) {
        const cache = await caches.open(CACHE);
        await cache.put(key, res.clone());
      }
      return res;
    })
    .catch(async () => (await caches.match(key)) || Response.error());
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return; // The API is never cached.
  if (req.mode === 'navigate') {
    // Two pages: the shell ('/', every route of the app) and the editor module
    // ('/editor/', for secretaries), each kept as its own offline copy.
    const page = url.pathname.startsWith(EDITOR) ? EDITOR : '/';
    event.respondWith(networkFirst(req, page));
    return;
  }
  if (SNIPPET.test(url.pathname)) {
    event.respondWith(networkFirst(req, req));
    return;
  }
  if (STATIC.includes(url.pathname)) {
    event.respondWith(
      caches.open(CACHE).then(async (cache) => {
        const hit = await cache.match(req);
        const fresh = fetch(req)
          .then((res) => {
            if (res.ok) cache.put(req, res.clone());
            return res;
          })
          .catch(() => hit || Response.error());
        return hit || fresh;
      }),
    );
    return;
  }
  if (HASHED.test(url.pathname)) {
    event.respondWith(
      caches.match(req).then(
        (hit) =>
          hit ||
          fetch(req).then(async (res) => {
            if (res.ok) {
              const cache = await caches.open(CACHE);
              await cache.put(req, res.clone());
            }
            return res;
          }),
      ),
    );
  }
});
