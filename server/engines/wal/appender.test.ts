// The appender's group commit, with its disk calls replaced by a fake that keeps two images of
// each segment: what has been written, and what a power loss would leave (only what was
// written before a sync that has returned). Guards against an ack that precedes the sync of
// its bytes, a group split over several syncs, a record written where another (or the
// zero-filled room kept ahead of the writes) already lies, and records arriving during a sync
// waiting for more than the next one.
import { rmSync } from 'node:fs';
import { type FileHandle, open as openFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Appended, type AppenderIo, openAppender, unwritten } from './appender.ts';
import { SEGMENT_HEADER_BYTES } from './record.ts';
import { segmentName } from './segment-files.ts';
import { tempDir } from './wal.fixtures.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A disk whose syncs the test releases (or lets through after a random delay). */
class FakeDisk implements Omit<AppenderIo, 'reopen'> {
  /** Per file handle: bytes written, and bytes durable (as of the last sync that returned). */
  readonly written = new Map<FileHandle, Buffer>();
  readonly durable = new Map<FileHandle, Buffer>();
  /** Every write: its size, and whether it was all zeros (the zero-filled room). */
  readonly writes: Array<{ bytes: number; zeros: boolean }> = [];
  /** Syncs per handle. */
  readonly syncs = new Map<FileHandle, number>();
  /** Syncs running at once on one handle, at most: the appender must never run two. */
  maxConcurrentSyncs = 0;
  private running = new Map<FileHandle, number>();
  private gates: Array<() => void> = [];
  constructor(private readonly mode: 'gated' | 'random') {}

  /** Handles that got records (not only zeros): the groups' handles. */
  readonly dataHandles = new Set<FileHandle>();

  async write(file: FileHandle, bufs: readonly Buffer[], position: number): Promise<void> {
    const buf = Buffer.concat(bufs);
    const zeros = buf.every((b) => b === 0);
    this.writes.push({ bytes: buf.length, zeros });
    if (!zeros) this.dataHandles.add(file);
    const img = this.written.get(file) ?? Buffer.alloc(0);
    const grown = img.length >= position + buf.length ? img : Buffer.concat([img, Buffer.alloc(position + buf.length - img.length)]);
    buf.copy(grown, position);
    this.written.set(file, grown);
    if (this.mode === 'random') await new Promise((r) => setTimeout(r, Math.random() * 2));
  }

  async sync(file: FileHandle): Promise<void> {
    this.syncs.set(file, (this.syncs.get(file) ?? 0) + 1);
    const running = (this.running.get(file) ?? 0) + 1;
    this.running.set(file, running);
    this.maxConcurrentSyncs = Math.max(this.maxConcurrentSyncs, running);
    const snapshot = Buffer.from(this.written.get(file) ?? Buffer.alloc(0)); // what this sync makes durable
    if (this.mode === 'gated') await new Promise<void>((resolve) => this.gates.push(resolve));
    else await new Promise((r) => setTimeout(r, Math.random() * 3));
    this.durable.set(file, snapshot);
    this.running.set(file, this.running.get(file)! - 1);
  }

  /** Sync calls on every handle. */
  get syncCount(): number {
    return [...this.syncs.values()].reduce((a, b) => a + b, 0);
  }

  /** Lets the oldest sync in flight return. */
  release(): void {
    this.gates.shift()?.();
  }
}

const record = (i: number, size = 40) => Buffer.alloc(size, (i % 250) + 1); // never zero: a record's bytes are told apart from the zero fill

async function open(disk: FakeDisk, over: { segmentBytes?: number; preallocateBytes?: number } = {}) {
  const dir = tempDir('lp-wal-appender-');
  dirs.push(dir);
  /** Each durable record with the file its group was written to. */
  const durableAt = new Map<number, { at: Appended<number>; file: FileHandle }>();
  let dataFile: FileHandle | undefined;
  const appender = await openAppender<number>({
    dir,
    firstSegment: 1,
    segmentBytes: over.segmentBytes ?? 1024 * 1024,
    fsync: true,
    preallocateBytes: over.preallocateBytes ?? 0,
    io: {
      write(f, bufs, position) {
        if (bufs.some((buf) => buf.some((b) => b !== 0))) dataFile = f; // a group's write, not the zero fill
        return disk.write(f, bufs, position);
      },
      sync: (f) => disk.sync(f),
      reopen: (d, n) => openFile(path.join(d, segmentName(n)), 'r+'),
    },
    onDurable: (records) => {
      for (const at of records) durableAt.set(at.tag, { at, file: dataFile! });
    },
    onSealed: () => {},
  });
  return { appender, durableAt };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('appender: group commit', () => {
  it('puts every record arriving during a sync into the next group: one write and one sync, acked only once that sync returns', async () => {
    const disk = new FakeDisk('gated');
    const { appender } = await open(disk);
    const acked = new Set<number>();
    const push = (i: number) => appender.append(record(i), 1, i).then(() => acked.add(i));

    const first = push(0);
    await flush();
    expect(disk.writes).toHaveLength(1); // the first record went at once, alone
    expect(disk.syncCount).toBe(1);
    const rest = Array.from({ length: 9 }, (_, k) => push(k + 1));
    await flush();
    expect(disk.writes).toHaveLength(1); // the nine wait: one write + sync in flight at a time
    expect(acked.size).toBe(0);

    disk.release();
    await first;
    expect([...acked]).toEqual([0]);
    await flush();
    expect(disk.writes).toHaveLength(2); // the nine, together
    expect(disk.writes[1]!.bytes).toBe(9 * 40);
    expect(disk.syncCount).toBe(2);
    expect(acked.size).toBe(1); // not before their sync

    disk.release();
    await Promise.all(rest);
    expect(acked.size).toBe(10);
    expect(appender.stats).toMatchObject({ groups: 2, records: 10 });
    await appender.close();
  });

  it('never acks a record before the bytes a power loss would leave hold it, under random syncs, rotations and zero filling', async () => {
    const disk = new FakeDisk('random');
    const { appender, durableAt } = await open(disk, { segmentBytes: 2048, preallocateBytes: 1024 });
    let checked = 0;
    const N = 600;
    // In waves of 30 concurrent appends, so that there are many groups (and segments) whatever the machine's speed.
    for (let wave = 0; wave < N / 30; wave++) {
      await Promise.all(
        Array.from({ length: 30 }, async (_, k) => {
          const i = wave * 30 + k;
          await new Promise((r) => setTimeout(r, Math.random() * 5));
          const buf = record(i, 20 + (i % 13) * 7);
          await appender.append(buf, 1, i);
          // Acked: what a power loss would leave of its segment holds exactly its bytes, where it was told they are.
          const { at, file } = durableAt.get(i)!;
          expect(at.to - at.from).toBe(buf.length);
          expect(at.from).toBeGreaterThanOrEqual(SEGMENT_HEADER_BYTES);
          expect(disk.durable.get(file)!.subarray(at.from, at.to).equals(buf)).toBe(true);
          checked++;
        }),
      );
    }
    expect(checked).toBe(N);
    // Nothing acked was overwritten later (by another group or by the zero fill).
    for (const [i, { at, file }] of durableAt)
      expect(
        disk.durable
          .get(file)!
          .subarray(at.from, at.to)
          .equals(record(i, 20 + (i % 13) * 7)),
      ).toBe(true);
    expect(new Set([...durableAt.values()].map((d) => d.at.segment)).size).toBeGreaterThan(1); // it rotated
    expect(disk.writes.some((w) => w.zeros)).toBe(true); // the zero fill ran
    expect(appender.stats.records).toBe(N);
    expect(appender.stats.groups).toBe(disk.writes.filter((w) => !w.zeros).length); // one write per group
    // One sync per group on the groups' handles; the fill syncs on handles of its own.
    expect([...disk.dataHandles].reduce((n, h) => n + (disk.syncs.get(h) ?? 0), 0)).toBe(appender.stats.groups);
    expect(disk.syncCount).toBeGreaterThan(appender.stats.groups);
    expect(disk.maxConcurrentSyncs).toBe(1); // never two at once on one handle
    expect(appender.stats.groups).toBeLessThan(N); // and groups were shared
    await appender.close();
  });
});

describe('appender: parts framed with their group', () => {
  it('frames each run of parts waiting for one write together, in order with whole records, and acks them with that write', async () => {
    const disk = new FakeDisk('gated');
    const dir = tempDir('lp-wal-appender-');
    dirs.push(dir);
    const framed: number[][] = [];
    const durable: Appended<number>[] = [];
    const appender = await openAppender<number, number>({
      dir,
      firstSegment: 1,
      segmentBytes: 1024 * 1024,
      fsync: true,
      preallocateBytes: 0,
      io: { write: (f, bufs, at) => disk.write(f, bufs, at), sync: (f) => disk.sync(f), reopen: (d, n) => openFile(path.join(d, segmentName(n)), 'r+') },
      // One record per run of parts: their bytes one after the other, tagged with the first.
      frame(parts) {
        framed.push([...parts]);
        return [{ buf: Buffer.concat(parts.map((p) => record(p, 10))), rows: parts.length, tag: parts[0]! }];
      },
      onDurable: (records) => durable.push(...records),
      onSealed: () => {},
    });
    const acked: number[] = [];
    const first = appender.appendPart(0).then(() => acked.push(0));
    await flush();
    // While the first write's sync is in flight: two parts, a whole record, two more parts.
    const rest = [
      appender.appendPart(1).then(() => acked.push(1)),
      appender.appendPart(2).then(() => acked.push(2)),
      appender.append(record(3, 40), 1, 3).then(() => acked.push(3)),
      appender.appendPart(4).then(() => acked.push(4)),
      appender.appendPart(5).then(() => acked.push(5)),
    ];
    await flush();
    expect(framed).toEqual([[0]]); // framed when their group is taken, not when appended
    disk.release();
    await first;
    await flush();
    expect(framed).toEqual([[0], [1, 2], [4, 5]]);
    expect(acked).toEqual([0]); // not before the second sync returns
    disk.release();
    await Promise.all(rest);
    expect(acked).toEqual([0, 1, 2, 3, 4, 5]);
    expect(durable.map((r) => [r.tag, r.rows, r.to - r.from])).toEqual([
      [0, 1, 10],
      [1, 2, 20],
      [3, 1, 40],
      [4, 2, 20],
    ]);
    for (let i = 1; i < durable.length; i++) expect(durable[i]!.from).toBe(durable[i - 1]!.to); // contiguous, in order
    expect(disk.writes.map((w) => w.bytes)).toEqual([10, 80]); // one write per group
    expect(appender.stats).toMatchObject({ groups: 2, records: 4 });
    await appender.close();
  });
});

describe('unwritten (what a short vectored write leaves)', () => {
  // A group's records go out in one writev; a short write must resume at the exact byte, or
  // the log would hold a record twice or miss part of one.
  it('resumes inside a buffer, after whole buffers, and ends when all is written', () => {
    const bufs = [Buffer.from('abc'), Buffer.from('de'), Buffer.from('fgh')];
    const text = (b: Buffer[]) => Buffer.concat(b).toString();
    for (let done = 0; done <= 8; done++) expect(text(unwritten(bufs, done))).toBe('abcdefgh'.slice(done));
    expect(unwritten(bufs, 3)[0]).toBe(bufs[1]); // whole buffers are not copied
    expect(unwritten(bufs, 8)).toEqual([]);
  });
});
