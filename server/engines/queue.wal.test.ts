// The WAL queue's normal running: acks after the bytes are in the log, group commit, chunking
// by size and by time, retries under one token, segment rotation and deletion, close and
// back-pressure. Crash recovery is in queue.wal.recovery.test.ts; real chDB in *.int.test.ts.
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../errors.ts';
import { createMetrics } from '../metrics.ts';
import { fixtureUuid } from '../store/clickhouse.fixtures.ts';
import { createWalQueue, type WalQueue, type WalQueueOptions } from './queue.wal.ts';
import { listSegments } from './wal/segment-files.ts';
import { eventsBatch, FakeClickhouse, idsOnDisk, tempDir } from './wal/wal.fixtures.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A fake chDB whose first insert waits until `release` is called. */
function firstWriteHeld(): { ch: FakeClickhouse; release: () => void } {
  const ch = new FakeClickhouse();
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  ch.before = (call) => (ch.calls[0] === call ? held : undefined);
  return { ch, release };
}

async function open(over: Partial<WalQueueOptions> & { writer: WalQueueOptions['writer'] }): Promise<{ q: WalQueue; dir: string }> {
  const dir = over.dir ?? tempDir('lp-wal-');
  const q = await createWalQueue({ flushSize: 1000, flushIntervalMs: 60_000, retryBaseMs: 5, ...over, dir });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => q.close().catch(() => {}));
  return { q, dir };
}

describe('createWalQueue: appending', () => {
  it('resolves a push once its record is in the log, long before it is applied', async () => {
    const ch = new FakeClickhouse();
    const { q, dir } = await open({ writer: ch });
    await q.push(eventsBatch(0, 3));
    expect(await idsOnDisk(dir)).toEqual([0, 1, 2].map((i) => fixtureUuid(i + 1)));
    expect(ch.calls).toHaveLength(0);
    expect(await q.depth()).toBe(3);
  });

  it('group-commits: 1000 concurrent pushes share a few writes and syncs', async () => {
    const metrics = createMetrics();
    const { q, dir } = await open({ writer: new FakeClickhouse(), metrics });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => q.push(eventsBatch(i))));
    const s = q.stats();
    expect(s.groups).toBeGreaterThanOrEqual(1);
    expect(s.groups).toBeLessThanOrEqual(10);
    // The pushes of a write share records of at most flushSize / 10 = 100 rows.
    expect(s.records).toBeGreaterThanOrEqual(10);
    expect(s.records).toBeLessThanOrEqual(s.groups + 10);
    expect(new Set(await idsOnDisk(dir)).size).toBe(1000);
    const hist = await metrics.walAppendSeconds.get();
    expect(hist.values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1000);
  });

  it('refuses pushes with 503 shutting_down once closing, and overloaded past maxPendingRows', async () => {
    const { q } = await open({ writer: new FakeClickhouse(), maxPendingRows: 5 });
    await q.push(eventsBatch(0, 4));
    await expect(q.push(eventsBatch(4, 2))).rejects.toMatchObject({ status: 503, code: 'overloaded' });
    await q.close();
    const err = await q.push(eventsBatch(10)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 503, code: 'shutting_down' });
  });
});

describe('createWalQueue: applying', () => {
  it('writes a chunk as soon as flushSize rows are pending, and the rest only when due', async () => {
    const ch = new FakeClickhouse();
    // A record per push: chunks end on record boundaries, and this checks their exact sizes.
    const { q } = await open({ writer: ch, flushSize: 100, maxChunkRows: 100, groupRecordRows: 1 });
    await Promise.all(Array.from({ length: 250 }, (_, i) => q.push(eventsBatch(i))));
    // Both chunks written and committed (the commit is a checkpoint fsync after the write, so
    // depth drops a little later than the write shows; waited for, not assumed after 50 ms).
    await vi.waitFor(async () => expect({ sizes: ch.storedSizes(), depth: await q.depth() }).toEqual({ sizes: [100, 100], depth: 50 }), {
      timeout: 30_000,
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(ch.storedSizes()).toEqual([100, 100]); // 50 rows wait for the interval
    expect(await q.depth()).toBe(50);
    await q.applied();
    expect(ch.storedSizes()).toEqual([100, 100, 50]);
    expect(await q.depth()).toBe(0);
    expect([...ch.rows.values()].every((n) => n === 1)).toBe(true);
    expect(ch.rows.size).toBe(250);
  });

  it('takes what piled up behind a running write into one larger chunk, up to maxChunkRows', async () => {
    // Each insert costs chDB a fixed share of CPU besides its rows: a backlog drains in fewer,
    // larger inserts. The first write is held until 95 more rows wait behind it.
    const { ch, release } = firstWriteHeld();
    const { q } = await open({ writer: ch, flushSize: 10, maxChunkRows: 40 });
    for (let i = 0; i < 10; i += 5) await q.push(eventsBatch(i, 5));
    await vi.waitFor(() => expect(ch.calls).toHaveLength(1), { timeout: 30_000 });
    for (let i = 10; i < 105; i += 5) await q.push(eventsBatch(i, 5));
    release();
    await q.applied();
    // 10 (the held one), then everything waiting in chunks of at most 40: 40, 40, 15.
    expect(ch.storedSizes()).toEqual([10, 40, 40, 15]);
    expect([...ch.rows.values()].every((n) => n === 1)).toBe(true);
    expect(ch.rows.size).toBe(105);
  });

  // Guards the memory a backlog takes: acknowledgements running ahead of chDB kept the bytes of
  // 50,000 pending rows (≈ 24 MB under /ws) whatever the chunk size; now one chunk's, the rest
  // read back from the log — and still every row once, in order.
  it('holds about one chunk of a backlog in memory and reads the rest back from the log', async () => {
    const { ch, release } = firstWriteHeld();
    const { q } = await open({ writer: ch, flushSize: 10, maxChunkRows: 40 });
    for (let i = 0; i < 10; i += 5) await q.push(eventsBatch(i, 5));
    await vi.waitFor(() => expect(ch.calls).toHaveLength(1), { timeout: 30_000 });
    for (let i = 10; i < 1000; i += 5) await q.push(eventsBatch(i, 5));
    const heldWhileBehind = q.stats().heldRows;
    release();
    await q.applied();
    expect(heldWhileBehind).toBeLessThanOrEqual(40); // 990 with 50,000 rows held
    expect(ch.rows.size).toBe(1000);
    expect([...ch.rows.values()].every((n) => n === 1)).toBe(true);
    expect(ch.calls.flatMap((c) => c.ids)).toEqual(Array.from({ length: 1000 }, (_, i) => fixtureUuid(i + 1)));
    expect(q.stats().heldRows).toBe(0);
  });

  it('writes a small chunk flushIntervalMs after its oldest row, not before', async () => {
    // A fake clock (the log's I/O stays real): on a loaded machine the push itself could take
    // longer than the interval, so real time cannot tell "before" from "after".
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const ch = new FakeClickhouse();
      const { q } = await open({ writer: ch, flushIntervalMs: 150 });
      await q.push(eventsBatch(0, 7));
      await vi.advanceTimersByTimeAsync(149);
      expect(ch.calls).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1);
      await vi.waitFor(() => expect(ch.storedSizes()).toEqual([7]), { timeout: 30_000 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('applied() resolves for what was pushed before it, while pushes keep coming', async () => {
    const ch = new FakeClickhouse();
    const { q } = await open({ writer: ch });
    let stop = false;
    let n = 0;
    const loops = Array.from({ length: 20 }, async () => {
      while (!stop) await q.push(eventsBatch(n++));
    });
    await new Promise((r) => setTimeout(r, 50));
    const before = n;
    await q.applied();
    stop = true;
    await Promise.all(loops);
    for (let i = 0; i < before; i++) expect(ch.rows.get(fixtureUuid(i + 1))).toBe(1);
  });

  it('names each chunk by its exact place in the log: contiguous ranges, one token each', async () => {
    const ch = new FakeClickhouse();
    const { q } = await open({ writer: ch, flushSize: 10, maxChunkRows: 10 });
    for (let i = 0; i < 35; i += 5) await q.push(eventsBatch(i, 5));
    await q.applied();
    const ranges = ch.calls.map((c) => /^wal:[\w-]+:(\d+):(\d+)-(\d+)$/.exec(c.token)!.slice(1).map(Number));
    expect(ranges.length).toBe(4); // 10, 10, 10, 5
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![1]).toBe(ranges[i - 1]![2]);
    expect(new Set(ch.calls.map((c) => c.token)).size).toBe(4);
  });

  it('retries a failed write with the same token and counts the failures', async () => {
    const metrics = createMetrics();
    const ch = new FakeClickhouse();
    let failures = 2;
    ch.before = () => {
      if (failures-- > 0) throw new Error('ClickHouse unavailable');
    };
    const { q } = await open({ writer: ch, metrics });
    await q.push(eventsBatch(0, 3));
    await q.applied();
    expect(ch.calls.map((c) => c.token)).toEqual(Array(3).fill(ch.calls[0]!.token));
    expect(ch.storedSizes()).toEqual([3]);
    expect((await metrics.flushFailures.get()).values[0]?.value).toBe(2);
  });

  it('rotates segments past segmentBytes and deletes each once applied', async () => {
    const ch = new FakeClickhouse();
    const { q, dir } = await open({ writer: ch, flushSize: 1_000_000, segmentBytes: 4096 });
    for (let i = 0; i < 24; i++) await q.push(eventsBatch(i * 2, 2));
    const before = await listSegments(dir);
    expect(before.length).toBeGreaterThanOrEqual(4);
    await q.applied();
    // A chunk never spans segments: one write per segment here.
    expect(ch.calls.length).toBe(before.length);
    expect(ch.rows.size).toBe(48);
    expect(await listSegments(dir)).toEqual([before.at(-1)]); // only the open one is left
    await q.close();
    expect(await listSegments(dir)).toEqual([]);
  });

  it('close() appends what is in flight, applies everything and leaves no segment', async () => {
    const ch = new FakeClickhouse();
    const { q, dir } = await open({ writer: ch });
    const pushes = Array.from({ length: 50 }, (_, i) => q.push(eventsBatch(i)));
    await q.close();
    await Promise.all(pushes);
    expect(ch.rows.size).toBe(50);
    expect(await q.depth()).toBe(0);
    expect(await listSegments(dir)).toEqual([]);
  });

  it('close() gives up on a ClickHouse that keeps failing, keeping the rows for the next start', async () => {
    const ch = new FakeClickhouse();
    ch.before = () => {
      throw new Error('down');
    };
    const { q, dir } = await open({ writer: ch });
    await q.push(eventsBatch(0, 4));
    await expect(q.close()).rejects.toThrow(/4 rows not yet in ClickHouse/);
    const next = new FakeClickhouse();
    const { q: q2 } = await open({ writer: next, dir });
    await q2.applied();
    expect(next.rows.size).toBe(4);
  });
});
