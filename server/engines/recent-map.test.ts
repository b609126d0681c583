import { describe, expect, it } from 'vitest';
import { createRecentMap } from './recent-map.ts';

describe('createRecentMap', () => {
  it('holds the `capacity` most recently written keys, whatever came before them', () => {
    const capacity = 1000;
    const m = createRecentMap<number, number>(capacity);
    // Past several generation swaps, at every point in between.
    for (let i = 0; i < 10 * capacity + 37; i++) {
      m.set(i, i * 2);
      if (i % 97 === 0 || i > 10 * capacity) {
        for (let k = Math.max(0, i - capacity + 1); k <= i; k++) expect(m.get(k)).toBe(k * 2);
      }
    }
  });

  it('never holds more than 2 × capacity keys, and forgets old ones', () => {
    const m = createRecentMap<string, string>(100);
    for (let i = 0; i < 1000; i++) {
      m.set(`k${i}`, 'v');
      expect(m.size).toBeLessThanOrEqual(200);
    }
    expect(m.get('k0')).toBeUndefined();
    expect(m.get('k700')).toBeUndefined();
  });

  it('keeps a key that is read: a hit in the previous generation moves it to the current one', () => {
    const m = createRecentMap<string, number>(10);
    m.set('hot', 1);
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 10; i++) m.set(`cold${round}-${i}`, i);
      expect(m.get('hot')).toBe(1);
    }
    // Without reads it goes after two generations.
    m.set('idle', 2);
    for (let i = 0; i < 20; i++) m.set(`x${i}`, i);
    expect(m.get('idle')).toBeUndefined();
  });

  it('a rewrite replaces the value and a delete forgets the key in either generation', () => {
    const m = createRecentMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3); // a and b now in the previous generation
    m.set('a', 10);
    expect(m.get('a')).toBe(10);
    m.delete('b');
    m.delete('c');
    expect(m.get('b')).toBeUndefined();
    expect(m.get('c')).toBeUndefined();
    // A delete is not undone by a later swap bringing an older copy back.
    for (let i = 0; i < 4; i++) m.set(`n${i}`, i);
    expect(m.get('b')).toBeUndefined();
  });

  it('empties on clear and refuses a capacity below 1', () => {
    const m = createRecentMap<string, number>(5);
    m.set('a', 1);
    m.clear();
    expect(m.get('a')).toBeUndefined();
    expect(m.size).toBe(0);
    expect(() => createRecentMap(0)).toThrow();
  });
});
