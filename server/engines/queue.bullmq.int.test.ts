// The BullMQ event queue against the shared Redis (own prefix per test) and, end to end, the
// events flush worker writing into a real chDB folder of this test file's own.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventsJobV3 } from '../../shared/jobs.ts';
import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { createTestRedis, type TestRedis } from '../../tests/support/redis.ts';
import { makeEvent } from '../store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { createWriter } from '../store/writer.ts';
import { createEventsFlushWorker } from '../workers/events.flush.ts';
import { createBullmqQueue, openEventsQueue } from './queue.bullmq.ts';
import type { ChunkWriter } from './queue.ts';
import { decodeBatch } from './wal/batch-format.ts';

const DB = 'lptest';
let dir: string;
let ch: ClickHouseClient;
let t: TestRedis;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-queue-bullmq-'));
  ch = await createClickhouse({ kind: 'chdb', dir, database: DB });
  await migrateClickhouse(ch, DB);
});
afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await t?.cleanup();
});

function eventsBatch(from: number, n: number, project: string): WriteBatch {
  const b = emptyBatch();
  for (let i = from; i < from + n; i++) b.events.push(makeEvent(i, { project_id: project }));
  return b;
}

async function countEvents(project: string): Promise<{ rows: number; distinct: number }> {
  const rs = await ch.query({
    query: 'SELECT count() AS rows, uniqExact(id) AS distinct FROM events WHERE project_id = {p:String}',
    query_params: { p: project },
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ rows: string; distinct: string }>();
  return { rows: Number(r?.rows), distinct: Number(r?.distinct) };
}

describe('createBullmqQueue', () => {
  it('turns many concurrent pushes into few jobs, keeping every row', async () => {
    t = await createTestRedis();
    const queue = createBullmqQueue({ connection: t.client, prefix: t.prefix, maxJobRows: 500, lingerMs: 20 });
    closers.push(() => queue.close());
    await Promise.all(Array.from({ length: 2000 }, (_, i) => queue.push(eventsBatch(i, 1, 'p_few'))));

    const inspect = openEventsQueue(t.client, t.prefix);
    closers.push(() => inspect.close());
    const jobs = await inspect.getWaiting();
    expect(jobs.length).toBe(4);
    expect(jobs.map((j) => j.data.rows)).toEqual([500, 500, 500, 500]);
    // Version 3 payloads: the rows as the WAL's batch format (shared/jobs.ts).
    const ids = jobs.flatMap((j) => {
      const text = Buffer.from((j.data as EventsJobV3).batch);
      return decodeBatch(text, 0, text.length).events.map((e) => e.id);
    });
    expect(jobs.every((j) => j.data.v === 3)).toBe(true);
    expect(new Set(ids).size).toBe(2000);
    expect(jobs.every((j) => j.id === j.data.batchId)).toBe(true);
    expect(await queue.depth()).toBe(4);
  });

  it('never splits a push, and closes a job after lingerMs', async () => {
    t = await createTestRedis();
    const queue = createBullmqQueue({ connection: t.client, prefix: t.prefix, maxJobRows: 100, lingerMs: 30 });
    closers.push(() => queue.close());
    await Promise.all([queue.push(eventsBatch(0, 60, 'p')), queue.push(eventsBatch(60, 60, 'p')), queue.push(eventsBatch(120, 250, 'p'))]);
    const inspect = openEventsQueue(t.client, t.prefix);
    closers.push(() => inspect.close());
    const rows = (await inspect.getWaiting()).map((j) => j.data.rows).sort((a, b) => a - b);
    expect(rows).toEqual([60, 60, 250]);
  });

  it('resolves a push only once the add of its job has answered', async () => {
    t = await createTestRedis();
    const conn = await t.connect();
    const queue = createBullmqQueue({ connection: conn, prefix: t.prefix, lingerMs: 100 });
    closers.push(() => queue.close());
    const inspect = openEventsQueue(t.client, t.prefix);
    closers.push(() => inspect.close());
    closers.push(async () => (conn.stream as Socket).resume()); // runs first if an expect failed
    await queue.depth(); // the queue's connection is set up

    let resolved = false;
    const pushed = queue.push(eventsBatch(0, 3, 'p')).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(false); // still lingering: no job yet
    expect(await inspect.getJobCountByTypes('waiting')).toBe(0);

    // Hold back the add's reply: the job reaches Redis, but the push must not resolve before
    // the producer has heard so (the SDK ack follows the push).
    (conn.stream as Socket).pause();
    const deadline = Date.now() + 5000;
    while ((await inspect.getJobCountByTypes('waiting')) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await inspect.getJobCountByTypes('waiting')).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(false);
    (conn.stream as Socket).resume();
    await pushed;
    expect((await inspect.getWaiting()).map((j) => j.data.rows)).toEqual([3]);
  });

  it('rejects every push of a job whose add failed (nothing acknowledged)', async () => {
    t = await createTestRedis();
    const conn = await t.connect();
    const queue = createBullmqQueue({ connection: conn, prefix: t.prefix, lingerMs: 5 });
    closers.push(() => queue.close().catch(() => {}));
    await queue.depth(); // connection in use by the queue
    conn.disconnect();
    const results = await Promise.allSettled([queue.push(eventsBatch(0, 2, 'p')), queue.push(eventsBatch(2, 2, 'p'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const inspect = openEventsQueue(t.client, t.prefix);
    closers.push(() => inspect.close());
    expect(await inspect.getJobCountByTypes('waiting')).toBe(0);
  });

  it('end to end: N pushed events become N stored rows, in few large inserts', async () => {
    t = await createTestRedis();
    const writer = createWriter(ch);
    let inserts = 0;
    const counting: ChunkWriter = {
      writeChunk(chunk, token) {
        inserts++;
        return writer.writeChunk(chunk, token);
      },
    };
    const flush = createEventsFlushWorker({
      connection: await t.connect(),
      prefix: t.prefix,
      writer: counting,
      maxRows: 5000,
      maxWaitMs: 300,
      concurrency: 300,
    });
    closers.push(() => flush.close());
    const queue = createBullmqQueue({ connection: t.client, prefix: t.prefix, maxJobRows: 100, lingerMs: 10 });
    closers.push(() => queue.close());

    const N = 20_000;
    let jobs = 0;
    flush.worker.on('completed', () => jobs++);
    await Promise.all(Array.from({ length: N / 10 }, (_, i) => queue.push(eventsBatch(i * 10, 10, 'p_e2e'))));
    const deadline = Date.now() + 60_000;
    while ((await queue.depth()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

    expect(await countEvents('p_e2e')).toEqual({ rows: N, distinct: N });
    expect(jobs).toBeGreaterThanOrEqual(N / 100);
    expect(inserts).toBeGreaterThan(0);
    expect(inserts * 10).toBeLessThanOrEqual(jobs);
  });
});
