// Revocation between two "nodes" over the Redis bus (each node its own connections).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RevocationChannels } from '../../shared/revocation.ts';
import { createTestRedis, type TestRedis } from '../../tests/support/redis.ts';
import { createRedisBus } from '../engines/bus.redis.ts';
import { silentLogger } from '../log.ts';
import { createRevocation } from './revocation.ts';

let redis: TestRedis;
beforeEach(async () => {
  redis = await createTestRedis();
});
afterEach(() => redis.cleanup());

describe('revocation over Redis', () => {
  it('reaches the other node: it forgets and closes what relied on the credential', async () => {
    const busA = createRedisBus<RevocationChannels>({ redis: await redis.connect(), prefix: redis.prefix });
    const busB = createRedisBus<RevocationChannels>({ redis: await redis.connect(), prefix: redis.prefix });
    const a = await createRevocation({ bus: busA, log: silentLogger, sweepMs: 0 });
    const b = await createRevocation({ bus: busB, log: silentLogger, sweepMs: 0 });
    const events: string[] = [];
    b.onRevoked('client', (id) => events.push(`forget ${id}`));
    b.hold([{ kind: 'client', id: 'c1' }], () => events.push('close c1'));
    b.hold([{ kind: 'client', id: 'c2' }], () => events.push('close c2'));
    await a.revoke({ kind: 'client', id: 'c1' });
    for (let i = 0; i < 400 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(events).toEqual(['forget c1', 'close c1']);
    await Promise.all([a.close(), b.close(), busA.close(), busB.close()]);
  });
});
