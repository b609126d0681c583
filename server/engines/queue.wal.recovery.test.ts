// WAL crash recovery without a process: a copy of the WAL folder taken at one instant
// (crashSnapshot) is exactly what a SIGKILL at that instant leaves on disk, so each test
// "crashes" a queue by snapshotting it and restarts a new queue on the copy. Guards against:
// losing acked rows, double-applying a chunk whose write landed just before the crash,
// tripping over a torn last record, and reusing a segment number (and so a token).
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fixtureUuid } from '../store/clickhouse.fixtures.ts';
import type { BatchWriter } from './queue.ts';
import { createWalQueue, type WalQueue, type WalQueueOptions } from './queue.wal.ts';
import { encodeSections } from './wal/batch-format.ts';
import { type EncodedPush, encodeGroupRecord, encodeRecord, SEGMENT_HEADER_BYTES, scanRecords } from './wal/record.ts';
import { listSegments, segmentName } from './wal/segment-files.ts';
import { crashSnapshot, encodeRecordV1, eventsBatch, FakeClickhouse, tempDir } from './wal/wal.fixtures.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Opens a queue on `dir`; `crashes`: its writer hangs on purpose, so it is abandoned, not closed. */
async function open(dir: string, writer: FakeClickhouse, over: Partial<WalQueueOptions> & { crashes?: boolean } = {}): Promise<WalQueue> {
  const q = await createWalQueue({ dir, writer, flushSize: 1000, flushIntervalMs: 60_000, retryBaseMs: 5, ...over });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  if (!over.crashes) cleanups.push(() => q.close().catch(() => {}));
  return q;
}

/** Pushes events [from, from+n) one per push and returns once all are acked. */
async function pushEach(q: WalQueue, from: number, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => q.push(eventsBatch(from + i))));
}

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => fixtureUuid(from + i + 1));
/** Writes `bytes` right after the segment's last valid record (where the next append would go, inside its zero-filled room). */
function tearAfterRecords(file: string, bytes: Buffer): void {
  const buf = readFileSync(file);
  const { validEnd } = scanRecords(buf.subarray(SEGMENT_HEADER_BYTES), SEGMENT_HEADER_BYTES);
  const torn = Buffer.concat([buf.subarray(0, validEnd), bytes, buf.subarray(validEnd + bytes.length)]);
  writeFileSync(file, torn);
}
/** The folder of a queue opened and left open (nothing pushed): a checkpoint and an empty segment. */
async function tempLogDir(): Promise<string> {
  const dir = tempDir('lp-wal-');
  await open(dir, new FakeClickhouse());
  return dir;
}
const onlySegment = async (dir: string) => path.join(dir, segmentName((await listSegments(dir)).at(-1)!));

describe('WAL recovery', () => {
  // An upgrade must not strand what the previous version acknowledged: its records hold the
  // batch as one JSON object (format 1), today's compact lines (wal/batch-format.ts).
  it('replays a log written by the previous version, with its accepted ids', async () => {
    // A log folder as the previous version left it: its checkpoint, and records in its segment.
    const dir = crashSnapshot(await tempLogDir());
    const records = [0, 10, 20].map((from) => encodeRecordV1(eventsBatch(from, 10), 10, [`p:${from}`]));
    tearAfterRecords(await onlySegment(dir), Buffer.concat(records));
    const ch = new FakeClickhouse();
    const q = await open(dir, ch, { dedupeTtlMs: 60_000 });
    expect(q.stats().recoveredRows).toBe(30);
    expect(q.recoveredIds().flatMap((r) => r.ids)).toEqual(['p:0', 'p:10', 'p:20']);
    await q.push(eventsBatch(30, 5)); // today's format after the old records, in a new segment
    await q.applied();
    expect([...ch.rows.keys()].sort()).toEqual(ids(0, 35).sort());
    expect([...ch.rows.values()].every((n) => n === 1)).toBe(true);
  });

  it('replays acked records that were never applied', async () => {
    const dir = tempDir('lp-wal-');
    await pushEach(await open(dir, new FakeClickhouse()), 0, 30);
    const ch = new FakeClickhouse();
    const q = await open(crashSnapshot(dir), ch);
    expect(q.stats().recoveredRows).toBe(30);
    expect(await q.depth()).toBe(30);
    await q.applied();
    expect([...ch.rows.keys()].sort()).toEqual(ids(0, 30).sort());
    expect(await q.depth()).toBe(0);
  });

  it('applies nothing twice that was committed before the crash', async () => {
    const dir = tempDir('lp-wal-');
    const shared = new FakeClickhouse();
    const first = await open(dir, shared, { flushSize: 10 });
    await pushEach(first, 0, 25);
    await first.applied();
    await pushEach(first, 25, 5);
    const ch = new FakeClickhouse(shared);
    const q = await open(crashSnapshot(dir), ch);
    await q.applied();
    expect(q.stats().recoveredRows).toBe(5);
    expect(ch.calls.flatMap((c) => c.ids)).toEqual(ids(25, 5));
    expect([...shared.rows.values()].every((n) => n === 1)).toBe(true);
  });

  it.each([
    ['a half-written record', (rec: Buffer) => rec.subarray(0, rec.length - 7)],
    ['a short header', (rec: Buffer) => rec.subarray(0, 5)],
    ['a record whose bytes are damaged', (rec: Buffer) => Buffer.concat([rec.subarray(0, 20), Buffer.from('X'), rec.subarray(21)])],
    ['zeros where the file was extended', (rec: Buffer) => Buffer.alloc(rec.length)],
  ])('ignores a torn tail: %s', async (_name, tear) => {
    const dir = tempDir('lp-wal-');
    await pushEach(await open(dir, new FakeClickhouse()), 0, 5);
    const snap = crashSnapshot(dir);
    tearAfterRecords(await onlySegment(snap), tear(encodeRecord(eventsBatch(100, 3), 3)));
    const ch = new FakeClickhouse();
    const q = await open(snap, ch);
    expect(q.stats().recoveredRows).toBe(5);
    await q.push(eventsBatch(200)); // appends go to a new segment, never after the torn tail
    await q.applied();
    expect([...ch.rows.keys()].sort()).toEqual([...ids(0, 5), fixtureUuid(201)].sort());
    expect(await listSegments(snap)).toHaveLength(1); // the torn one was deleted once applied
  });

  it('stops at a damaged record in the middle of a segment and keeps what precedes it', async () => {
    const dir = tempDir('lp-wal-');
    const q0 = await open(dir, new FakeClickhouse());
    for (let i = 0; i < 5; i++) await q0.push(eventsBatch(i));
    const snap = crashSnapshot(dir);
    const file = await onlySegment(snap);
    const bytes = readFileSync(file);
    const recLen = encodeRecord(eventsBatch(0), 1).length; // same size for each numbered event here
    bytes[8 + 2 * recLen + 40]! ^= 0xff; // inside the third record's payload
    writeFileSync(file, bytes);
    const ch = new FakeClickhouse();
    await (await open(snap, ch)).applied();
    expect([...ch.rows.keys()].sort()).toEqual(ids(0, 2).sort());
  });

  it('re-applies an intent whose write landed: same range, same token, stored once', async () => {
    const dir = tempDir('lp-wal-');
    const shared = new FakeClickhouse();
    const crashed = new FakeClickhouse(shared);
    // The write reaches ClickHouse, then the process hangs (and is killed) before the commit.
    crashed.before = (call) => {
      shared.tokens.add(call.token);
      for (const id of call.ids) shared.rows.set(id, (shared.rows.get(id) ?? 0) + 1);
      return new Promise<void>(() => {});
    };
    const first = await open(dir, crashed, { flushSize: 8, crashes: true });
    await pushEach(first, 0, 8);
    while (crashed.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    await pushEach(first, 8, 12); // same segment, after the chunk in flight
    const ch = new FakeClickhouse(shared);
    // A larger flushSize would cut the log [0, 20) now; only the intent keeps [0, 8) and its token.
    const q = await open(crashSnapshot(dir), ch, { flushSize: 100 });
    await q.applied();
    expect(ch.calls[0]!.token).toBe(crashed.calls[0]!.token);
    expect(ch.calls[0]!.ids).toEqual(crashed.calls[0]!.ids);
    expect(ch.calls[0]!.stored).toBe(false); // ClickHouse dropped the repeat
    expect(ch.calls.slice(1).flatMap((c) => c.ids)).toEqual(ids(8, 12));
    expect(shared.rows.size).toBe(20);
    expect([...shared.rows.values()].every((n) => n === 1)).toBe(true);
  });

  it('re-applies an intent whose write never landed, with the same token, before anything else', async () => {
    const dir = tempDir('lp-wal-');
    const crashed = new FakeClickhouse();
    crashed.before = () => new Promise<void>(() => {});
    const first = await open(dir, crashed, { flushSize: 4, crashes: true });
    await pushEach(first, 0, 3);
    void first.applied(); // never resolves (the write hangs); starts a chunk of 3 now
    while (crashed.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    await pushEach(first, 3, 6);
    const ch = new FakeClickhouse();
    const q = await open(crashSnapshot(dir), ch, { flushSize: 100 });
    await q.applied();
    expect(ch.calls.map((c) => c.token)[0]).toBe(crashed.calls[0]!.token);
    expect(ch.calls.map((c) => c.ids)).toEqual([ids(0, 3), ids(3, 6)]);
    expect(ch.rows.size).toBe(9);
  });

  it('under a backlog, records the next intent with the commit, and honours it after a crash', async () => {
    const dir = tempDir('lp-wal-');
    const crashed = new FakeClickhouse();
    crashed.before = () => (crashed.calls.length === 2 ? new Promise<void>(() => {}) : undefined);
    const first = await open(dir, crashed, { flushSize: 8, maxChunkRows: 8, crashes: true });
    await pushEach(first, 0, 20); // 8 applied; the next 8 already due when the first commits
    while (crashed.calls.length < 2) await new Promise((r) => setTimeout(r, 5));
    const cp = JSON.parse(readFileSync(path.join(dir, 'wal.checkpoint'), 'utf8'));
    const [, seg, from, to] = /:(\d+):(\d+)-(\d+)$/.exec(crashed.calls[1]!.token)!.map(Number);
    expect(cp.committed).toEqual({ segment: seg, offset: from });
    expect(cp.intent).toEqual({ segment: seg, from, to });
    const ch = new FakeClickhouse();
    const q = await open(crashSnapshot(dir), ch, { flushSize: 100 });
    await q.applied();
    expect(ch.calls.map((c) => c.token)[0]).toBe(crashed.calls[1]!.token);
    expect(ch.calls.map((c) => c.ids)).toEqual([ids(8, 8), ids(16, 4)]);
  });

  it('deletes applied segments at start-up and never reuses a segment number', async () => {
    const dir = tempDir('lp-wal-');
    const first = await open(dir, new FakeClickhouse(), { segmentBytes: 2048 });
    for (let i = 0; i < 12; i++) await first.push(eventsBatch(i * 2, 2));
    await first.applied();
    const used = Math.max(...(await listSegments(dir)));
    await first.close();
    expect(await listSegments(dir)).toEqual([]);
    const ch = new FakeClickhouse();
    const q = await open(dir, ch);
    await q.push(eventsBatch(500));
    await q.applied();
    expect(Math.min(...(await listSegments(dir)))).toBeGreaterThan(used);
    expect(ch.calls[0]!.token).toMatch(new RegExp(`:${used + 1}:8-`));
  });

  it('refuses a folder with segments but no checkpoint (their tokens are unknown)', async () => {
    const dir = tempDir('lp-wal-');
    const q = await open(dir, new FakeClickhouse());
    await q.push(eventsBatch(0));
    const snap = crashSnapshot(dir);
    unlinkSync(path.join(snap, 'wal.checkpoint'));
    await expect(createWalQueue({ dir: snap, writer: new FakeClickhouse(), flushSize: 10, flushIntervalMs: 10 })).rejects.toThrow(/no wal.checkpoint/);
    rmSync(snap, { recursive: true, force: true });
  });
});

describe('WAL recovery of a split chunk', () => {
  it('hands the writer the splits it recorded before a crash, so the chunk is split the same way again', async () => {
    const dir = tempDir('lp-wal-');
    const seen: string[][] = [];
    let snapshot = '';
    // The first writer records two splits (as the real one does after refusals), then the process "dies" mid-split.
    const splitting: BatchWriter = {
      async write(_batch, token, opts) {
        await opts!.splits!.add(`${token}:events`);
        await opts!.splits!.add(`${token}:events/0`);
        snapshot = crashSnapshot(dir);
        await new Promise(() => {}); // hangs: abandoned like a killed process
      },
    };
    const q = await createWalQueue({ dir, writer: splitting, flushSize: 1000, flushIntervalMs: 60_000, retryBaseMs: 5 });
    void q.push(eventsBatch(0));
    void q.applied();
    await new Promise<void>((resolve) => {
      const check = () => (snapshot ? resolve() : setTimeout(check, 5));
      check();
    });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    const second: BatchWriter = {
      async write(_batch, token, opts) {
        seen.push([`${token}:events`, `${token}:events/0`, `${token}:events/1`].filter((t) => opts!.splits!.has(t)));
      },
    };
    const again = await createWalQueue({ dir: snapshot, writer: second, flushSize: 1000, flushIntervalMs: 60_000, retryBaseMs: 5 });
    cleanups.push(() => rmSync(snapshot, { recursive: true, force: true }));
    await again.applied();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.map((t) => t.replace(/^.*:events/, 'events'))).toEqual(['events', 'events/0']);
    await again.close();
  });
});

describe('WAL recovery of accepted ids (the dedupe across restarts)', () => {
  it('hands back the ids of every push within the TTL: from segments still on disk and from the id log once segments are deleted', async () => {
    const dir = tempDir('lp-wal-');
    const ttlMs = 3_600_000;
    const q = await open(dir, new FakeClickhouse(), { segmentBytes: 512, dedupeTtlMs: ttlMs, flushIntervalMs: 5 });
    for (let i = 0; i < 20; i++) await q.push(eventsBatch(i), { ids: [`p:e${i}`], ttlMs });
    await q.applied(); // applied: most segments are deleted (after the id log was synced)
    // The deletion follows the commit asynchronously: waited for, not assumed after 50 ms.
    await vi.waitFor(async () => expect((await listSegments(dir)).length).toBeLessThan(20), { timeout: 30_000 });
    for (let i = 20; i < 25; i++) await q.push(eventsBatch(i), { ids: [`p:e${i}`], ttlMs });
    const snap = crashSnapshot(dir); // crash: the last ids may not have reached the id log yet

    const again = await open(snap, new FakeClickhouse(), { dedupeTtlMs: ttlMs });
    const ids = again.recoveredIds().flatMap((r) => r.ids);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 25 }, (_, i) => `p:e${i}`)));
    for (const r of again.recoveredIds()) expect(r.ttlMs).toBeGreaterThan(ttlMs - 60_000);
  });
});

// The pushes of one write share a record (queue.wal.ts, wal/record.ts `encodeGroupRecord`):
// a crash must replay every push of a durable group, none of a torn one, and a log holding
// records of one push (written before) beside group records must replay all of them.
describe('WAL recovery of commit group records', () => {
  const pushOf = (i: number, n = 1): EncodedPush => ({ sections: encodeSections(eventsBatch(i, n)), rows: n, idsJson: JSON.stringify([`p:e${i}`]) });

  it("replays every push of a group's shared record after a crash, with every push's ids, exactly once", async () => {
    const dir = tempDir('lp-wal-');
    const ttlMs = 3_600_000;
    const q = await open(dir, new FakeClickhouse(), { dedupeTtlMs: ttlMs, crashes: true });
    await Promise.all(Array.from({ length: 40 }, (_, i) => q.push(eventsBatch(i), { ids: [`p:e${i}`], ttlMs })));
    expect(q.stats().records).toBeLessThan(40); // they did share records
    const ch = new FakeClickhouse();
    const again = await open(crashSnapshot(dir), ch, { dedupeTtlMs: ttlMs });
    expect(again.stats().recoveredRows).toBe(40);
    expect(new Set(again.recoveredIds().flatMap((r) => r.ids))).toEqual(new Set(Array.from({ length: 40 }, (_, i) => `p:e${i}`)));
    await again.applied();
    expect([...ch.rows.keys()].sort()).toEqual(ids(0, 40).sort());
    expect([...ch.rows.values()].every((n) => n === 1)).toBe(true);
  });

  it.each([
    ['half-written', (rec: Buffer) => rec.subarray(0, rec.length - 7)],
    ['with a damaged byte', (rec: Buffer) => Buffer.concat([rec.subarray(0, 30), Buffer.from('X'), rec.subarray(31)])],
  ])('applies none of the pushes of a group record left %s at the tail', async (_name, tear) => {
    const dir = tempDir('lp-wal-');
    await pushEach(await open(dir, new FakeClickhouse()), 0, 5);
    const snap = crashSnapshot(dir);
    tearAfterRecords(await onlySegment(snap), tear(encodeGroupRecord([100, 101, 102].map((i) => pushOf(i)))));
    const ch = new FakeClickhouse();
    const q = await open(snap, ch, { dedupeTtlMs: 60_000 });
    expect(q.stats().recoveredRows).toBe(5);
    expect(q.recoveredIds().flatMap((r) => r.ids)).toEqual([]);
    await q.applied();
    expect([...ch.rows.keys()].sort()).toEqual(ids(0, 5).sort());
  });

  it('replays a segment holding format-1 records, records of one push and group records, in order, then appends on', async () => {
    const dir = crashSnapshot(await tempLogDir());
    const records = [
      encodeRecordV1(eventsBatch(0, 10), 10, ['p:e0']),
      encodeRecord(eventsBatch(10, 5), 5, ['p:e10']),
      encodeGroupRecord([pushOf(15, 2), pushOf(17), pushOf(18, 2)]),
      encodeRecord(eventsBatch(20, 1), 1, ['p:e20']),
    ];
    tearAfterRecords(await onlySegment(dir), Buffer.concat(records));
    const ch = new FakeClickhouse();
    const q = await open(dir, ch, { dedupeTtlMs: 60_000 });
    expect(q.stats().recoveredRows).toBe(21);
    expect(q.recoveredIds().flatMap((r) => r.ids)).toEqual(['p:e0', 'p:e10', 'p:e15', 'p:e17', 'p:e18', 'p:e20']);
    await Promise.all([21, 22, 23].map((i) => q.push(eventsBatch(i))));
    await q.applied();
    expect(ch.calls.flatMap((c) => c.ids)).toEqual(ids(0, 24)); // log order
    expect([...ch.rows.values()].every((n) => n === 1)).toBe(true);
  });
});
