/**
 * `tsx bench/session-store.ts` — CPU per session touch of the embedded session store
 * (server/engines/sessions.memory.ts) with a new visitor per hit on one project, far past its
 * 100,000-session bound so the least recently touched session is evicted on every hit, as a
 * busy site (or `bench:ingest`'s new visitor per request) drives it.
 *
 *   --touches N  touches (default 400,000), reported per window of 50,000
 *   --visitors N the touches cycle over N devices (each returns every N touches: its session is
 *                hit, not started); default 0, a new device per touch
 *   --root DIR   another checkout's store (a before/after in alternation)
 *
 * Saves bench/results/session-store-<time>.json.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: { touches: { type: 'string', default: '400000' }, visitors: { type: 'string', default: '0' }, root: { type: 'string' } },
});
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const { createMemorySessionStore } = await import(path.join(ROOT, 'server/engines/sessions.memory.ts'));

const total = Number(args.touches);
const visitors = Number(args.visitors);
const WINDOW = 50_000;
const store = createMemorySessionStore({ timeoutMs: 30 * 60_000 });
const windows: number[] = [];
let cpu0 = process.cpuUsage();
for (let n = 1; n <= total; n++) {
  const i = visitors > 0 ? n % visitors : n;
  const at = Date.now();
  const hit = { at, path: '/', origin: '', profileId: '', isScreenView: true, revenue: 0 };
  await store.touch('project-1', `device-${i}`, hit, () => ({
    projectId: 'project-1',
    deviceId: `device-${i}`,
    id: `session-${i}`,
    startedAt: at,
    lastAt: at,
  }));
  if (n % WINDOW === 0) {
    const c = process.cpuUsage(cpu0);
    windows.push(Math.round(((c.user + c.system) / WINDOW) * 100) / 100);
    console.log(`touches ${n - WINDOW}-${n}: ${windows.at(-1)} µs CPU per touch`);
    cpu0 = process.cpuUsage();
  }
}
saveResults('session-store', { root: ROOT, touches: total, visitors, window: WINDOW, usPerTouch: windows });
