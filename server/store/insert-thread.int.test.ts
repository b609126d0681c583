// The insert thread (real chDB, own folder): chunks of log records written on the thread land
// once per token; a row chDB refuses is split around and quarantined, each split recorded by
// this thread's memo before its halves are tried, and the writer's metrics reach this thread's
// registry; closing and reopening in the same process leaves this thread's own chDB session
// working (a thread that exits would make it hang).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { encodeRecord } from '../engines/wal/record.ts';
import { encodeRecordV1 } from '../engines/wal/wal.fixtures.ts';
import { createMetrics } from '../metrics.ts';
import { makeEvent } from './clickhouse.fixtures.ts';
import { migrateClickhouse } from './clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from './clickhouse.ts';
import type { SplitMemo } from './insert-split.ts';
import { startInsertThread } from './insert-thread.ts';

const DB = 'lp_insert_thread';
let dir: string;
let ch: ClickHouseClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-insert-thread-'));
  ch = await createClickhouse({ kind: 'chdb', dir, database: DB });
  await migrateClickhouse(ch, DB);
  await ch.command({ query: "ALTER TABLE events ADD CONSTRAINT no_poison CHECK name != 'poison'" });
});

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const countEvents = async (project: string) => {
  const rs = await ch.query({
    query: 'SELECT count() AS n, uniqExact(id) AS d FROM events WHERE project_id = {p:String}',
    query_params: { p: project },
    format: 'JSONEachRow',
  });
  const r = (await rs.json<{ n: string; d: string }>())[0]!;
  return { n: Number(r.n), d: Number(r.d) };
};

/** Records as the log holds them: one per batch, some with their accepted ids line. */
function chunkOf(batches: WriteBatch[]): Buffer {
  return Buffer.concat(batches.map((b, i) => encodeRecord(b, b.events.length, i % 2 ? [`id-${i}`] : undefined)));
}
const eventsBatch = (from: number, n: number, project: string, poison: Set<number> = new Set()): WriteBatch => ({
  ...emptyBatch(),
  events: Array.from({ length: n }, (_, i) => makeEvent(from + i, { project_id: project, name: poison.has(from + i) ? 'poison' : 'click' })),
});

describe('insert thread', () => {
  it('stores a chunk of records once per token, splits around refused rows recording each split here first, forwards metrics', async () => {
    const metrics = createMetrics();
    const thread = await startInsertThread({ clickhouse: { kind: 'chdb', dir, database: DB }, metrics });
    try {
      const plain = chunkOf([eventsBatch(0, 300, 'p_plain'), eventsBatch(300, 200, 'p_plain'), eventsBatch(500, 1, 'p_plain')]);
      await thread.write(plain, 'chunk-1');
      await thread.write(chunkOf([eventsBatch(0, 300, 'p_plain'), eventsBatch(300, 200, 'p_plain'), eventsBatch(500, 1, 'p_plain')]), 'chunk-1');
      expect(await countEvents('p_plain')).toEqual({ n: 501, d: 501 });

      const poison = new Set([1017, 1400]);
      const recorded: string[] = [];
      const memo: SplitMemo = {
        has: (t) => recorded.includes(t),
        async add(t) {
          recorded.push(t);
        },
        tokens: () => [...recorded],
      };
      const poisoned = () => chunkOf([eventsBatch(1000, 250, 'p_poison', poison), eventsBatch(1250, 250, 'p_poison', poison)]);
      await thread.write(poisoned(), 'chunk-2', { splits: memo });
      expect(await countEvents('p_poison')).toEqual({ n: 498, d: 498 });
      expect(recorded.length).toBeGreaterThan(2);
      expect(recorded[0]).toBe('chunk-2:events');
      // Retried with the splits known (a crash after some halves landed): nothing doubles.
      const before = recorded.length;
      await thread.write(poisoned(), 'chunk-2', { splits: memo });
      expect(recorded.length).toBe(before);
      expect(await countEvents('p_poison')).toEqual({ n: 498, d: 498 });
      const q = await ch.query({ query: "SELECT count() AS n FROM quarantine WHERE project_id = 'p_poison'", format: 'JSONEachRow' });
      expect(await q.json()).toEqual([{ n: 2 }]);

      expect(await metrics.registry.getSingleMetricAsString('livepanel_quarantined_rows_total')).toMatch(/\{table="events"\} [2-9]/);
      expect(await metrics.registry.getSingleMetricAsString('livepanel_insert_splits_total')).toMatch(/\{table="events"\} [1-9]/);
      expect(await metrics.registry.getSingleMetricAsString('livepanel_flush_seconds')).toMatch(/livepanel_flush_seconds_count [1-9]/);
    } finally {
      await thread.close();
    }
  });

  it('rejects a write whose split cannot be recorded, storing none of its halves', async () => {
    const thread = await startInsertThread({ clickhouse: { kind: 'chdb', dir, database: DB } });
    try {
      const failing: SplitMemo = {
        has: () => false,
        add: async () => {
          throw new Error('disk full');
        },
        tokens: () => [],
      };
      await expect(thread.write(chunkOf([eventsBatch(2000, 100, 'p_nosplit', new Set([2050]))]), 'chunk-3', { splits: failing })).rejects.toThrow(/disk full/);
      expect(await countEvents('p_nosplit')).toEqual({ n: 0, d: 0 });
    } finally {
      await thread.close();
    }
  });

  // A log written by the previous version (records holding the batch as JSON) replays after an
  // upgrade: its chunk gives the same inserts, halves and tokens as the same rows in today's
  // format, so an intent or split left by the old version is completed without doubling.
  it('stores records of the previous format like today’s: same halves, same tokens, nothing twice', async () => {
    const thread = await startInsertThread({ clickhouse: { kind: 'chdb', dir, database: DB } });
    try {
      const poison = new Set([4033]);
      const batches = [eventsBatch(4000, 60, 'p_old', poison), eventsBatch(4060, 40, 'p_old', poison)];
      const recorded: string[] = [];
      const memo: SplitMemo = {
        has: (t) => recorded.includes(t),
        async add(t) {
          recorded.push(t);
        },
        tokens: () => [...recorded],
      };
      await thread.write(Buffer.concat(batches.map((b) => encodeRecordV1(b, b.events.length))), 'chunk-old', { splits: memo });
      expect(await countEvents('p_old')).toEqual({ n: 99, d: 99 });
      const splitsBefore = [...recorded];
      await thread.write(chunkOf(batches), 'chunk-old', { splits: memo });
      expect(recorded).toEqual(splitsBefore);
      expect(await countEvents('p_old')).toEqual({ n: 99, d: 99 });
    } finally {
      await thread.close();
    }
  });

  it('inserts a chunk spanning more months than one insert may touch in groups, once, without a refused insert', async () => {
    const metrics = createMetrics();
    const thread = await startInsertThread({ clickhouse: { kind: 'chdb', dir, database: DB }, metrics });
    try {
      const events = Array.from({ length: 101 }, (_, i) => makeEvent(5000 + i, { project_id: 'p_months' }, Date.UTC(2010, i, 3)));
      const batch = { ...emptyBatch(), events };
      await thread.write(chunkOf([batch]), 'chunk-months');
      await thread.write(chunkOf([batch]), 'chunk-months');
      expect(await countEvents('p_months')).toEqual({ n: 101, d: 101 });
      // Grouped by partition up front (2 groups, written twice): ClickHouse refused nothing (a refusal would be bisected).
      expect(await metrics.registry.getSingleMetricAsString('livepanel_insert_splits_total')).not.toMatch(/table="events"/);
      expect(await metrics.registry.getSingleMetricAsString('livepanel_flush_rows')).toMatch(/livepanel_flush_rows_count\{table="events"\} 4\b/);
    } finally {
      await thread.close();
    }
  });

  it('closes and reopens in the same process; this thread’s own session keeps answering', async () => {
    for (let round = 0; round < 2; round++) {
      const thread = await startInsertThread({ clickhouse: { kind: 'chdb', dir, database: DB } });
      await thread.write(chunkOf([eventsBatch(3000 + round * 10, 10, 'p_reopen')]), `chunk-reopen-${round}`);
      await thread.close();
      await expect(thread.write(chunkOf([eventsBatch(3100, 1, 'p_reopen')]), 'late')).rejects.toThrow(/closed/);
      expect(await countEvents('p_reopen')).toEqual({ n: 10 * (round + 1), d: 10 * (round + 1) });
    }
  });
});
