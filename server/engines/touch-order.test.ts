/**
 * TouchOrder against a reference (a Map re-inserted on touch, oldest = its first key) over
 * random touches, deletes and evictions, across many queue rebuilds. Items are reused after a
 * delete, as the reference's keys are: a stale queue entry of a deleted and touched-again item
 * must not answer for it.
 */
import { describe, expect, it } from 'vitest';
import { TouchOrder } from './touch-order.ts';

const item = (name: string) => ({ name, touchSeq: 0 });

describe('TouchOrder', () => {
  it('answers the least recently touched item still held', () => {
    const o = new TouchOrder<ReturnType<typeof item>>();
    const [a, b, c] = [item('a'), item('b'), item('c')];
    expect(o.oldest()).toBeUndefined();
    o.touch(a);
    o.touch(b);
    o.touch(c);
    o.touch(a);
    expect(o.oldest()).toBe(b);
    o.delete(b);
    o.delete(b); // twice: the size must not go down again
    expect(o.oldest()).toBe(c);
    expect(o.size).toBe(2);
    o.delete(c);
    o.delete(a);
    expect(o.oldest()).toBeUndefined();
    expect(o.size).toBe(0);
    o.touch(b); // back after a delete: held again, once
    expect(o.oldest()).toBe(b);
    expect(o.size).toBe(1);
  });

  it('agrees with a re-inserted Map over random operations and rebuilds', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const items = Array.from({ length: 3000 }, (_, i) => ({ key: i, touchSeq: 0 }));
    const o = new TouchOrder<(typeof items)[number]>();
    const ref = new Map<number, true>();
    for (let i = 0; i < 200_000; i++) {
      const op = rand(10);
      const key = rand(3000);
      if (op < 6) {
        o.touch(items[key]!);
        ref.delete(key);
        ref.set(key, true);
      } else if (op < 8) {
        o.delete(items[key]!);
        ref.delete(key);
      } else {
        const oldest = ref.keys().next().value;
        expect(o.oldest()?.key).toBe(oldest);
        if (oldest !== undefined) {
          o.delete(items[oldest]!);
          ref.delete(oldest);
        }
      }
      expect(o.size).toBe(ref.size);
    }
  });
});
