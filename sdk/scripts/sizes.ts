/**
 * Raw, gzip (level 9) and brotli (max quality) sizes of every SDK build: each package's
 * `dist/*.js` and the `/lp.js` script tag. Printed by `npm run build:sdk` and `npm run bench:sdk`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { PACKAGES, SDK_DIR } from './script-build.ts';

export interface Size {
  file: string;
  raw: number;
  gzip: number;
  brotli: number;
}

export function measure(file: string): Size {
  const code = readFileSync(file);
  return {
    file: path.relative(SDK_DIR, file),
    raw: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

/** Every built file, script tag first; packages not built yet are left out. */
export function sizes(): Size[] {
  const files = [path.join(SDK_DIR, 'web', 'dist', 'lp.js')];
  for (const name of Object.keys(PACKAGES)) {
    const dist = path.join(SDK_DIR, name, 'dist');
    if (existsSync(dist)) for (const f of readdirSync(dist).sort()) if (f.endsWith('.js') && !f.startsWith('lp.')) files.push(path.join(dist, f));
  }
  return files.filter((f) => existsSync(f)).map(measure);
}

export async function printSizes(): Promise<Size[]> {
  const all = sizes();
  const kb = (n: number) => `${(n / 1024).toFixed(2)} KB`;
  console.log(`${'build'.padEnd(34)} ${'raw'.padStart(10)} ${'gzip'.padStart(10)} ${'brotli'.padStart(10)}`);
  for (const s of all) console.log(`${s.file.padEnd(34)} ${kb(s.raw).padStart(10)} ${kb(s.gzip).padStart(10)} ${kb(s.brotli).padStart(10)}`);
  return all;
}
