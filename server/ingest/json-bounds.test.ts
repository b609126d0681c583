import { describe, expect, it } from 'vitest';
import { checkJson } from './json-bounds.ts';

const bounds = { maxBytes: 1000, maxDepth: 10 };

describe('checkJson: bounded, non-recursive measuring of client JSON', () => {
  it('estimates the JSON size of ordinary values from below', () => {
    const v = { type: 'track', payload: { name: 'click', properties: { a: [1, true, null, 'xyz'] } } };
    const verdict = checkJson(v, { maxBytes: 10_000, maxDepth: 10 });
    expect(verdict.ok).toBe(true);
    if (verdict.ok) {
      expect(verdict.bytes).toBeGreaterThan(40);
      expect(verdict.bytes).toBeLessThanOrEqual(Buffer.byteLength(JSON.stringify(v)) + 20);
    }
  });

  it('says too_deep for a value nested past maxDepth, even 1M levels deep', () => {
    const text = `${'['.repeat(1_000_000)}1${']'.repeat(1_000_000)}`;
    expect(checkJson(JSON.parse(text), { maxBytes: 1e9, maxDepth: 32 })).toEqual({ ok: false, code: 'too_deep' });
    expect(checkJson([[[[[[[[[[1]]]]]]]]]], bounds)).toEqual({ ok: true, bytes: expect.any(Number) });
    expect(checkJson([[[[[[[[[[[1]]]]]]]]]]], bounds)).toEqual({ ok: false, code: 'too_deep' });
  });

  it('says payload_too_large as soon as the estimate passes maxBytes (wide arrays and objects, long strings)', () => {
    expect(checkJson({ s: 'x'.repeat(2000) }, bounds)).toEqual({ ok: false, code: 'payload_too_large' });
    expect(checkJson(new Array(5000).fill(0), bounds)).toEqual({ ok: false, code: 'payload_too_large' });
    expect(checkJson(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`key${i}`, 1])), bounds)).toEqual({ ok: false, code: 'payload_too_large' });
  });
});
