/**
 * The gain of batching, as a ratio: the same events pushed through Redis and BullMQ into
 * chDB by (a) the seed's design — one job per event, one insert per job — and (b) Livepanel's
 * path — jobs of many rows, large inserts with deduplication tokens. Pushes are one event each,
 * 200 at a time, as ingest requests would make them; timed until every event is stored.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createBullmqQueue } from '../server/engines/queue.bullmq.ts';
import type { EventQueue } from '../server/engines/queue.ts';
import { countEvents } from '../server/stats/events.ts';
import { makeEvent } from '../server/store/clickhouse.fixtures.ts';
import { migrateClickhouse } from '../server/store/clickhouse.migrate.ts';
import { createClickhouse } from '../server/store/clickhouse.ts';
import { createWriter } from '../server/store/writer.ts';
import { createEventsFlushWorker } from '../server/workers/events.flush.ts';
import { emptyBatch } from '../shared/rows.ts';
import { createPerEventQueue, createPerEventWorker } from './per-event.ts';

async function pushAndStore(queue: EventQueue, n: number, stored: () => Promise<number>, projectId: string, limitMs: number) {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (next < n) {
        const b = emptyBatch();
        b.events.push(makeEvent(next++, { project_id: projectId, id: randomUUID() }));
        await queue.push(b);
      }
    }),
  );
  const queuedSeconds = (performance.now() - t0) / 1000;
  let count = 0;
  while (performance.now() - t0 < limitMs) {
    count = await stored();
    if (count >= n) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    events: n,
    stored: count,
    queuedPerSecond: Math.round(n / queuedSeconds),
    seconds: Math.round(seconds * 10) / 10,
    storedPerSecond: Math.round(count / seconds),
  };
}

export async function runBaseline(o: { redisUrl: string; prefix: string; events: number }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-base-'));
  const ch = await createClickhouse({ kind: 'chdb', dir, database: 'livepanel' });
  await migrateClickhouse(ch, 'livepanel');
  const writer = createWriter(ch);
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  try {
    const p1 = `${o.prefix}per-event:`;
    const q1 = createPerEventQueue({ connection: redis, prefix: p1 });
    const w1 = createPerEventWorker({ connection: redis, prefix: p1, writer });
    const perEvent = await pushAndStore(q1, o.events, () => countEvents(ch, { projectId: 'per-event' }), 'per-event', 180_000);
    await q1.close();
    await w1.close();

    const p2 = `${o.prefix}batched:`;
    const q2 = createBullmqQueue({ connection: redis, prefix: p2 });
    const w2 = createEventsFlushWorker({ connection: redis, prefix: p2, writer });
    const batched = await pushAndStore(q2, o.events * 10, () => countEvents(ch, { projectId: 'batched' }), 'batched', 180_000);
    await q2.close();
    await w2.close();
    return { perEvent, batched, ratio: Math.round((batched.storedPerSecond / Math.max(1, perEvent.storedPerSecond)) * 10) / 10 };
  } finally {
    await deletePrefix(redis, o.prefix);
    redis.disconnect();
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function deletePrefix(redis: Redis, prefix: string) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}
