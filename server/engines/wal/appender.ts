/**
 * The WAL's writing side: appends records to the current segment with group commit. One
 * write + fdatasync is in flight at a time; every record that arrives meanwhile waits and goes
 * into the next write together, so a thousand concurrent pushes cost a handful of syncs, not a
 * thousand. A push is answered only after the write (and fdatasync, when `fsync`) holding it
 * has completed — that is the moment it may be acknowledged to an SDK.
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
import type { FileHandle } from 'node:fs/promises';
import { SEGMENT_HEADER_BYTES } from './record.ts';
import { createSegment, removeSegment } from './segment-files.ts';

/** A record made durable by the appender. */
export interface Appended<T> {
  segment: number;
  from: number;
  to: number;
  rows: number;
  /** Whatever the caller attached to the record (the record bytes, to apply without re-reading). */
  tag: T;
}

/** Where and how to append, and whom to tell when records are durable or segments sealed. */
export interface AppenderOptions<T> {
  dir: string;
  /** Number of the segment to create first (greater than any number the log ever used). */
  firstSegment: number;
  segmentBytes: number;
  fsync: boolean;
  /** Called synchronously, in log order, when a group is durable — before its pushes resolve. */
  onDurable(records: Appended<T>[]): void;
  /** Called when a segment will get no more records; `end` is its last durable byte. */
  onSealed(segment: number, end: number): void;
}

/** The writing end of the log (one per process and folder). */
export interface Appender<T> {
  /** Appends one encoded record; resolves once it is durable, rejects if its write failed. */
  append(record: Buffer, rows: number, tag: T): Promise<void>;
  /** Resolves when nothing is waiting or being written. */
  idle(): Promise<void>;
  /** Finishes queued appends, seals and closes the current segment. Further appends throw. */
  close(): Promise<void>;
  /** Counters: `groups` = writes (= fdatasyncs when `fsync`), `records`, `bytes`. */
  readonly stats: { groups: number; records: number; bytes: number };
}

interface Waiting<T> {
  buf: Buffer;
  rows: number;
  tag: T;
  resolve(): void;
  reject(err: unknown): void;
}

/** Creates the first segment and returns the appender writing to it. */
export async function openAppender<T>(opts: AppenderOptions<T>): Promise<Appender<T>> {
  let segment = opts.firstSegment;
  let fh: FileHandle | null = await createSegment(opts.dir, segment);
  let size = SEGMENT_HEADER_BYTES;
  /** The file may hold bytes past `size` from a failed group: truncate before writing on. */
  let dirty = false;
  let closed = false;
  let waiting: Waiting<T>[] = [];
  let running: Promise<void> | null = null;
  const stats = { groups: 0, records: 0, bytes: 0 };

  /** Seals the current segment (if any) and creates the next; a creation that fails leaves no file behind. */
  async function rotate(): Promise<void> {
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
    dirty = false;
  }

  /** Cuts the file back to its last acknowledged byte after a failed group. */
  async function truncateTail(): Promise<void> {
    if (!fh) return;
    await fh.truncate(size);
    await fh.datasync();
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
      await file
        .write(Buffer.alloc(4), 0, 4, size)
        .then(() => file.datasync())
        .catch(() => {});
    }
  }

  async function writeGroup(group: Waiting<T>[]): Promise<void> {
    if (dirty) await truncateTail();
    if (!fh || size >= opts.segmentBytes) await rotate();
    const file = fh!;
    const buf = group.length === 1 ? group[0]!.buf : Buffer.concat(group.map((w) => w.buf));
    dirty = true; // from the first byte written until the sync returns
    for (let done = 0; done < buf.length; ) {
      const { bytesWritten } = await file.write(buf, done, buf.length - done, size + done);
      done += bytesWritten;
    }
    if (opts.fsync) await file.datasync();
    dirty = false;
    const records: Appended<T>[] = [];
    let at = size;
    for (const w of group) {
      records.push({ segment, from: at, to: at + w.buf.length, rows: w.rows, tag: w.tag });
      at += w.buf.length;
    }
    size = at;
    stats.groups += 1;
    stats.records += group.length;
    stats.bytes += buf.length;
    opts.onDurable(records);
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

  return {
    stats,
    append(buf, rows, tag) {
      if (closed) return Promise.reject(new Error('wal: appender is closed'));
      return new Promise<void>((resolve, reject) => {
        waiting.push({ buf, rows, tag, resolve, reject });
        kick();
      });
    },
    idle,
    async close() {
      closed = true;
      await idle();
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
