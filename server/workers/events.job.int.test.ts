// Jobs queued across an upgrade that changed the `events` columns, stored by the new version's
// worker (its column lists injected, its migration played by hand: `events` gains a column with
// a default), against the shared Redis (own prefix) and real chDB (own folder). Every job's
// values land in their own columns: versions 1 and 2 and a version 3 job queued before the
// upgrade take the added column's default, a job queued after it carries its value, and a job
// of a newer version still is not stored at all (left failed, to retry once workers catch up).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsJobV2, JOB_NAMES, QUEUES } from '../../shared/jobs.ts';
import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { createTestRedis, type TestRedis } from '../../tests/support/redis.ts';
import { openEventsQueue } from '../engines/queue.bullmq.ts';
import { encodeBatch } from '../engines/wal/batch-format.ts';
import { TABLE_COLUMNS } from '../engines/wal/column-lists.ts';
import { versionWith } from '../engines/wal/wal.fixtures.ts';
import { makeEvent } from '../store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { createWriter } from '../store/writer.ts';
import { createEventsFlushWorker } from './events.flush.ts';

const DB = 'lp_job_columns';
let dir: string;
let ch: ClickHouseClient;
let t: TestRedis;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-job-columns-'));
  ch = await createClickhouse({ kind: 'chdb', dir, database: DB });
  await migrateClickhouse(ch, DB);
  await ch.command({ query: "ALTER TABLE events ADD COLUMN extra String DEFAULT 'unset'" });
  t = await createTestRedis();
});

afterAll(async () => {
  await t?.cleanup();
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const batchOf = (from: number, n: number, over: Record<string, string> = {}): WriteBatch => ({
  ...emptyBatch(),
  events: Array.from({ length: n }, (_, i) => ({ ...makeEvent(from + i, { project_id: 'p_upgrade' }), ...over })),
});
const head = (batchId: string, rows: number) => ({ batchId, node: 't', createdAt: Date.now(), rows });

async function stored() {
  const rs = await ch.query({
    query: "SELECT id, name, path, title, created_at, duration, properties, extra FROM events WHERE project_id = 'p_upgrade' ORDER BY id",
    format: 'JSONEachRow',
  });
  return rs.json<Record<string, unknown>>();
}
const expected = (batch: WriteBatch, extra: string) =>
  batch.events.map((e) => ({
    id: e.id,
    name: e.name,
    path: e.path,
    title: e.title,
    created_at: e.created_at,
    duration: e.duration,
    properties: e.properties,
    extra,
  }));

describe('events jobs across an upgrade that changed the columns', () => {
  it('stores every job under the columns it was queued with; refuses one of a newer version whole', async () => {
    const next = versionWith([...TABLE_COLUMNS.events.slice(0, 3), 'extra', ...TABLE_COLUMNS.events.slice(3)]);
    const newer = versionWith([...next.current.events, 'extra2'], next);
    const q = openEventsQueue(t.client, t.prefix);
    const add = (id: string, data: unknown, attempts = 10) => q.add(JOB_NAMES[QUEUES.events], data as never, { jobId: id, attempts });
    await add('v1', { v: 1, ...head('v1', 1), batch: batchOf(0, 1) });
    await add('v2', eventsJobV2(head('v2', 2), batchOf(10, 2)));
    await add('v3-old', { v: 3, ...head('v3-old', 3), batch: encodeBatch(batchOf(20, 3)) });
    await add('v3-new', { v: 3, ...head('v3-new', 4), batch: encodeBatch(batchOf(30, 4, { extra: 'set' }), next) });
    await add('v3-newer', { v: 3, ...head('v3-newer', 5), batch: encodeBatch(batchOf(40, 5, { extra: 'set', extra2: 'x' }), newer) }, 1);

    const writer = createWriter(ch);
    const flush = createEventsFlushWorker({
      connection: await t.connect(),
      prefix: t.prefix,
      writer,
      quarantine: writer.quarantine,
      maxWaitMs: 100,
      columns: next,
    });
    try {
      const deadline = Date.now() + 60_000;
      while ((await q.getJobCountByTypes('completed', 'failed')) < 5) {
        if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(await q.getJobCounts())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const refused = await q.getJob('v3-newer');
      expect(await refused?.getState()).toBe('failed');
      expect(refused?.failedReason).toMatch(/columns this version does not know/);
      // Every value in its own column; `extra` as queued, or its default.
      const want = [
        ...expected(batchOf(0, 1), 'unset'),
        ...expected(batchOf(10, 2), 'unset'),
        ...expected(batchOf(20, 3), 'unset'),
        ...expected(batchOf(30, 4), 'set'),
      ].sort((a, b) => a.id.localeCompare(b.id));
      expect(await stored()).toEqual(want);
      expect(await writer.quarantine.count()).toBe(0);
    } finally {
      await flush.close();
      await q.close();
    }
  }, 120_000);
});
