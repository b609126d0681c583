import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createApplier, type PendingRecord } from './applier.ts';
import { encodeRecord } from './record.ts';
import { eventsBatch, tempDir } from './wal.fixtures.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** `n` records of one event each, laid one after the other in segment 1 (bytes held in memory). */
function records(n: number): PendingRecord[] {
  let at = 0;
  return Array.from({ length: n }, (_, i) => {
    const bytes = encodeRecord(eventsBatch(i), 1);
    const r = { segment: 1, from: at, to: at + bytes.length, rows: 1, since: Date.now(), bytes };
    at = r.to;
    return r;
  });
}

describe('applier memory', () => {
  // Guards the bug where applied records kept their bytes until the pending array was compacted
  // (every 4,096 records): under /ws load that held ≈ 60 MB of chunks already in ClickHouse.
  it('lets go of the bytes of records once their chunk is committed', async () => {
    const dir = tempDir('lp-wal-applier-');
    dirs.push(dir);
    const written: number[] = [];
    const applier = createApplier({
      dir,
      writer: { write: async (buf) => void written.push(buf.length) },
      checkpoint: { version: 1, logId: 'test', committed: { segment: 1, offset: 0 }, intent: null },
      forced: null,
      flushSize: 4,
      maxChunkRows: 4,
      flushIntervalMs: 60_000,
      maxMemoryRows: 100,
      retryBaseMs: 1,
      closeRetries: 0,
      onApplied: () => {},
    });
    const first = records(10);
    applier.add(first);
    await applier.applied();
    expect(written.reduce((a, b) => a + b, 0)).toBe(first.at(-1)!.to);
    expect(first.filter((r) => r.bytes !== null)).toEqual([]);
    await applier.close();
  });
});
