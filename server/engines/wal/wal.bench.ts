/**
 * WAL queue benchmark (`npx tsx server/engines/wal/wal.bench.ts [--seconds 10] [--concurrency 500]`):
 * closed-loop callers each pushing one event at a time, as the ingest path does per request.
 *   append-fsync / append-nofsync   writer that stores nothing: the log alone (appends/s,
 *                                   push latency p50/p99, syncs/s)
 *   append-fsync-grow               append-fsync without the zero-filled room ahead of the
 *                                   writes (preallocateBytes 0): every sync also commits the
 *                                   file's new size (wal/appender.ts); `--concurrency 1` gives
 *                                   the latency of one commit
 *   chdb                            the real writer into a temp chDB folder (flushSize 1000,
 *                                   1 s): appends/s, latency, rows/s applied while loaded, drain
 *   replay                          a 200k-row backlog left by a "crashed" queue, applied to
 *                                   chDB at start-up (rows/s), flushSize 1000 and 10000
 * Prints the figures and saves them under bench/results/. Timings depend on the machine and
 * its load; nothing here is a test threshold.
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { percentile, saveResults } from '../../../bench/support.ts';
import { chTime, type EventRow, emptyBatch } from '../../../shared/rows.ts';
import { fixtureUuid, makeEvent } from '../../store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../../store/clickhouse.migrate.ts';
import { createClickhouse } from '../../store/clickhouse.ts';
import { createWriter } from '../../store/writer.ts';
import type { BatchWriter } from '../queue.ts';
import { createWalQueue, type WalQueue } from '../queue.wal.ts';
import { crashSnapshot, tempDir } from './wal.fixtures.ts';

const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, concurrency: { type: 'string', default: '500' }, only: { type: 'string' } },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const now = chTime(Date.now());
const pool: EventRow[] = Array.from({ length: 1000 }, (_, i) => makeEvent(i, { created_at: now, received_at: now }));
let nextId = 0;
const oneEvent = () => {
  const b = emptyBatch();
  const n = nextId++;
  b.events.push({ ...pool[n % pool.length]!, id: fixtureUuid(n + 1) });
  return b;
};
const discard: BatchWriter = { write: async () => {} };
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function openChdb() {
  const dir = tempDir('lp-wal-bench-ch-');
  const ch = await createClickhouse({ kind: 'chdb', dir, database: 'lpbench' });
  await migrateClickhouse(ch, 'lpbench');
  return { ch, dir, writer: createWriter(ch) };
}

/** `CONCURRENCY` closed-loop callers for SECONDS; push latencies in ms. */
async function load(q: WalQueue) {
  const lat: number[] = [];
  const stopAt = performance.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  const s0 = q.stats();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < stopAt) {
        const t = performance.now();
        await q.push(oneEvent());
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const s1 = q.stats();
  lat.sort((a, b) => a - b);
  return {
    appendsPerSec: Math.round(lat.length / secs),
    p50Ms: round(percentile(lat, 50), 2),
    p99Ms: round(percentile(lat, 99), 2),
    maxMs: round(lat.at(-1) ?? 0, 1),
    syncsPerSec: Math.round((s1.groups - s0.groups) / secs),
    recordsPerSync: round((s1.records - s0.records) / Math.max(1, s1.groups - s0.groups)),
    appliedRowsPerSec: Math.round((s1.appliedRows - s0.appliedRows) / secs),
    depthAtEnd: await q.depth(),
    cpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / secs) * 100),
  };
}

async function appendOnly(fsync: boolean, preallocateBytes?: number) {
  const dir = tempDir('lp-wal-bench-');
  const q = await createWalQueue({ dir, writer: discard, flushSize: 1000, flushIntervalMs: 1000, fsync, preallocateBytes });
  const r = await load(q);
  await q.close();
  rmSync(dir, { recursive: true, force: true });
  return r;
}

async function withChdb() {
  const { ch, dir: chDir, writer } = await openChdb();
  const dir = tempDir('lp-wal-bench-');
  const q = await createWalQueue({ dir, writer, flushSize: 1000, flushIntervalMs: 1000 });
  const r = await load(q);
  const backlog = await q.depth();
  const t = performance.now();
  await q.applied();
  const drainSecs = (performance.now() - t) / 1000;
  await q.close();
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(chDir, { recursive: true, force: true });
  return { ...r, drainRows: backlog, drainSecs: round(drainSecs, 2), drainRowsPerSec: Math.round(backlog / Math.max(drainSecs, 1e-3)) };
}

async function replay(rows: number, flushSize: number) {
  const dir = tempDir('lp-wal-bench-');
  const stuck = await createWalQueue({
    dir,
    writer: { write: () => new Promise(() => {}) },
    flushSize: 1e9,
    flushIntervalMs: 1e9,
    fsync: false,
    maxMemoryRows: 0,
  });
  for (let i = 0; i < rows; i += 1000) await Promise.all(Array.from({ length: 1000 }, () => stuck.push(oneEvent())));
  const snap = crashSnapshot(dir); // what a SIGKILL would leave; `stuck` is abandoned
  const { ch, dir: chDir, writer } = await openChdb();
  const t = performance.now();
  const q = await createWalQueue({ dir: snap, writer, flushSize, flushIntervalMs: 1000 });
  await q.applied();
  const secs = (performance.now() - t) / 1000;
  const s = q.stats();
  await q.close();
  await ch.close();
  for (const d of [dir, snap, chDir]) rmSync(d, { recursive: true, force: true });
  return { rows: s.recoveredRows, flushSize, chunks: s.chunks, secs: round(secs, 2), rowsPerSec: Math.round(s.recoveredRows / secs) };
}

const results: Record<string, unknown> = { seconds: SECONDS, concurrency: CONCURRENCY };
const want = (name: string) => !args.only || args.only.split(',').includes(name);
async function run(key: string, name: string, fn: () => Promise<unknown>) {
  if (!want(name)) return;
  results[key] = await fn();
  console.log(key, results[key]);
}
await run('appendFsync', 'append-fsync', () => appendOnly(true));
await run('appendFsyncGrow', 'append-fsync-grow', () => appendOnly(true, 0));
await run('appendNoFsync', 'append-nofsync', () => appendOnly(false));
await run('chdb', 'chdb', withChdb);
await run('replay1000', 'replay', () => replay(200_000, 1000));
await run('replay10000', 'replay', () => replay(200_000, 10_000));
console.log('saved', saveResults('wal-queue', results));
process.exit(0);
