// `npm start` / `npm test` run this first (prestart, pretest): builds the dashboard only when
// web/build is missing or older than its sources, so an up-to-date tree costs a few stat calls.
// `--soft` (prestart) never stops the server from starting: where the dashboard cannot be built
// (a production install without devDependencies, a broken source) it warns, and the server
// answers dashboard pages with a 503 that says what to do. Without it (pretest) a failed build fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const soft = process.argv.includes('--soft');
const web = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(web, '..');
const stamp = path.join(web, 'build', 'server', 'manifest.js');
const sources = ['src', 'static', 'adapter.js', 'svelte.config.js', 'vite.config.ts', 'package.json', '../shared/live.ts', '../package-lock.json'];

/** Newest modification time under `p` (a file or a folder), 0 when it does not exist. */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted file changes its folder's time
  for (const e of readdirSync(p)) max = Math.max(max, newest(path.join(p, e)));
  return max;
}

function giveUp(why) {
  console.warn(`web: ${why}`);
  process.exit(soft ? 0 : 1);
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const changed = Math.max(...sources.map((s) => newest(path.join(web, s))));
if (built >= changed) process.exit(0);

if (!existsSync(path.join(root, 'node_modules', 'vite')) || !existsSync(path.join(root, 'node_modules', '@sveltejs', 'kit'))) {
  giveUp(`cannot ${built ? 'rebuild' : 'build'} the dashboard: its build tools are devDependencies (run a full \`npm install\`, then \`npm run build:web\`)`);
}
console.log(built ? 'web: sources changed since the last build, rebuilding the dashboard' : 'web: no dashboard build yet, building it');
const r = spawnSync('npm', ['run', '--silent', 'build:web', '--', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) giveUp(`the dashboard build failed${built ? '; the previous build stays in place' : ''}`);
