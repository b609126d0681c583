/**
 * The Cache contract: both implementations must pass it. Peers play other nodes (for Redis,
 * each with its own connection).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from './cache.ts';
import { type Harness, sleep } from './harness.ts';

const MINUTE = 60_000;

export function describeCache(name: string, make: () => Promise<Harness<Cache>>) {
  describe(`Cache contract: ${name}`, () => {
    let h: Harness<Cache>;
    let cache: Cache;
    beforeEach(async () => {
      h = await make();
      cache = h.store;
    });
    afterEach(() => h.cleanup());

    it('returns a JSON copy of what was stored, and undefined for absent keys', async () => {
      const value = { id: 'p1', origins: ['https://a.test'], at: new Date(0), gone: undefined, n: 1.5, ok: null };
      await cache.set('project:p1', value, MINUTE);
      const got = await cache.get<Record<string, unknown>>('project:p1');
      expect(got).toEqual({ id: 'p1', origins: ['https://a.test'], at: '1970-01-01T00:00:00.000Z', n: 1.5, ok: null });
      expect(got).not.toBe(value);
      value.origins.push('https://b.test');
      expect((await cache.get<typeof value>('project:p1'))?.origins).toEqual(['https://a.test']);
      expect(await cache.get('missing')).toBeUndefined();
    });

    it('stores falsy values as values', async () => {
      await cache.set('zero', 0, MINUTE);
      await cache.set('empty', '', MINUTE);
      await cache.set('no', false, MINUTE);
      await cache.set('nil', null, MINUTE);
      expect([await cache.get('zero'), await cache.get('empty'), await cache.get('no'), await cache.get('nil')]).toEqual([0, '', false, null]);
    });

    it('replaces on set and forgets on delete', async () => {
      await cache.set('k', 1, MINUTE);
      await cache.set('k', 2, MINUTE);
      expect(await cache.get('k')).toBe(2);
      await cache.delete('k');
      await cache.delete('never-set');
      expect(await cache.get('k')).toBeUndefined();
    });

    it('expires entries after their TTL', async () => {
      await cache.set('short', 'x', 80);
      await cache.set('long', 'y', MINUTE);
      expect(await cache.get('short')).toBe('x');
      await sleep(200);
      expect(await cache.get('short')).toBeUndefined();
      expect(await cache.get('long')).toBe('y');
    });

    it('refuses values JSON cannot carry', async () => {
      await expect(cache.set('u', undefined, MINUTE)).rejects.toThrow(TypeError);
      expect(await cache.get('u')).toBeUndefined();
    });

    it('is shared by every node', async () => {
      const [a, b] = await h.peers(2);
      await a!.set('shared', { v: 1 }, MINUTE);
      expect(await b!.get('shared')).toEqual({ v: 1 });
      await b!.delete('shared');
      expect(await a!.get('shared')).toBeUndefined();
    });
  });
}
