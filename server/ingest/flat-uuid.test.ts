/**
 * Guards the heap an open session's id costs: `randomUUID()` unflattened is a tree of cons
 * strings ≈ 490 B each, ≈ 44 MB over the embedded store's 100,000 open sessions of a project.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { flatUuid } from './flat-uuid.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const heapPerId = (make: () => string) => {
  const ids: string[] = new Array(20_000);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < ids.length; i++) ids[i] = make();
  gc();
  return (process.memoryUsage().heapUsed - before) / ids.length;
};

describe('flatUuid', () => {
  it('answers random v4 UUIDs', () => {
    const ids = new Set(Array.from({ length: 1000 }, flatUuid));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('holds each id in a fraction of the heap randomUUID() holds it in', () => {
    // Twice, so the second pass runs optimised code (a dropped read would show there).
    for (let pass = 0; pass < 2; pass++) {
      expect(heapPerId(flatUuid)).toBeLessThan(150);
    }
  });
});
