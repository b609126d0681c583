/**
 * The browser script tag build (`/lp.js`): @livepanel/web's script.ts with core bundled in,
 * minified to an IIFE. Internal `_`-prefixed members are renamed (they are never part of an
 * API or the wire format: magic properties start with two underscores and are left alone).
 * esbuild bundles and minifies; terser then squeezes out about 3% more (the script's size is
 * a feature: it must stay within 3.3 KB gzipped).
 * Also writes `lp.<hash>.js`, the same bytes under a content-hashed name for immutable caching.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const SDK_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCRIPT_PATH = path.join(SDK_DIR, 'web', 'dist', 'lp.js');

/** Packages, their entry files under src/, and how esbuild should see them. */
export const PACKAGES: Record<string, { entries: string[]; platform?: 'node' | 'browser' | 'neutral'; external?: string[] }> = {
  core: { entries: ['index.ts'] },
  web: { entries: ['index.ts'], platform: 'browser' },
  react: { entries: ['index.tsx', 'router.tsx', 'next.tsx'], platform: 'browser' },
  vue: { entries: ['index.ts'], platform: 'browser' },
  svelte: { entries: ['index.ts'], platform: 'browser', external: ['$app'] },
  node: { entries: ['index.ts'], platform: 'node' },
  'react-native': { entries: ['index.ts'], platform: 'neutral' },
};

const newest = (p: string): number => {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  return st.isDirectory() ? Math.max(st.mtimeMs, ...readdirSync(p).map((e) => newest(path.join(p, e)))) : st.mtimeMs;
};

/** True when lp.js is missing or older than the sources it is built from. */
export function scriptStale(): boolean {
  const built = existsSync(SCRIPT_PATH) ? statSync(SCRIPT_PATH).mtimeMs : 0;
  return built < Math.max(newest(path.join(SDK_DIR, 'core', 'src')), newest(path.join(SDK_DIR, 'web', 'src')), newest(fileURLToPath(import.meta.url)));
}

/** Builds lp.js (and lp.<hash>.js, removing older hashed copies); returns lp.js's path. */
export async function buildScript(): Promise<string> {
  const pkg = JSON.parse(readFileSync(path.join(SDK_DIR, 'web', 'package.json'), 'utf8'));
  const r = await build({
    entryPoints: [path.join(SDK_DIR, 'web', 'src', 'script.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    // Browsers from 2021 on: native class fields, optional chaining, `??=`.
    target: ['chrome91', 'firefox90', 'safari14.1', 'edge91'],
    minify: true,
    mangleProps: /^_[a-z]/,
    define: { __VERSION__: JSON.stringify(pkg.version) },
    tsconfig: path.join(SDK_DIR, 'tsconfig.json'),
    legalComments: 'none',
    logLevel: 'warning',
  });
  let text = r.outputFiles[0]!.text;
  // terser is a devDependency: a production install (esbuild comes with tsx) builds without it, a little larger.
  const terser = await import('terser').catch(() => undefined);
  if (terser) text = (await terser.minify(text, { ecma: 2020, compress: { passes: 2, pure_getters: true }, mangle: true })).code!;
  const code = new TextEncoder().encode(text);
  const dist = path.dirname(SCRIPT_PATH);
  mkdirSync(dist, { recursive: true });
  for (const f of existsSync(dist) ? readdirSync(dist) : []) if (/^lp\.[0-9a-f]+\.js$/.test(f)) rmSync(path.join(dist, f));
  writeFileSync(SCRIPT_PATH, code, { flag: 'w' });
  writeFileSync(path.join(dist, `lp.${scriptHash(code)}.js`), code);
  return SCRIPT_PATH;
}

/** The content hash in `lp.<hash>.js`: 10 hex characters of SHA-256. */
export function scriptHash(code: Uint8Array): string {
  return createHash('sha256').update(code).digest('hex').slice(0, 10);
}
