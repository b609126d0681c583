// The client cache's negative entries are bounded apart from the real clients' records: a
// flood of made-up client ids (anyone can send them) must neither grow memory nor push a real
// client's record out of the cache (every request of that client would then hit the database).
import { describe, expect, it } from 'vitest';
import { type ClientRecord, createAuthenticator } from './clients.ts';

const real: ClientRecord = {
  id: '11111111-1111-4111-8111-111111111111',
  projectId: 'p1',
  type: 'write',
  secretHash: null,
  allowedOrigins: ['example.com'],
  disabled: false,
};

describe('unknown client ids', () => {
  it('are remembered in their own bounded cache; the real client stays cached', async () => {
    const lookups = new Map<string, number>();
    const auth = createAuthenticator({
      getClient: async (id) => {
        lookups.set(id, (lookups.get(id) ?? 0) + 1);
        return id === real.id ? real : null;
      },
      verifySecret: () => false,
      maxUnknownIds: 100,
    });
    await auth.forIngest({ clientId: real.id, origin: 'https://example.com' });
    for (let i = 0; i < 20_000; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      await expect(auth.forIngest({ clientId: id, origin: 'https://example.com' })).rejects.toMatchObject({ code: 'unknown_client' });
    }
    await auth.forIngest({ clientId: real.id, origin: 'https://example.com' });
    expect(lookups.get(real.id)).toBe(1);
    // A recent unknown id is answered from the cache, an old one (evicted) is looked up again.
    const recent = `00000000-0000-4000-8000-${String(19_999).padStart(12, '0')}`;
    await expect(auth.forIngest({ clientId: recent })).rejects.toMatchObject({ code: 'unknown_client' });
    expect(lookups.get(recent)).toBe(1);
  });
});
