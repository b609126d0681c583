// createEngines: the Redis shape shares state between processes and leaves the caller's
// client open; the memory shape keeps each process to itself.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '../../tests/support/redis.ts';
import { createEngines } from './create.ts';
import { seedFor } from './sessions.contract.ts';

const hit = { at: 1_000, path: '/', origin: 'https://a.test', profileId: '', isScreenView: true, revenue: 0 };

describe('createEngines', () => {
  let t: TestRedis | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('with Redis: two processes see one state, and close() leaves the client usable', async () => {
    t = await createTestRedis();
    const a = createEngines({ redis: { client: t.client, prefix: t.prefix }, sessionTimeoutMs: 60_000 });
    const b = createEngines({ redis: { client: await t.connect(), prefix: t.prefix }, sessionTimeoutMs: 60_000 });
    expect([a.kind, b.kind]).toEqual(['redis', 'redis']);
    expect(await a.dedupe.claim(['e1'], 60_000)).toEqual([true]);
    expect(await b.dedupe.claim(['e1'], 60_000)).toEqual([false]);
    await a.presence.set('n1', 'p', 2);
    expect(await b.presence.count('p')).toBe(2);
    await a.cache.set('k', { v: 1 }, 60_000);
    expect(await b.cache.get('k')).toEqual({ v: 1 });
    let received: (m: unknown) => void = () => {};
    const got = new Promise((resolve) => (received = resolve));
    await b.bus.subscribe('ping', (m) => received(m));
    await a.bus.publish('ping', { n: 1 });
    expect(await got).toEqual({ n: 1 });
    await a.close();
    await b.close();
    expect(await t.client.ping()).toBe('PONG');
  });

  it('refuses a client with a keyPrefix (engine keys would be prefixed twice)', async () => {
    const client = new Redis({ lazyConnect: true, keyPrefix: 'x:' });
    expect(() => createEngines({ redis: { client, prefix: 'lp:' }, sessionTimeoutMs: 60_000 })).toThrow(/keyPrefix/);
    client.disconnect();
  });

  it('without Redis: each process has its own state', async () => {
    const a = createEngines({ sessionTimeoutMs: 60_000 });
    const b = createEngines({ sessionTimeoutMs: 60_000 });
    expect(a.kind).toBe('memory');
    await a.sessions.touch('p', 'd', hit, () => seedFor('p', 'd', hit));
    expect(await a.sessions.size()).toBe(1);
    expect(await b.sessions.size()).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });
});
