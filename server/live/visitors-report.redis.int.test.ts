/**
 * The visitors reporter against the Redis engine (real Redis, own key prefix). Guards against
 * a node swept by another node (it missed its beats) whose first write back is a delta: the
 * delta must not bring the node back with only that device, leaving the devices it already
 * had uncounted until their sockets change. The Redis store expires nodes on Redis' clock, so
 * the TTL is short and the test waits for conditions, never for a time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '../../tests/support/redis.ts';
import { until } from '../../tests/support/until.ts';
import { createRedisVisitors } from '../engines/visitors.redis.ts';
import { createVisitorsReporter } from './visitors-report.ts';

describe('visitors reporter on Redis', () => {
  let t: TestRedis;
  beforeEach(async () => {
    t = await createTestRedis();
  });
  afterEach(() => t.cleanup());

  it('re-sends its state when its first write after being swept is a delta, not a beat', async () => {
    const store = createRedisVisitors({ redis: t.client, prefix: t.prefix, ttlMs: 300 });
    const other = createRedisVisitors({ redis: await t.connect(), prefix: t.prefix, ttlMs: 300 });
    // No beat fires during the test: this node misses them all, as a stalled one would.
    const r = createVisitorsReporter({ visitors: store, nodeId: 'n1', flushMs: 5, beatMs: 3_600_000 });
    r.sockets('p', 'a', 1);
    r.sockets('p', 'b', 1);
    await until(async () => (await store.online('p')) === 2);
    await until(async () => (await other.sweep()).includes('p')); // another node sweeps n1 once its TTL passed
    expect(await store.online('p')).toBe(0);
    r.sockets('p', 'c', 1);
    await until(async () => (await store.online('p')) > 0);
    expect(await store.online('p')).toBe(3); // a and b too, not only c
    for (const d of ['a', 'b', 'c']) r.sockets('p', d, -1);
    await until(async () => (await store.online('p')) === 0); // each counted once
    await r.close();
  });
});
