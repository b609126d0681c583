import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TrackBody } from '../../shared/track.ts';
import { ClientFrame } from '../../shared/ws-protocol.ts';
import { fastClientFrame, fastTrackBody } from './edge-parse.ts';

/** Deterministic pseudo-random numbers (mulberry32), so a failure replays. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values of the kinds JSON.parse makes, including the awkward ones (overflowed numbers, lone surrogates, `__proto__`). */
function anyValue(r: () => number, depth = 0): unknown {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const k = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (k) {
    case 0:
      return pick(['', ' ', 'x', '  page  ', 'a'.repeat(200), ` ${'a'.repeat(200)} `, 'a'.repeat(201), 'b'.repeat(256), 'b'.repeat(257), '\ud800', 'café']);
    case 1:
      return pick([0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e308, JSON.parse('1e999'), JSON.parse('-1e999')]);
    case 2:
      return pick([true, false]);
    case 3:
      return null;
    case 4:
      return undefined;
    case 5:
      return pick(['track', 'identify', 'batch', 'heartbeat', 'nope']);
    case 6:
      return Array.from({ length: pick([0, 1, 3, 50, 51, 500, 501]) }, () => (r() < 0.9 ? pick(['g', '', 'h'.repeat(257)]) : anyValue(r, depth + 1)));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[pick(['a', 'b', '__path', 'constructor', 'toString'])] = anyValue(r, depth + 1);
      if (r() < 0.1) return JSON.parse(`{"__proto__":${JSON.stringify(anyValue(r, depth + 1) ?? null)},"x":1}`);
      return o;
    }
  }
}

/** Track-shaped bodies, each field sometimes valid and sometimes not. */
function trackish(r: () => number): unknown {
  const maybe = (p: number, f: () => unknown) => (r() < p ? f() : undefined);
  const payload: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined || r() < 0.05) payload[k] = v;
  };
  set('name', r() < 0.7 ? ['page_view', ' click ', 'x'][Math.floor(r() * 3)] : anyValue(r));
  set(
    'profileId',
    maybe(0.3, () => (r() < 0.5 ? ['u1', '', 'p'.repeat(256), 'p'.repeat(257), 42, 1.5][Math.floor(r() * 6)] : anyValue(r))),
  );
  set(
    'groups',
    maybe(0.2, () => (r() < 0.5 ? ['a', 'b'] : anyValue(r))),
  );
  set(
    'properties',
    maybe(0.6, () => (r() < 0.6 ? { __path: 'https://x.example/a', n: 1, nested: { a: [1, 'b'] } } : anyValue(r))),
  );
  if (r() < 0.2) payload.extra = anyValue(r);
  const body: Record<string, unknown> = { type: r() < 0.9 ? 'track' : anyValue(r), payload: r() < 0.95 ? payload : anyValue(r) };
  if (r() < 0.3) body.id = 'evt-1';
  // Through JSON, as the transports receive it (undefined fields vanish, -0 becomes 0).
  return JSON.parse(JSON.stringify(body) ?? 'null');
}

describe('fastTrackBody', () => {
  it('answers what TrackBody.safeParse answers, or leaves the body to it', () => {
    const r = rng(11);
    let fast = 0;
    for (let i = 0; i < 8_000; i++) {
      const body = i % 3 === 0 ? anyValue(r) : trackish(r);
      const mine = fastTrackBody(body);
      const zod = TrackBody.safeParse(body);
      if (mine === undefined) continue;
      fast++;
      // What the fast path accepts, zod accepts, with the same value.
      if (!zod.success || !isDeepStrictEqual(mine, zod.data)) expect({ body, mine }).toEqual({ body, mine: zod.data });
    }
    // Most valid track bodies take the fast path (else it buys nothing).
    expect(fast).toBeGreaterThan(1_500);
  });

  it('takes the common SDK bodies: trimmed name, numeric profile id as text, extra keys left out', () => {
    const body = JSON.parse('{"id":"e1","type":"track","payload":{"name":" signup ","profileId":7,"groups":["g"],"properties":{"__path":"/a"},"x":1}}');
    expect(fastTrackBody(body)).toEqual({ type: 'track', payload: { name: 'signup', profileId: '7', groups: ['g'], properties: { __path: '/a' } } });
    expect(fastTrackBody(body)).toEqual(TrackBody.parse(body));
  });

  it('leaves to zod what zod alone decides: other types, invalid values, a __proto__ property', () => {
    for (const text of [
      '{"type":"identify","payload":{"profileId":"u"}}',
      '{"type":"track","payload":{"name":"   "}}',
      '{"type":"track","payload":{"name":"a","profileId":1e999}}',
      '{"type":"track","payload":{"name":"a","properties":[1]}}',
      '{"type":"track","payload":{"name":"a","properties":null}}',
      '{"type":"track","payload":{"name":"a","groups":[1]}}',
      '{"type":"track","payload":{"name":"a","properties":{"__proto__":{"polluted":1}}}}',
    ]) {
      expect(fastTrackBody(JSON.parse(text)), text).toBeUndefined();
    }
    // zod drops the __proto__ key; the event is still accepted through it.
    const proto = TrackBody.parse(JSON.parse('{"type":"track","payload":{"name":"a","properties":{"__proto__":{"polluted":1},"b":2}}}'));
    expect(proto.type === 'track' && Object.keys(proto.payload.properties ?? {})).toEqual(['b']);
  });
});

describe('fastClientFrame', () => {
  it('answers what ClientFrame.safeParse answers, or leaves the frame to it', () => {
    const r = rng(5);
    let fast = 0;
    for (let i = 0; i < 8_000; i++) {
      const frame: unknown =
        r() < 0.7
          ? JSON.parse(
              JSON.stringify({
                type: r() < 0.8 ? 'batch' : anyValue(r),
                seq: r() < 0.7 ? Math.floor(r() * 1000) : anyValue(r),
                events: r() < 0.7 ? [{}, 1] : anyValue(r),
                ...(r() < 0.2 ? { extra: 1 } : {}),
              }) ?? 'null',
            )
          : r() < 0.5
            ? { type: 'heartbeat', ...(r() < 0.5 ? { x: 1 } : {}) }
            : anyValue(r);
      const mine = fastClientFrame(frame);
      if (mine === undefined) continue;
      fast++;
      const zod = ClientFrame.safeParse(frame);
      if (!zod.success || !isDeepStrictEqual(mine, zod.data)) expect({ frame, mine }).toEqual({ frame, mine: zod.data });
    }
    expect(fast).toBeGreaterThan(2_000);
  });

  it('refuses what the protocol refuses: no events, too many, a negative or fractional seq, an unsafe seq', () => {
    const events = (n: number) => Array.from({ length: n }, () => ({}));
    for (const f of [
      { type: 'batch', seq: 1, events: [] },
      { type: 'batch', seq: 1, events: events(501) },
      { type: 'batch', seq: -1, events: events(1) },
      { type: 'batch', seq: 1.5, events: events(1) },
      { type: 'batch', seq: 2 ** 53, events: events(1) },
      { type: 'batch', seq: '1', events: events(1) },
    ]) {
      expect(fastClientFrame(f)).toBeUndefined();
      expect(ClientFrame.safeParse(f).success).toBe(false);
    }
    expect(fastClientFrame({ type: 'batch', seq: 0, events: events(500) })).toMatchObject({ seq: 0 });
  });
});
