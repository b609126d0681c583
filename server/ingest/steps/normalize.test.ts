import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.ts';
import { newDraft } from '../draft.ts';
import type { Draft } from '../types.ts';
import { flattenProperties, normalizeStep, PROPERTY_LIMITS, parseTimestamp, truncateUtf8 } from './normalize.ts';

const RECEIVED = Date.UTC(2025, 0, 15, 12, 0, 0);

function draft(properties: Record<string, unknown>, viaSecret = false): Draft {
  return newDraft(
    { projectId: 'p1', clientId: 'c1', clientType: 'write', viaSecret },
    { ip: '198.51.100.7', userAgent: 'node/1.0', origin: '', sdkName: 'node', sdkVersion: '1.3.1', receivedAt: RECEIVED },
    { type: 'track', payload: { name: 'purchase', properties } },
  );
}
const run = (d: Draft) => normalizeStep.run(d) as Draft;

function appError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('normalize: magic properties', () => {
  it('moves page facts to the row and removes every magic key from the properties', () => {
    const props = {
      __path: 'https://example.com/pricing?utm_source=x',
      __title: 'Pricing',
      __referrer: 'https://www.google.com/',
      __revenue: 1999,
      __timestamp: '2025-01-15T11:59:00.000Z',
      currency: 'USD',
    };
    const d = run(draft(props));
    expect(d.row).toMatchObject({ path: 'https://example.com/pricing?utm_source=x', title: 'Pricing', referrer: 'https://www.google.com/', revenue: 1999 });
    expect(d.at).toBe(Date.UTC(2025, 0, 15, 11, 59));
    expect(d.properties).toEqual({ currency: 'USD' });
    expect(d.row.properties).toEqual({ currency: 'USD' });
    expect(props).toHaveProperty('__path'); // the validated body is not edited in place
  });

  it('ignores an invalid __timestamp and a negative, fractional or string __revenue', () => {
    for (const bad of [-1, 12.5, '1999', Number.NaN]) expect(run(draft({ __revenue: bad })).row.revenue).toBe(0);
    expect(run(draft({ __timestamp: 'yesterday-ish' })).at).toBe(RECEIVED);
    expect(run(draft({ __timestamp: { t: 1 } })).at).toBe(RECEIVED);
  });

  it('reads zone-less ISO times as UTC and accepts epoch milliseconds', () => {
    expect(parseTimestamp('2025-01-15T10:00:00')).toBe(Date.UTC(2025, 0, 15, 10));
    expect(parseTimestamp('2025-01-15 10:00:00.250')).toBe(Date.UTC(2025, 0, 15, 10, 0, 0, 250));
    expect(parseTimestamp('2025-01-15T10:00:00+02:00')).toBe(Date.UTC(2025, 0, 15, 8));
    expect(parseTimestamp(1_736_935_200_000)).toBe(1_736_935_200_000);
    expect(parseTimestamp(-5)).toBeUndefined();
  });

  it('applies __ip and __userAgent only for a caller that proved its secret', () => {
    const props = { __ip: '8.8.8.8', __userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X)' };
    const browser = run(draft(props, false));
    expect(browser.ip).toBe('198.51.100.7');
    expect(browser.userAgent).toBe('node/1.0');
    expect(browser.row.properties).toEqual({}); // and the raw IP is never stored as a property
    const server = run(draft(props, true));
    expect(server.ip).toBe('8.8.8.8');
    expect(server.userAgent).toBe(props.__userAgent);
    expect(run(draft({ __ip: 'not-an-ip' }, true)).ip).toBe('198.51.100.7');
  });

  it('takes an SDK device id of at most 64 characters', () => {
    expect(run(draft({ __deviceId: 'dev-123' })).sdkDeviceId).toBe('dev-123');
    expect(run(draft({ __deviceId: 'x'.repeat(64) })).sdkDeviceId).toHaveLength(64);
    expect(run(draft({ __deviceId: 'x'.repeat(65) })).sdkDeviceId).toBeUndefined();
    expect(run(draft({ __deviceId: 12 })).sdkDeviceId).toBeUndefined();
  });

  it('copies a numeric duration to row.duration and keeps it as a property', () => {
    expect(run(draft({ duration: 1534.6 })).row.duration).toBe(1535);
    expect(run(draft({ duration: '250' })).row.duration).toBe(250);
    expect(run(draft({ duration: 'long' })).row.duration).toBe(0);
    expect(run(draft({ duration: -3 })).row.duration).toBe(0);
    expect(run(draft({ duration: 90 })).row.properties).toEqual({ duration: '90' });
  });
});

describe('normalize: flattening', () => {
  it('flattens nested objects and arrays to dotted keys with string values', () => {
    expect(flattenProperties({ a: { b: [1, 2] }, ok: true, no: false, n: 0, s: 'x', skip: null, gone: undefined, empty: {}, none: [] })).toEqual({
      'a.b.0': '1',
      'a.b.1': '2',
      ok: 'true',
      no: 'false',
      n: '0',
      s: 'x',
    });
    expect(
      flattenProperties({
        cart: [
          { sku: 'A1', qty: 2 },
          { sku: 'B7', qty: 1 },
        ],
      }),
    ).toEqual({
      'cart.0.sku': 'A1',
      'cart.0.qty': '2',
      'cart.1.sku': 'B7',
      'cart.1.qty': '1',
    });
  });

  it('keeps a __proto__ key as data (JSON.parse makes it an own property)', () => {
    const out = flattenProperties(JSON.parse('{"__proto__":{"polluted":"yes"},"a":1}'));
    expect(Object.keys(out).sort()).toEqual(['__proto__.polluted', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const bare = flattenProperties(JSON.parse('{"__proto__":"x"}'));
    expect(Object.keys(bare)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(bare)).toBe(Object.prototype);
    expect(JSON.stringify(bare)).toBe('{"__proto__":"x"}');
  });

  it('allows 8 levels and rejects 9 with too_deep', () => {
    const nest = (levels: number): Record<string, unknown> => {
      let v: unknown = 'leaf';
      for (let i = levels; i > 0; i--) v = { [`k${i}`]: v };
      return v as Record<string, unknown>;
    };
    expect(flattenProperties(nest(8))).toEqual({ 'k1.k2.k3.k4.k5.k6.k7.k8': 'leaf' });
    const err = appError(() => run(draft(nest(9))));
    expect(err.status).toBe(400);
    expect(err.code).toBe('too_deep');
  });

  it('allows 500 flattened keys and rejects 501 with too_many_properties', () => {
    const many = (n: number) => ({ list: Array.from({ length: n }, (_, i) => i) });
    expect(Object.keys(flattenProperties(many(PROPERTY_LIMITS.maxKeys)))).toHaveLength(500);
    const err = appError(() => run(draft(many(501))));
    expect(err.code).toBe('too_many_properties');
    expect(err.status).toBe(400);
  });

  it('rejects a flattened key longer than 200 characters', () => {
    expect(Object.keys(flattenProperties({ ['k'.repeat(200)]: 1 }))).toHaveLength(1);
    const err = appError(() => flattenProperties({ a: { ['k'.repeat(199)]: 1 } }));
    expect(err.code).toBe('invalid_event');
  });

  it('checks the same limits on flat properties (no nested values, the one-loop path)', () => {
    const flat = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(flattenProperties(flat(500)))).toHaveLength(500);
    expect(appError(() => flattenProperties(flat(501))).code).toBe('too_many_properties');
    // null and undefined values are skipped before they count
    expect(Object.keys(flattenProperties({ ...flat(500), n: null, u: undefined }))).toHaveLength(500);
    expect(appError(() => flattenProperties({ a: 1, ['k'.repeat(201)]: 1 })).code).toBe('invalid_event');
    // a flat object with one nested value at the end takes the walk and answers as it does
    expect(flattenProperties({ a: true, b: 'x', c: { d: [1, null] } })).toEqual({ a: 'true', b: 'x', 'c.d.0': '1' });
    expect(Object.keys(flattenProperties({ z: 1, 10: 2, a: 3, 2: 4 }))).toEqual(['2', '10', 'z', 'a']);
  });

  it('leaves the payload properties untouched with or without magic keys', () => {
    const props = { __path: 'https://x.example/a', plan: 'pro' };
    const d = run(draft(props));
    expect(props).toEqual({ __path: 'https://x.example/a', plan: 'pro' });
    expect(d.properties).toEqual({ plan: 'pro' });
    const plain = { plan: 'pro' };
    expect(run(draft(plain)).properties).toEqual({ plan: 'pro' });
  });

  it('truncates values to 8 KiB of UTF-8 without splitting a character', () => {
    const big = flattenProperties({ s: 'a'.repeat(20_000) }).s!;
    expect(big).toHaveLength(8192);
    const euro = truncateUtf8('€'.repeat(3000)); // 3 bytes each: 2730 fit in 8190 bytes
    expect(euro).toBe('€'.repeat(2730));
    expect(Buffer.byteLength(euro)).toBeLessThanOrEqual(8192);
    const emoji = truncateUtf8(`a${'😀'.repeat(2100)}`); // 1 + 4n bytes: a surrogate pair is never cut
    expect(Buffer.byteLength(emoji)).toBe(1 + 4 * 2047);
    expect(emoji.endsWith('😀')).toBe(true);
  });
});

describe('normalize: hostile properties', () => {
  const deep = (levels: number) => {
    let v: unknown = 'leaf';
    for (let i = 0; i < levels; i++) v = i % 2 ? { a: v } : [v];
    return v;
  };

  it('refuses properties nested 100k levels deep with too_deep, without overflowing the stack', () => {
    const err = appError(() => flattenProperties({ a: deep(100_000) }));
    expect(err.code).toBe('too_deep');
  });

  it('replaces lone surrogates in keys and values with U+FFFD, keeps valid pairs', () => {
    const out = flattenProperties({ 'k\ud800': 'v\udc00x', ok: 'emoji \u{1F600}', nested: { 'x\udbff': ['\ud83d'] } });
    expect(out).toEqual({ 'k\ufffd': 'v\ufffdx', ok: 'emoji \u{1F600}', 'nested.x\ufffd.0': '\ufffd' });
    for (const [k, v] of Object.entries(out)) expect(k.isWellFormed() && v.isWellFormed()).toBe(true);
  });

  it('keeps the depth-first key order of the recursive walk it replaced', () => {
    expect(Object.keys(flattenProperties({ a: { b: [1, { c: 2 }], d: 3 }, e: 4 }))).toEqual(['a.b.0', 'a.b.1.c', 'a.d', 'e']);
  });

  it('makes magic page facts well-formed too', () => {
    const d = run(draft({ __path: 'https://example.com/\ud800', __title: 'T\udfff', __referrer: '\ud800' }));
    expect([d.row.path, d.row.title, d.row.referrer]).toEqual(['https://example.com/\ufffd', 'T\ufffd', '\ufffd']);
  });
});
