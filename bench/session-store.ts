/**
 * `tsx bench/session-store.ts` — CPU per session touch of the embedded session store
 * (server/engines/sessions.memory.ts) with a new visitor per hit on one project, far past its
 * 100,000-session bound so the least recently touched session is evicted on every hit, as a
 * busy site (or `bench:ingest`'s new visitor per request) drives it; then the heap each open
 * session holds (V8 heap used after a full collection with the store full, minus before it,
 * per open session: the session as the ingest step seeds it, its strings made per hit as the
 * pipeline makes them — a UUID, a 32-character device id, a page and an origin of their own —
 * and the store's bookkeeping).
 *
 *   --touches N  touches (default 400,000), reported per window of 50,000
 *   --visitors N the touches cycle over N devices (each returns every N touches: its session is
 *                hit, not started); default 0, a new device per touch
 *   --root DIR   another checkout's store (a before/after in alternation)
 *
 * Run with `node --expose-gc --import tsx` for the bytes per session (skipped without gc).
 * Saves bench/results/session-store-<time>.json.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { blankEventRow } from '../shared/rows.ts';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: { touches: { type: 'string', default: '400000' }, visitors: { type: 'string', default: '0' }, root: { type: 'string' } },
});
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const { createMemorySessionStore } = await import(path.join(ROOT, 'server/engines/sessions.memory.ts'));
const { seedSession } = await import(path.join(ROOT, 'server/ingest/session-rows.ts'));

const total = Number(args.touches);
const visitors = Number(args.visitors);
const WINDOW = 50_000;
const gc = (globalThis as { gc?: () => void }).gc;
const heapUsed = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};
const heapBefore = heapUsed();
const store = createMemorySessionStore({ timeoutMs: 30 * 60_000 });
const windows: number[] = [];
let cpu0 = process.cpuUsage();
for (let n = 1; n <= total; n++) {
  const i = visitors > 0 ? n % visitors : n;
  const at = Date.now();
  // Built per hit, as the pipeline's strings are (none shared between visitors).
  const deviceId = createHash('md5').update(String(i)).digest('hex'); // 32 hex characters, one flat string
  const hit = { at, path: `/p/${n % 50}`, origin: new URL('https://example.com/p').origin, profileId: '', isScreenView: true, revenue: 0 };
  // The session as the ingest pipeline seeds it, from the enriched row of its first event.
  const row = blankEventRow({ project_id: 'project-1', device_id: deviceId, name: 'screen_view', path: hit.path, origin: hit.origin });
  const { session } = await store.touch('project-1', deviceId, hit, () => seedSession(row, at));
  // The ingest step writes the session id into the event's row, and writing the row flattens a
  // concatenated id in place (V8 then drops the tree): as in the server, not as never written.
  JSON.stringify(session.id);
  if (n % WINDOW === 0) {
    const c = process.cpuUsage(cpu0);
    windows.push(Math.round(((c.user + c.system) / WINDOW) * 100) / 100);
    console.log(`touches ${n - WINDOW}-${n}: ${windows.at(-1)} µs CPU per touch`);
    cpu0 = process.cpuUsage();
  }
}
const open: number = await store.size();
const bytesPerSession = gc ? Math.round((heapUsed() - heapBefore) / open) : undefined;
if (bytesPerSession !== undefined) console.log(`${open} open sessions: ${bytesPerSession} B of heap each`);
saveResults('session-store', {
  root: ROOT,
  touches: total,
  visitors,
  window: WINDOW,
  usPerTouch: windows,
  openSessions: open,
  heapBytesPerSession: bytesPerSession,
});
