/**
 * Redis for integration tests. The server at 127.0.0.1:6379 is shared with other users and
 * runs: every test gets its own random key prefix (`lptest:<hex>:`), and `cleanup()` deletes
 * exactly the keys under it (SCAN + UNLINK — never FLUSHDB, never SELECT) and closes every
 * connection it opened.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Harness } from '../../server/engines/harness.ts';

export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';

export interface TestRedis {
  client: Redis;
  /** Unique to this test; every key and channel the test makes starts with it. */
  prefix: string;
  /** Opens another connection (another "process"), closed by `cleanup()`. */
  connect(): Promise<Redis>;
  cleanup(): Promise<void>;
}

export async function createTestRedis(url = TEST_REDIS_URL): Promise<TestRedis> {
  const prefix = `lptest:${randomBytes(8).toString('hex')}:`;
  const clients: Redis[] = [];
  const connect = async () => {
    // Fail fast with a clear error when Redis is down instead of queueing commands forever.
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 3000 });
    clients.push(c);
    await c.connect();
    return c;
  };
  const client = await connect();
  return {
    client,
    prefix,
    connect,
    async cleanup() {
      await deleteKeys(client, prefix);
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

/** Deletes every key starting with `prefix`; returns how many. */
export async function deleteKeys(client: Redis, prefix: string): Promise<number> {
  if (!/^[\w:-]+$/.test(prefix)) throw new Error(`refusing to delete keys for unsafe prefix ${prefix}`);
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * A contract-test harness for a Redis engine: `make` builds one engine on a connection and the
 * test's prefix; peers each get their own connection.
 */
export async function redisHarness<T extends { close(): Promise<void> }>(make: (client: Redis, prefix: string) => T): Promise<Harness<T>> {
  const t = await createTestRedis();
  const store = make(t.client, t.prefix);
  const stores = [store];
  return {
    store,
    async peers(n) {
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(make(await t.connect(), t.prefix));
      stores.push(...out);
      return out;
    },
    async cleanup() {
      await Promise.all(stores.map((s) => s.close()));
      await t.cleanup();
    },
  };
}
