// The BullMQ queue confirms the dedupe ids of a push in the MULTI that adds its job (shared
// Redis, own prefix). Guards against the loss found by tests/cluster/multi-node.int.test.ts:
// an ingest node killed between claiming ids and queueing their job left them looking
// accepted, so the SDK's resend to another node was acknowledged as a duplicate and the
// events were never stored.
import { afterEach, describe, expect, it } from 'vitest';
import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { createTestRedis, type TestRedis } from '../../tests/support/redis.ts';
import { makeEvent } from '../store/clickhouse.fixtures.ts';
import { createRedisDedupe, dedupeKey } from './dedupe.redis.ts';
import { createBullmqQueue, openEventsQueue } from './queue.bullmq.ts';

const HOUR = 3_600_000;
let t: TestRedis;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await t?.cleanup();
});

function eventsBatch(from: number, n: number): WriteBatch {
  const b = emptyBatch();
  for (let i = from; i < from + n; i++) b.events.push(makeEvent(i, { project_id: 'p' }));
  return b;
}

describe('createBullmqQueue: dedupe confirmation', () => {
  it('confirms the ids of every push merged into a job, with the job, for their TTL', async () => {
    t = await createTestRedis();
    const dedupe = createRedisDedupe({ redis: t.client, prefix: t.prefix });
    const queue = createBullmqQueue({ connection: t.client, prefix: t.prefix, lingerMs: 30 });
    closers.push(() => queue.close());
    expect(queue.confirmsDedupe).toBe(true);
    expect(await dedupe.claim(['a', 'b', 'c'], 5000)).toEqual([true, true, true]);
    await Promise.all([queue.push(eventsBatch(0, 2), { ids: ['a', 'b'], ttlMs: HOUR }), queue.push(eventsBatch(2, 1), { ids: ['c'], ttlMs: HOUR })]);
    const inspect = openEventsQueue(t.client, t.prefix);
    closers.push(() => inspect.close());
    expect((await inspect.getWaiting()).map((j) => j.data.rows)).toEqual([3]); // one job for both pushes
    expect(await dedupe.confirmed(['a', 'b', 'c'])).toEqual([true, true, true]);
    // The confirmation outlives the claim's lease: it carries the dedupe TTL.
    expect(await t.client.pttl(dedupeKey(t.prefix, 'a'))).toBeGreaterThan(HOUR - 60_000);
    // A failed caller's release cannot undo it: the events are queued.
    await dedupe.release(['a']);
    expect(await dedupe.confirmed(['a'])).toEqual([true]);
  });

  it('confirms nothing for a push whose job was not queued; the claims can be released', async () => {
    t = await createTestRedis();
    const dedupe = createRedisDedupe({ redis: t.client, prefix: t.prefix });
    const conn = await t.connect();
    const queue = createBullmqQueue({ connection: conn, prefix: t.prefix, lingerMs: 5 });
    closers.push(() => queue.close().catch(() => {}));
    await queue.depth(); // the queue's connection is set up
    expect(await dedupe.claim(['x'], 5000)).toEqual([true]);
    conn.disconnect();
    await expect(queue.push(eventsBatch(0, 1), { ids: ['x'], ttlMs: HOUR })).rejects.toThrow();
    expect(await dedupe.confirmed(['x'])).toEqual([false]);
    await dedupe.release(['x']);
    expect(await dedupe.claim(['x'], 5000)).toEqual([true]);
  });
});
