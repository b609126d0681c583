import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventId } from './event-id.ts';

describe('eventId', () => {
  it('makes version 4 UUIDs the row schema accepts, all distinct, across refills of its random pool', () => {
    const ids = Array.from({ length: 2_000 }, eventId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(z.uuid().safeParse(id).success).toBe(true);
    }
  });

  it('spreads its digits evenly (each random hex position takes every value)', () => {
    const ids = Array.from({ length: 4_000 }, eventId);
    for (const pos of [0, 7, 9, 15, 20, 35]) {
      const seen = new Set(ids.map((id) => id[pos]));
      expect(seen.size, `position ${pos}`).toBe(16);
    }
    // the variant digit takes its four values
    expect(new Set(ids.map((id) => id[19])).size).toBe(4);
  });
});
