/**
 * What the WAL record format costs on each side of the embedded write path, old against new,
 * alternating in one process so a noisy machine hits both alike:
 *
 *   encode (ingest thread, per push of 50 events): format 1 — the batch as one JSON object —
 *     against format 2 — storable JSONCompactEachRow lines per table (wal/batch-format.ts);
 *   apply (insert thread, per chunk of `--rows` rows, into chDB with the rollup views): format 1
 *     decoded to row objects and written with `writer.write` (JSON.parse, storable values,
 *     JSON encoding by the client) against format 2 handed to `writer.writeChunk` as it lies.
 *
 * Prints µs per row (wall and CPU of this process, chDB's own threads included) and the ratio
 * new/old; saves the result under bench/results/. Usage: tsx bench/wal-format.ts [--rows 10000] [--rounds 6]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chunkOfRecords, encodeRecord } from '../server/engines/wal/record.ts';
import { decodeChunk } from '../server/engines/wal/record-writer.ts';
import { encodeRecordV1 } from '../server/engines/wal/wal.fixtures.ts';
import { makeEvents } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { createClickhouse } from '../server/store/clickhouse.ts';
import { createWriter } from '../server/store/writer.ts';
import { emptyBatch, type WriteBatch } from '../shared/rows.ts';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '6' } } });
const ROWS = Number(args.rows);
const ROUNDS = Number(args.rounds);
const PER_PUSH = 50;

/** Pushes of 50 fresh events (distinct ids, as distinct events have). */
const pushes = (): WriteBatch[] =>
  Array.from({ length: ROWS / PER_PUSH }, () => ({ ...emptyBatch(), events: makeEvents(PER_PUSH).map((r) => ({ ...r, id: randomUUID() })) }));

function timed<T>(fn: () => T): { value: T; wallUs: number; cpuUs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const cpu = process.cpuUsage(c0);
  return { value, wallUs: (performance.now() - t0) * 1000, cpuUs: cpu.user + cpu.system };
}
async function timedAsync(fn: () => Promise<unknown>): Promise<{ wallUs: number; cpuUs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const cpu = process.cpuUsage(c0);
  return { wallUs: (performance.now() - t0) * 1000, cpuUs: cpu.user + cpu.system };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-walformat-'));
const ch = await createClickhouse({ kind: 'chdb', dir, database: 'livepanel' });
const sums = { encodeOld: [0, 0], encodeNew: [0, 0], applyOld: [0, 0], applyNew: [0, 0] } as Record<string, [number, number]>;
try {
  await migrateClickhouse(ch, 'livepanel');
  const writer = createWriter(ch);
  await writer.write({ ...emptyBatch(), events: makeEvents(1000) }, `warm-${randomUUID()}`);
  for (let round = 0; round < ROUNDS; round++) {
    // Old first on even rounds, new first on odd ones.
    const order = round % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const);
    for (const v of order) {
      const batches = pushes();
      const enc = timed(() => Buffer.concat(batches.map((b) => (v === 'old' ? encodeRecordV1 : encodeRecord)(b, PER_PUSH))));
      const token = `fmt-${randomUUID()}`;
      const apply = await timedAsync(() => (v === 'old' ? writer.write(decodeChunk(enc.value), token) : writer.writeChunk(chunkOfRecords(enc.value), token)));
      const e = v === 'old' ? sums.encodeOld! : sums.encodeNew!;
      const a = v === 'old' ? sums.applyOld! : sums.applyNew!;
      e[0] += enc.wallUs;
      e[1] += enc.cpuUs;
      a[0] += apply.wallUs;
      a[1] += apply.cpuUs;
    }
  }
  const perRow = (k: string) => ({ wallUs: +(sums[k]![0] / (ROWS * ROUNDS)).toFixed(2), cpuUs: +(sums[k]![1] / (ROWS * ROUNDS)).toFixed(2) });
  const result = {
    date: new Date().toISOString(),
    rows: ROWS,
    rounds: ROUNDS,
    load: os.loadavg().map((l) => +l.toFixed(2)),
    encodePerRow: { format1: perRow('encodeOld'), format2: perRow('encodeNew') },
    applyPerRow: { format1: perRow('applyOld'), format2: perRow('applyNew') },
    ratios: {
      encodeCpu: +(sums.encodeNew![1] / sums.encodeOld![1]).toFixed(2),
      applyCpu: +(sums.applyNew![1] / sums.applyOld![1]).toFixed(2),
      applyWall: +(sums.applyNew![0] / sums.applyOld![0]).toFixed(2),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  saveResults('wal-format', result);
} finally {
  await ch.close();
  rmSync(dir, { recursive: true, force: true });
}
