/**
 * The WAL's writing side: appends records to the current segment with group commit. One
 * write + fdatasync is in flight at a time; every record that arrives meanwhile waits and goes
 * into the next write together, so a thousand concurrent pushes cost a handful of syncs, not a
 * thousand. A push is answered only after the write (and fdatasync, when `fsync`) holding it
 * has completed — that is the moment it may be acknowledged to an SDK.
 *
 * Preallocation. An fdatasync after an append that grows the file must also commit the new
 * file size (a journal commit on ext4): on the build machine 1.3–1.8 ms, against 0.2–0.4 ms
 * for the same write into bytes the file already has. So, as PostgreSQL does with its WAL
 * segments, the appender keeps the segment zero-filled ahead of its write position (a
 * background write of `preallocateBytes` zeros, started when less than half of it is left)
 * and groups are written over those zeros. The fill writes and syncs through a handle of its
 * own: Linux reports a writeback error once per open file description, to whichever of its
 * concurrent fsyncs looks first, so a fill's sync on the groups' handle could take the error
 * of a group's pages and let that group be acknowledged; on separate descriptions each sync
 * sees it. On the groups' handle only one fdatasync ever runs at a time. (Syncing the zeros
 * with the next group instead, on one handle, measured slower than no fill at all.) Recovery already stops at a zero length
 * (record.ts), so a zero-filled tail reads as the end of the log. The zeros are only an
 * optimisation: a group that does not fit in them waits for an extension in flight (they must
 * not overlap) and otherwise grows the file as before; a failed extension (a full disk) is
 * cut back and not retried in that segment.
 *
 * Positions are assigned here, by the only writer, so they are exact: a record is the bytes
 * [from, to) of its segment. A new segment starts once the current one has passed
 * `segmentBytes` (checked before each group, so a segment can overshoot by one group).
 *
 * A failed write or sync (a full disk, an I/O error) rejects its group — those pushes were
 * never acknowledged — but may have left some or all of its bytes in the file, and complete
 * records there would be applied after a restart: stored though refused, and stored again
 * when the client resends them. So the file is truncated back to its last acknowledged byte
 * (and synced) *before* the group is rejected: a push is reported failed only once its bytes
 * can no longer be applied, so a crash at any instant after the rejection cannot store it.
 * Should the truncation itself fail, the length field of the group's first record is zeroed
 * (a write inside the file's existing extent, which a full disk still allows), so recovery
 * stops reading there; the truncation stays owed and no further group is written until it
 * succeeds (each first retries it, and is rejected if it still fails). Appending then
 * continues in the same segment. A segment whose creation failed is removed at once, not
 * left empty.
 */
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { SEGMENT_HEADER_BYTES } from './record.ts';
import { createSegment, removeSegment, segmentName } from './segment-files.ts';

/** A record made durable by the appender. */
export interface Appended<T> {
  segment: number;
  from: number;
  to: number;
  rows: number;
  /** Whatever the caller attached to the record (the record bytes, to apply without re-reading). */
  tag: T;
}

/** A record ready to be written: its bytes, its row count, what the caller attached to it. */
export interface FramedRecord<T> {
  buf: Buffer;
  rows: number;
  tag: T;
}

/** Where and how to append, and whom to tell when records are durable or segments sealed. */
export interface AppenderOptions<T, P = never> {
  dir: string;
  /** Number of the segment to create first (greater than any number the log ever used). */
  firstSegment: number;
  segmentBytes: number;
  fsync: boolean;
  /** Zero-filled bytes kept ahead of the write position (see above); 0 turns it off. Default 4 MiB with `fsync`, 0 without. */
  preallocateBytes?: number;
  /** The file calls, replaceable in tests (to observe or delay writes and syncs); default the FileHandle's own. */
  io?: AppenderIo;
  /**
   * Frames parts (`appendPart`) that go to the log in the same write as records: called when
   * their group is taken, with the parts appended one after the other (in order), so parts
   * appended while a write is in flight can share a record. Required for `appendPart`.
   */
  frame?(parts: P[]): FramedRecord<T>[];
  /** Called synchronously, in log order, when a group is durable — before its pushes resolve. */
  onDurable(records: Appended<T>[]): void;
  /** Called when a group's write failed, once its bytes can no longer be applied and before its appends reject, with the parts it held. */
  onFailed?(parts: P[], err: unknown): void;
  /** Called when a segment will get no more records; `end` is its last durable byte. */
  onSealed(segment: number, end: number): void;
}

/** The writing end of the log (one per process and folder). */
export interface Appender<T, P = never> {
  /** Appends one encoded record; resolves once it is durable, rejects if its write failed. */
  append(record: Buffer, rows: number, tag: T): Promise<void>;
  /** Appends a part of a record framed with its group (`frame`); resolves and rejects as `append`. */
  appendPart(part: P): Promise<void>;
  /** Resolves when nothing is waiting or being written. */
  idle(): Promise<void>;
  /** Finishes queued appends, seals and closes the current segment. Further appends throw. */
  close(): Promise<void>;
  /** Counters: `groups` = writes (= fdatasyncs when `fsync`), `records`, `bytes`. */
  readonly stats: { groups: number; records: number; bytes: number };
}

/** How bytes reach the disk; replaceable in tests (to observe and delay writes and syncs). */
export interface AppenderIo {
  /** Writes all of `bufs`, one after the other, at `position` of the segment (not yet durable). */
  write(file: FileHandle, bufs: readonly Buffer[], position: number): Promise<void>;
  /** fdatasync: everything written before the call is durable once it returns. */
  sync(file: FileHandle): Promise<void>;
  /** Another handle on segment `n` (an open file description of its own), for the zero fill. */
  reopen(dir: string, n: number): Promise<FileHandle>;
}

/**
 * The real calls, both on libuv's thread pool: the event loop goes on answering requests
 * meanwhile. (Opening segments with O_DSYNC instead, one trip to the pool per group instead
 * of two, measured slower here: wal.bench.ts at 50 callers, 7–9k appends/s against 8–12k.)
 */
const fileIo: AppenderIo = {
  // One vectored write: a group's records go out as they are, never copied into one buffer.
  async write(file, bufs, position) {
    let left = bufs.filter((b) => b.length > 0);
    for (let at = position; left.length > 0; ) {
      const { bytesWritten } = await file.writev(left, at);
      at += bytesWritten;
      left = unwritten(left, bytesWritten);
    }
  },
  sync: (file) => file.datasync(),
  reopen: (dir, n) => open(path.join(dir, segmentName(n)), 'r+'),
};

/** What is left of `bufs` after a short write of `done` bytes. */
export function unwritten(bufs: readonly Buffer[], done: number): Buffer[] {
  let i = 0;
  for (; i < bufs.length && done >= bufs[i]!.length; i++) done -= bufs[i]!.length;
  const rest = bufs.slice(i);
  if (rest.length > 0 && done > 0) rest[0] = rest[0]!.subarray(done);
  return rest;
}

/** Default zero-filled room ahead of the write position: about 10 ms of zeros to write on a plain disk. */
export const DEFAULT_PREALLOCATE_BYTES = 4 * 1024 * 1024;

/**
 * The zero fill's bytes: one small shared buffer, repeated in a vectored write, instead of a
 * fresh `preallocateBytes` buffer per fill (garbage the ingest thread's GC had to account for).
 */
const ZEROS = Buffer.alloc(64 * 1024);
function zeros(bytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let left = bytes; left > 0; left -= ZEROS.length) out.push(left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
  return out;
}

interface Waiting<T, P> {
  /** A framed record, or a part to frame with the group. */
  record: FramedRecord<T> | null;
  part: P | undefined;
  resolve(): void;
  reject(err: unknown): void;
}

/** Creates the first segment and returns the appender writing to it. */
export async function openAppender<T, P = never>(opts: AppenderOptions<T, P>): Promise<Appender<T, P>> {
  let segment = opts.firstSegment;
  let fh: FileHandle | null = await createSegment(opts.dir, segment);
  let size = SEGMENT_HEADER_BYTES;
  /** The file may hold bytes past `size` from a failed group: truncate before writing on. */
  let dirty = false;
  let closed = false;
  let waiting: Waiting<T, P>[] = [];
  let running: Promise<void> | null = null;
  const stats = { groups: 0, records: 0, bytes: 0 };
  const io = opts.io ?? fileIo;
  const prealloc = opts.preallocateBytes ?? (opts.fsync ? DEFAULT_PREALLOCATE_BYTES : 0);
  /** The current segment holds durable zeros up to here (nothing beyond `size` is a record). */
  let zeroedEnd = SEGMENT_HEADER_BYTES;
  /** The background zero-fill in flight: it writes from `zeroedEnd` on, so groups stay below it. */
  let extending: Promise<void> | null = null;
  /** A zero-fill failed in this segment (a full disk): not tried again until the next one. */
  let extendFailed = false;

  /**
   * Starts zero-filling the next `prealloc` bytes (capped at the segment's size) once less than
   * half of that is left ahead of `size`. Runs beside the groups; never throws.
   */
  function maybeExtend(): void {
    if (!prealloc || extending || extendFailed || !fh) return;
    const from = Math.max(zeroedEnd, size);
    const to = Math.min(from + prealloc, opts.segmentBytes);
    if (from - size >= prealloc / 2 || to <= from) return;
    const n = segment;
    extending = (async () => {
      // Through a handle of its own, so its sync never runs beside a group's on the groups'
      // handle (see the top of this file).
      let file: FileHandle | null = null;
      try {
        file = await io.reopen(opts.dir, n);
        await io.write(file, zeros(to - from), from);
        await io.sync(file);
        if (n === segment) zeroedEnd = to;
      } catch {
        extendFailed = true;
        // Give the space back (a full disk): only zeros lie past `from`, and no group writes there.
        await file?.truncate(from).catch(() => {});
      } finally {
        await file?.close().catch(() => {});
        extending = null;
      }
    })();
  }

  /** Lets a zero-fill in flight finish (before the file is cut, closed, or written where it writes). */
  async function settle(): Promise<void> {
    while (extending) await extending;
  }

  /** Seals the current segment (if any) and creates the next; a creation that fails leaves no file behind. */
  async function rotate(): Promise<void> {
    await settle();
    if (fh) {
      const old = fh;
      fh = null;
      opts.onSealed(segment, size);
      await old.close().catch(() => {});
      segment += 1;
    }
    try {
      fh = await createSegment(opts.dir, segment);
    } catch (err) {
      // Half-created (no space for its header): remove it now. If even that fails, let the
      // applier remove it once swept, and never reuse its number.
      const removed = await removeSegment(opts.dir, segment).then(
        () => true,
        () => false,
      );
      if (!removed) {
        opts.onSealed(segment, SEGMENT_HEADER_BYTES);
        segment += 1;
      }
      throw err;
    }
    size = SEGMENT_HEADER_BYTES;
    zeroedEnd = SEGMENT_HEADER_BYTES;
    extendFailed = false;
    dirty = false;
  }

  /** Cuts the file back to its last acknowledged byte after a failed group. */
  async function truncateTail(): Promise<void> {
    if (!fh) return;
    await settle();
    await fh.truncate(size);
    await io.sync(fh);
    zeroedEnd = size;
    dirty = false;
  }

  /**
   * After a failed group: truncates, or failing that makes the bytes past `size` unreadable to
   * recovery (a zero length ends the scan, record.ts). Never throws; `dirty` stays set unless
   * the truncation succeeded.
   */
  async function discardTail(): Promise<void> {
    try {
      await truncateTail();
    } catch {
      const file = fh;
      if (!file) return;
      await io
        .write(file, zeros(4), size)
        .then(() => io.sync(file))
        .catch(() => {});
    }
  }

  /** The group's records in order: records as appended, each run of parts as `frame` makes them. */
  function frameGroup(group: Waiting<T, P>[]): FramedRecord<T>[] {
    const out: FramedRecord<T>[] = [];
    let parts: P[] = [];
    for (const w of group) {
      if (w.record) {
        if (parts.length > 0) out.push(...opts.frame!(parts));
        parts = [];
        out.push(w.record);
      } else parts.push(w.part as P);
    }
    if (parts.length > 0) out.push(...opts.frame!(parts));
    return out;
  }

  async function writeGroup(group: Waiting<T, P>[]): Promise<void> {
    const framed = frameGroup(group);
    if (dirty) await truncateTail();
    if (!fh || size >= opts.segmentBytes) await rotate();
    const file = fh!;
    const bufs = framed.map((r) => r.buf);
    let bytes = 0;
    for (const b of bufs) bytes += b.length;
    // Past the zeros a zero-fill in flight is writing: wait for it, never overlap it.
    if (extending && size + bytes > zeroedEnd) await settle();
    dirty = true; // from the first byte written until the sync returns
    await io.write(file, bufs, size);
    if (opts.fsync) await io.sync(file);
    dirty = false;
    const records: Appended<T>[] = [];
    let at = size;
    for (const r of framed) {
      records.push({ segment, from: at, to: at + r.buf.length, rows: r.rows, tag: r.tag });
      at += r.buf.length;
    }
    size = at;
    stats.groups += 1;
    stats.records += framed.length;
    stats.bytes += bytes;
    opts.onDurable(records);
    maybeExtend();
  }

  async function loop(): Promise<void> {
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      try {
        await writeGroup(group);
      } catch (err) {
        // Discard first, reject after: a crash between the two must not store a refused push.
        if (dirty) await discardTail();
        opts.onFailed?.(
          group.filter((w) => !w.record).map((w) => w.part as P),
          err,
        );
        for (const w of group) w.reject(err);
        continue;
      }
      for (const w of group) w.resolve();
    }
  }

  function kick(): void {
    if (running) return;
    running = loop().finally(() => {
      running = null;
      if (waiting.length > 0) kick(); // appended after the loop's last check
    });
  }

  async function idle(): Promise<void> {
    while (running) await running;
  }

  function enqueue(record: FramedRecord<T> | null, part: P | undefined): Promise<void> {
    if (closed) return Promise.reject(new Error('wal: appender is closed'));
    return new Promise<void>((resolve, reject) => {
      waiting.push({ record, part, resolve, reject });
      kick();
    });
  }

  return {
    stats,
    append: (buf, rows, tag) => enqueue({ buf, rows, tag }, undefined),
    appendPart(part) {
      if (!opts.frame) throw new Error('wal: appendPart needs the frame option');
      return enqueue(null, part);
    },
    idle,
    async close() {
      closed = true;
      await idle();
      await settle();
      if (dirty) await discardTail();
      if (fh) {
        const last = fh;
        fh = null;
        opts.onSealed(segment, size);
        await last.close();
      }
    },
  };
}
