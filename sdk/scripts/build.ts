/**
 * Builds the SDK packages with esbuild: each to `dist/index.js` (ESM, dependencies and
 * framework peers left external) plus `dist/*.d.ts` (one tsc run over all packages), and the
 * browser script tag to `sdk/web/dist/lp.js` (minified IIFE) and `lp.<hash>.js`.
 *
 *   tsx sdk/scripts/build.ts                 every package, then print sizes
 *   tsx sdk/scripts/build.ts web react       some packages
 *   tsx sdk/scripts/build.ts --script-only --if-stale [--soft]
 *                                            just lp.js, when its sources changed (npm start and
 *                                            npm test run this first; --soft: a failure only warns,
 *                                            and Livepanel serves /lp.js as 503 until it is built)
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { buildScript, PACKAGES, SDK_DIR, scriptStale } from './script-build.ts';
import { printSizes } from './sizes.ts';

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const wanted = args.filter((a) => !a.startsWith('--'));

if (flags.has('--script-only')) {
  try {
    if (!flags.has('--if-stale') || scriptStale()) {
      const out = await buildScript();
      console.log(`sdk: built ${path.relative(process.cwd(), out)}`);
    }
  } catch (err) {
    console.warn(`sdk: could not build the /lp.js script tag: ${(err as Error).message}`);
    process.exit(flags.has('--soft') ? 0 : 1);
  }
  process.exit(0);
}

const pkgs = wanted.length ? wanted : Object.keys(PACKAGES);
for (const name of pkgs) {
  const spec = PACKAGES[name];
  if (!spec) throw new Error(`unknown SDK package ${name}; one of ${Object.keys(PACKAGES).join(', ')}`);
  const dir = path.join(SDK_DIR, name);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...(spec.external ?? [])];
  await build({
    entryPoints: Object.fromEntries(spec.entries.map((e) => [e.replace(/\.tsx?$/, ''), path.join(dir, 'src', e)])),
    outdir: path.join(dir, 'dist'),
    bundle: true,
    // Entries of one package share one chunk (one React context for `@livepanel/react` and `/router`).
    splitting: true,
    format: 'esm',
    platform: spec.platform ?? 'neutral',
    target: 'es2022',
    external: external.flatMap((e) => [e, `${e}/*`]),
    define: { __VERSION__: JSON.stringify(pkg.version) },
    jsx: 'automatic',
    logLevel: 'warning',
  });
  if (name === 'web') await buildScript();
}

// Declarations: one tsc run over the packages, then each package's share copied into its dist.
const typesDir = path.join(SDK_DIR, '.types');
rmSync(typesDir, { recursive: true, force: true });
const tsc = path.join(SDK_DIR, '..', 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(SDK_DIR, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const name of pkgs) {
  const from = path.join(typesDir, name, 'src');
  const dist = path.join(SDK_DIR, name, 'dist');
  mkdirSync(dist, { recursive: true });
  cpSync(from, dist, { recursive: true });
  // Relative imports are written `./x.ts` in the sources; a published .d.ts says `./x.js`.
  for (const f of readdirSync(dist, { recursive: true }) as string[]) {
    if (!f.endsWith('.d.ts')) continue;
    const file = path.join(dist, f);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.tsx?(['"])/g, '$1.js$2'));
  }
}
rmSync(typesDir, { recursive: true, force: true });
await printSizes();
