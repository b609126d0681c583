/**
 * ExpiryHeap against a reference (a Map of item → score, its minimum found by scanning) over
 * random adds, re-scores, deletes and pops. Guards the positions the heap writes into its
 * items: one left stale after a swap or a delete makes a later move or delete corrupt the heap
 * (a session claimed out of expiry order, or never).
 */
import { describe, expect, it } from 'vitest';
import { ExpiryHeap } from './expiry-heap.ts';

describe('ExpiryHeap', () => {
  it('pops in score order and keeps every item at the position it records', () => {
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const items = Array.from({ length: 500 }, (_, i) => ({ key: i, heapIndex: -1 }));
    const heap = new ExpiryHeap<(typeof items)[number]>();
    const ref = new Map<number, number>();
    const refMin = () => Math.min(...ref.values());
    for (let i = 0; i < 20_000; i++) {
      const op = rand(10);
      const it = items[rand(items.length)]!;
      if (op < 5) {
        const score = rand(100_000);
        heap.set(it, score);
        ref.set(it.key, score);
      } else if (op < 7) {
        heap.delete(it);
        ref.delete(it.key);
        expect(it.heapIndex).toBe(-1);
      } else {
        const max = rand(100_000);
        const popped = heap.popAtMost(max);
        if (ref.size === 0 || refMin() > max) {
          expect(popped).toBeUndefined();
        } else {
          // Ties may pop either item: the popped one must hold the minimum score.
          expect(ref.get(popped!.key)).toBe(refMin());
          ref.delete(popped!.key);
          expect(popped!.heapIndex).toBe(-1);
        }
      }
      expect(heap.size).toBe(ref.size);
      expect(heap.minScore()).toBe(ref.size ? refMin() : undefined);
      if (i % 1000 === 0) for (const x of items) expect(x.heapIndex >= 0).toBe(ref.has(x.key));
    }
  });
});
