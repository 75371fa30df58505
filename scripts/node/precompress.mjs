// Writes Brotli (quality 11) and gzip (level 9) copies beside every text and WebAssembly file
// of the built app, for thidua-server to serve as they are. Usage: node precompress.mjs DIR (and its folders)
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node precompress.mjs DIR');
const COMPRESSIBLE = /\.(js|wasm|css|html|webmanifest|svg|json)$/;
// Folders too: the editor module lives in dist/editor.
const files = readdirSync(dir, { recursive: true }).map(String);
for (const name of files) {
  if (!COMPRESSIBLE.test(name)) continue;
  const file = path.join(dir, name);
  const raw = readFileSync(file);
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_LGWIN]: 24,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  writeFileSync(`${file}.br`, br);
  writeFileSync(`${file}.gz`, gzipSync(raw, { level: 9 }));
}
