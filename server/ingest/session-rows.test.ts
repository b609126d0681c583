/**
 * Guards the heap an open session's id costs: the embedded store holds up to 100,000 open
 * sessions a project, each with its id, and `crypto.randomUUID()`'s answer is a tree of ≈ 15
 * cons strings in V8 (≈ 490 B for 36 characters, ≈ 44 MB over those sessions).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { blankEventRow } from '../../shared/rows.ts';
import { seedSession } from './session-rows.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('seedSession', () => {
  it('gives each session a v4 UUID held in one flat string', () => {
    const row = blankEventRow({ project_id: 'p1', device_id: 'd1' });
    const ids: string[] = new Array(20_000);
    // Twice, so the second pass runs optimised code.
    for (let pass = 0; pass < 2; pass++) {
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < ids.length; i++) ids[i] = seedSession(row, 1_000).id;
      gc();
      expect((process.memoryUsage().heapUsed - before) / ids.length).toBeLessThan(150);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 100)) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
