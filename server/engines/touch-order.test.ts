/**
 * TouchOrder against a reference (a Map re-inserted on touch, oldest = its first key) over
 * random touches, deletes and evictions, across many queue rebuilds.
 */
import { describe, expect, it } from 'vitest';
import { TouchOrder } from './touch-order.ts';

describe('TouchOrder', () => {
  it('answers the least recently touched key still held', () => {
    const o = new TouchOrder<string>();
    expect(o.oldest()).toBeUndefined();
    o.touch('a');
    o.touch('b');
    o.touch('c');
    o.touch('a');
    expect(o.oldest()).toBe('b');
    o.delete('b');
    expect(o.oldest()).toBe('c');
    expect(o.size).toBe(2);
    o.delete('c');
    o.delete('a');
    expect(o.oldest()).toBeUndefined();
    expect(o.size).toBe(0);
  });

  it('agrees with a re-inserted Map over random operations and rebuilds', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const o = new TouchOrder<number>();
    const ref = new Map<number, true>();
    for (let i = 0; i < 200_000; i++) {
      const op = rand(10);
      const key = rand(3000);
      if (op < 6) {
        o.touch(key);
        ref.delete(key);
        ref.set(key, true);
      } else if (op < 8) {
        o.delete(key);
        ref.delete(key);
      } else {
        const oldest = ref.keys().next().value;
        expect(o.oldest()).toBe(oldest);
        if (oldest !== undefined) {
          o.delete(oldest);
          ref.delete(oldest);
        }
      }
      expect(o.size).toBe(ref.size);
    }
  });
});
