// Revocation over a bus: the memory bus here (one process), the Redis bus between two "nodes"
// (each its own connection) in revocation.redis.int.test.ts; real processes in tests/cluster.
import { describe, expect, it } from 'vitest';
import type { RevocationChannels } from '../../shared/revocation.ts';
import { createMemoryBus } from '../engines/bus.memory.ts';
import { silentLogger } from '../log.ts';
import { createRevocation } from './revocation.ts';

const until = async (fn: () => boolean) => {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(fn()).toBe(true);
};

describe('revocation', () => {
  it('forgets and closes what relied on a revoked credential, once, and nothing else', async () => {
    const rv = await createRevocation({ bus: createMemoryBus<RevocationChannels>(), log: silentLogger, sweepMs: 0 });
    const forgotten: string[] = [];
    rv.onRevoked('client', (id) => forgotten.push(id));
    const closed: string[] = [];
    rv.hold([{ kind: 'client', id: 'c1' }], (r) => closed.push(`a:${r.kind}:${r.id}`));
    rv.hold([{ kind: 'client', id: 'c1' }], () => closed.push('b'));
    rv.hold([{ kind: 'client', id: 'c2' }], () => closed.push('other'));
    const released = rv.hold([{ kind: 'client', id: 'c1' }], () => closed.push('gone already'));
    released();
    expect(rv.held()).toBe(3);

    await rv.revoke({ kind: 'client', id: 'c1' });
    await until(() => closed.length === 2);
    expect(closed.sort()).toEqual(['a:client:c1', 'b']);
    expect(forgotten).toEqual(['c1']);
    expect(rv.held()).toBe(1);

    await rv.revoke({ kind: 'client', id: 'c1' }); // again: nothing left to close
    await until(() => forgotten.length === 2);
    expect(closed).toHaveLength(2);
    await rv.close();
  });

  it('refuses to publish a malformed revocation and ignores malformed messages', async () => {
    const bus = createMemoryBus<RevocationChannels>();
    const rv = await createRevocation({ bus, log: silentLogger, sweepMs: 0 });
    const closed: string[] = [];
    rv.hold([{ kind: 'client', id: 'c1' }], () => closed.push('x'));
    await expect(rv.revoke({ kind: 'nope' as 'client', id: 'c1' })).rejects.toThrow();
    await bus.publish('revoked', { kind: 'client' } as never);
    await bus.publish('revoked', { kind: 'client', id: 'c1' });
    await until(() => closed.length === 1);
    await rv.close();
  });

  it('sweeps: closes what a fresh check no longer accepts, when a message was missed', async () => {
    const valid = new Set(['c1', 'c2']);
    const rv = await createRevocation({
      bus: createMemoryBus<RevocationChannels>(),
      log: silentLogger,
      sweepMs: 0,
      check: { client: async (id) => valid.has(id) },
    });
    const closed: string[] = [];
    rv.hold([{ kind: 'client', id: 'c1' }], () => closed.push('c1'));
    rv.hold([{ kind: 'client', id: 'c2' }], () => closed.push('c2'));
    await rv.sweep();
    expect(closed).toEqual([]);
    valid.delete('c2'); // disabled while this node was not listening
    await rv.sweep();
    expect(closed).toEqual(['c2']);
    await rv.close();
  });
});
