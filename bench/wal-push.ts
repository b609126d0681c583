/**
 * `tsx bench/wal-push.ts` — what one `/track` push costs the embedded write-ahead log, in CPU
 * per push: the real queue (server/engines/queue.wal.ts, fdatasync on, its zero-filled room),
 * `--callers` closed-loop callers each pushing a batch of `--rows` event rows at a time as
 * `/track` requests do, a record writer that stores nothing (the server's is the insert
 * thread, fed the log's bytes; the applier's reading side still runs here).
 * CPU is read from /proc for the main thread (encoding, framing, the group commit's
 * hand-offs, garbage collection) and for the whole process (libuv's pool, which writes and
 * syncs, included), so it holds up on a shared machine far better than requests per second.
 *
 *   --root DIR       the checkout whose queue to run (default this one): alternate two for a before/after
 *   --seconds N      measured per round (default 5), after a 1 s warm-up
 *   --rounds N       rounds (default 3); each prints its figures
 *   --callers N      closed-loop callers (default 50, as bench:ingest's connections)
 *   --rows N         event rows per push (default 1: a returning visitor; 2: a new one with its session_start)
 *   --encode-only    no log: only the encoding of pushes into records, in one tight loop, as the
 *                    root's queue does it — a record per push (encodeRecord), or where the root
 *                    frames commit groups (encodeGroupRecord), groups of `--callers` pushes
 *
 * Prints µs of CPU per push (main thread, process), pushes/s, records and syncs per second;
 * saves bench/results/wal-push-<time>.json. Linux only (reads /proc).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    root: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    callers: { type: 'string', default: '50' },
    rows: { type: 'string', default: '1' },
    'encode-only': { type: 'boolean', default: false },
  },
});
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const SECONDS = Number(args.seconds);
const CALLERS = Number(args.callers);
const ROWS = Number(args.rows);

type QueueModule = typeof import('../server/engines/queue.wal.ts');
type Fixtures = typeof import('../server/store/clickhouse.fixtures.ts');
type Rows = typeof import('../shared/rows.ts');
const { createWalQueue } = (await import(path.join(ROOT, 'server/engines/queue.wal.ts'))) as QueueModule;
const { fixtureUuid, makeEvent } = (await import(path.join(ROOT, 'server/store/clickhouse.fixtures.ts'))) as Fixtures;
const { chTime, emptyBatch } = (await import(path.join(ROOT, 'shared/rows.ts'))) as Rows;

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
/** CPU clock ticks (user + system) of /proc/self/<what>/stat. */
function ticks(statFile: string): number {
  const raw = readFileSync(statFile, 'utf8');
  const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
const mainTicks = () => ticks(`/proc/self/task/${process.pid}/stat`);
const processTicks = () => ticks('/proc/self/stat');

const now = chTime(Date.now());
const pool = Array.from({ length: 1000 }, (_, i) => makeEvent(i, { created_at: now, received_at: now }));
let nextId = 0;
function push() {
  const b = emptyBatch();
  for (let k = 0; k < ROWS; k++) {
    const n = nextId++;
    b.events.push({ ...pool[n % pool.length]!, id: fixtureUuid(n + 1) });
  }
  return b;
}

if (args['encode-only']) {
  type RecordModule = typeof import('../server/engines/wal/record.ts');
  type FormatModule = typeof import('../server/engines/wal/batch-format.ts');
  const rec = (await import(path.join(ROOT, 'server/engines/wal/record.ts'))) as Partial<RecordModule> & Pick<RecordModule, 'encodeRecord'>;
  const fmt = (await import(path.join(ROOT, 'server/engines/wal/batch-format.ts'))) as Partial<FormatModule>;
  const grouped = rec.encodeGroupRecord && fmt.encodeSections;
  const N = 200_000;
  const encodeAll = () => {
    let bytes = 0;
    for (let i = 0; i < N; i += CALLERS) {
      if (grouped) {
        const parts = [];
        for (let k = 0; k < CALLERS; k++) parts.push({ sections: fmt.encodeSections!(push()), rows: ROWS });
        bytes += rec.encodeGroupRecord!(parts).length;
      } else for (let k = 0; k < CALLERS; k++) bytes += rec.encodeRecord(push(), ROWS).length;
    }
    return bytes;
  };
  encodeAll(); // warm-up
  const rounds: number[] = [];
  for (let i = 0; i < Number(args.rounds); i++) {
    const c0 = process.cpuUsage();
    encodeAll();
    const c = process.cpuUsage(c0);
    rounds.push(Math.round(((c.user + c.system) / N) * 100) / 100);
  }
  const mean = Math.round((rounds.reduce((a, b) => a + b, 0) / rounds.length) * 100) / 100;
  console.log(`encoding: ${rounds.join(' / ')} µs CPU per push, mean ${mean} (${grouped ? `groups of ${CALLERS}` : 'a record per push'}, ${ROOT})`);
  saveResults('wal-push-encode', { root: ROOT, grouped: Boolean(grouped), callers: CALLERS, rows: ROWS, pushes: N, rounds, meanUs: mean });
  process.exit(0);
}

const dir = path.join(os.tmpdir(), `lp-wal-push-${process.pid}`);
// A RecordWriter, as the server's insert thread: it gets the log's bytes and nothing is decoded here.
const q = await createWalQueue({ dir, writer: { records: { write: async () => {} } }, flushSize: 10_000, flushIntervalMs: 1000 });

async function run(seconds: number) {
  const stopAt = performance.now() + seconds * 1000;
  let pushes = 0;
  const s0 = q.stats();
  const m0 = mainTicks();
  const p0 = processTicks();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < stopAt) {
        await q.push(push());
        pushes++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const s1 = q.stats();
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return {
    pushesPerSec: Math.round(pushes / secs),
    cpuUsPerPush: { main: round1(((mainTicks() - m0) * TICK_US) / pushes), process: round1(((processTicks() - p0) * TICK_US) / pushes) },
    recordsPerSec: Math.round((s1.records - s0.records) / secs),
    syncsPerSec: Math.round((s1.groups - s0.groups) / secs),
    loadAverage: os.loadavg()[0]!,
  };
}

await run(1); // warm-up
const rounds: Array<Awaited<ReturnType<typeof run>>> = [];
for (let i = 0; i < Number(args.rounds); i++) {
  const r = await run(SECONDS);
  rounds.push(r);
  console.log(JSON.stringify(r));
}
await q.close();
rmSync(dir, { recursive: true, force: true });
const mean = (f: (r: (typeof rounds)[number]) => number) => Math.round((rounds.reduce((a, r) => a + f(r), 0) / rounds.length) * 100) / 100;
const summary = {
  root: ROOT,
  callers: CALLERS,
  rows: ROWS,
  seconds: SECONDS,
  rounds,
  meanMainUs: mean((r) => r.cpuUsPerPush.main),
  meanProcessUs: mean((r) => r.cpuUsPerPush.process),
};
console.log(`mean µs CPU per push: main ${summary.meanMainUs}, process ${summary.meanProcessUs} (${ROOT})`);
saveResults('wal-push', summary);
