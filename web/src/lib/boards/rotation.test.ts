import { describe, expect, it } from 'vitest';
import { rotation } from './rotation.ts';

describe('TV rotation from the URL', () => {
  it('starts with the board shown, then the listed ones, each every N seconds', () => {
    expect(rotation('a', new URLSearchParams('rotate=b,c&every=10'))).toEqual({ ids: ['a', 'b', 'c'], everyMs: 10_000 });
    expect(rotation('a', new URLSearchParams(''))).toEqual({ ids: ['a'], everyMs: 30_000 });
  });

  it('drops duplicates, junk and out-of-range periods', () => {
    expect(rotation('a', new URLSearchParams('rotate=a,,b,../x,b&every=1'))).toEqual({ ids: ['a', 'b'], everyMs: 5000 });
    expect(rotation('a', new URLSearchParams('every=nope')).everyMs).toBe(30_000);
    expect(rotation('a', new URLSearchParams(`rotate=${Array.from({ length: 40 }, (_, i) => `b${i}`).join(',')}`)).ids).toHaveLength(20);
  });
});
