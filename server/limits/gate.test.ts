import { describe, expect, it } from 'vitest';
import { createMemoryRateLimits } from '../engines/rate-limit.memory.ts';
import { createGate, TokenBucket } from './gate.ts';

const rule = { name: 'browser-events', points: 10, seconds: 10 };

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('gate (one node)', () => {
  it('lets a key spend its budget, then refuses with the time until enough is back', () => {
    const c = clock();
    const gate = createGate({ now: c.now });
    for (let i = 0; i < 10; i++) expect(gate.take(rule, 'k').allowed).toBe(true);
    const refused = gate.take(rule, 'k');
    expect(refused).toEqual({ allowed: false, retryAfterMs: 1000 }); // one point per second comes back
    c.advance(1000);
    expect(gate.take(rule, 'k').allowed).toBe(true);
    expect(gate.take(rule, 'k').allowed).toBe(false);
  });

  it('spends a batch at once and keeps keys and limits apart', () => {
    const c = clock();
    const gate = createGate({ now: c.now });
    expect(gate.take(rule, 'a', 7).allowed).toBe(true);
    expect(gate.take(rule, 'a', 4)).toEqual({ allowed: false, retryAfterMs: 1000 });
    expect(gate.take(rule, 'a', 3).allowed).toBe(true);
    expect(gate.take(rule, 'b', 10).allowed).toBe(true);
    expect(gate.take({ ...rule, name: 'read' }, 'a', 10).allowed).toBe(true);
  });

  it('lets one request larger than the whole budget through a full bucket, then makes the key wait it off', () => {
    const c = clock();
    const gate = createGate({ now: c.now });
    expect(gate.take(rule, 'big', 25).allowed).toBe(true);
    const after = gate.take(rule, 'big', 1);
    expect(after.allowed).toBe(false);
    expect(after.allowed === false && after.retryAfterMs).toBe(16_000); // owes 15, needs 1
  });

  it('peeks without spending', () => {
    const c = clock();
    const gate = createGate({ now: c.now });
    expect(gate.peek(rule, 'p').allowed).toBe(true);
    gate.take(rule, 'p', 10);
    expect(gate.peek(rule, 'p').allowed).toBe(false);
    c.advance(1000);
    expect(gate.peek(rule, 'p').allowed).toBe(true);
    expect(gate.peek(rule, 'p').allowed).toBe(true);
  });

  it('follows a changed rule for an existing key (a project override)', () => {
    const c = clock();
    const gate = createGate({ now: c.now });
    gate.take(rule, 'o', 10);
    expect(gate.take(rule, 'o').allowed).toBe(false);
    // Raised: what was spent stays spent, the rest of the new budget is there at once.
    const raised = { ...rule, points: 1000 };
    expect(gate.take(raised, 'o', 990).allowed).toBe(true);
    expect(gate.take(raised, 'o', 1).allowed).toBe(false);
    // Lowered below what is left: the new budget caps it.
    const lowered = { ...rule, points: 5 };
    c.advance(10_000);
    expect(gate.take(lowered, 'o', 5).allowed).toBe(true);
    expect(gate.take(lowered, 'o', 1).allowed).toBe(false);
  });

  it('forgets the least recently used keys past maxKeys (bounded memory)', () => {
    const c = clock();
    const gate = createGate({ now: c.now, maxKeys: 2 });
    gate.take(rule, 'x', 10);
    gate.take(rule, 'y', 1);
    gate.take(rule, 'z', 1); // evicts x
    expect(gate.take(rule, 'x').allowed).toBe(true);
  });
});

describe('gate across nodes (shared budget)', () => {
  it('refuses a key on every node once all nodes together spent its budget', async () => {
    const shared = createMemoryRateLimits(); // one store standing for Redis, as every node sees it
    const rule100 = { name: 'browser-events', points: 100, seconds: 60 };
    const a = createGate({ shared, syncMs: 5 });
    const b = createGate({ shared, syncMs: 5 });
    for (let i = 0; i < 80; i++) expect(a.take(rule100, 'visitor').allowed).toBe(true);
    await a.close(); // reports what it spent
    // Node b alone would allow 100; once its spending is reported, the shared count (80 + …) runs out.
    let allowed = 0;
    for (let i = 0; i < 100; i++) {
      if (!b.take(rule100, 'visitor').allowed) break;
      allowed++;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(allowed).toBeLessThan(100);
    expect(b.take(rule100, 'visitor').allowed).toBe(false);
    expect(b.take(rule100, 'someone-else').allowed).toBe(true);
    await b.close();
  });

  it('reports nothing for keys that spent little (a visitor sending a few events costs no round trip)', async () => {
    let consumed = 0;
    const base = createMemoryRateLimits();
    const shared = {
      ...base,
      limiter: (r: Parameters<typeof base.limiter>[0]) => {
        const l = base.limiter(r);
        return {
          ...l,
          consume: (k: string, p?: number) => {
            consumed++;
            return l.consume(k, p);
          },
        };
      },
    };
    const gate = createGate({ shared, syncMs: 1, syncShare: 0.05 });
    const r = { name: 'browser-events', points: 1000, seconds: 10 };
    for (let v = 0; v < 50; v++) for (let i = 0; i < 3; i++) gate.take(r, `visitor-${v}`);
    gate.take(r, 'heavy', 60);
    await new Promise((res) => setTimeout(res, 20));
    await gate.close();
    expect(consumed).toBe(1);
  });

  it('keeps limiting locally when the shared store fails', async () => {
    const errors: unknown[] = [];
    const failing = {
      limiter: () => ({
        consume: () => Promise.reject(new Error('redis down')),
        reset: async () => {},
      }),
      close: async () => {},
    };
    const gate = createGate({ shared: failing, syncMs: 1, onError: (e) => errors.push(e) });
    for (let i = 0; i < 10; i++) expect(gate.take(rule, 'k').allowed).toBe(true);
    await new Promise((res) => setTimeout(res, 10));
    expect(gate.take(rule, 'k').allowed).toBe(false);
    await gate.close();
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('TokenBucket', () => {
  it('limits one holder', () => {
    const c = clock();
    const b = new TokenBucket({ points: 2, seconds: 1 }, c.now);
    expect(b.take().allowed).toBe(true);
    expect(b.take().allowed).toBe(true);
    expect(b.take()).toEqual({ allowed: false, retryAfterMs: 500 });
    c.advance(500);
    expect(b.take().allowed).toBe(true);
  });
});
