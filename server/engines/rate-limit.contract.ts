/**
 * The rate-limit contract: both implementations must pass it. Peers play other nodes (for
 * Redis, each with its own connection) and must share one budget per limiter name.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, sleep } from './harness.ts';
import type { RateLimitRule, RateLimits } from './rate-limit.ts';

const rule: RateLimitRule = { name: 'api', points: 3, durationMs: 1000 };

export function describeRateLimits(name: string, make: () => Promise<Harness<RateLimits>>) {
  describe(`RateLimits contract: ${name}`, () => {
    let h: Harness<RateLimits>;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(() => h.cleanup());

    it('allows up to the budget, then denies with a retry time within the window', async () => {
      const rl = h.store.limiter(rule);
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await rl.consume('client-1'));
      expect(results.map((r) => [r.allowed, r.remaining])).toEqual([
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ]);
      expect(results.slice(0, 3).every((r) => r.retryAfterMs === 0)).toBe(true);
      expect(results[3]!.retryAfterMs).toBeGreaterThan(0);
      expect(results[3]!.retryAfterMs).toBeLessThanOrEqual(1000);
    });

    it('keeps keys and limiter names apart', async () => {
      const rl = h.store.limiter(rule);
      const other = h.store.limiter({ ...rule, name: 'login' });
      await rl.consume('a', 3);
      expect((await rl.consume('a')).allowed).toBe(false);
      expect(await rl.consume('b')).toMatchObject({ allowed: true, remaining: 2 });
      expect(await other.consume('a')).toMatchObject({ allowed: true, remaining: 2 });
    });

    it('takes several points at once and refuses more than the budget', async () => {
      const rl = h.store.limiter(rule);
      expect(await rl.consume('k', 2)).toMatchObject({ allowed: true, remaining: 1 });
      expect((await rl.consume('k', 2)).allowed).toBe(false);
      expect((await rl.consume('fresh', 4)).allowed).toBe(false);
      await expect(rl.consume('k', 0)).rejects.toThrow(RangeError);
      await expect(rl.consume('k', 1.5)).rejects.toThrow(RangeError);
    });

    it('rejects rules the Redis store cannot honour, and a name reused with another rule', () => {
      expect(() => h.store.limiter({ name: 'x', points: 1, durationMs: 1500 })).toThrow(RangeError);
      expect(() => h.store.limiter({ name: 'x', points: 0, durationMs: 1000 })).toThrow(RangeError);
      h.store.limiter(rule);
      expect(() => h.store.limiter({ ...rule, points: 99 })).toThrow(RangeError);
    });

    it('shares one budget across nodes', async () => {
      const peers = await h.peers(5);
      const results = await Promise.all(peers.map((p) => p.limiter(rule).consume('shared')));
      expect(results.filter((r) => r.allowed)).toHaveLength(3);
    });

    it('gives the budget back when the window ends, or on reset', async () => {
      const rl = h.store.limiter(rule);
      await rl.consume('w', 3);
      await rl.consume('r', 3);
      expect((await rl.consume('w')).allowed).toBe(false);
      await rl.reset('r');
      expect(await rl.consume('r')).toMatchObject({ allowed: true, remaining: 2 });
      await sleep(1150);
      expect(await rl.consume('w')).toMatchObject({ allowed: true, remaining: 2 });
    });
  });
}
