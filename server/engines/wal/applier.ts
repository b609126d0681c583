/**
 * The WAL's reading side: applies durable records to ClickHouse in log order, exactly once
 * across crashes. A chunk starts when `flushSize` rows are pending, `flushIntervalMs` after
 * the oldest pending record was accepted, or at once when someone waits for `applied()` or
 * the queue closes; it takes every record waiting then, up to about `maxChunkRows` rows (a
 * record is never split; a chunk never spans segments). So chunks are about `flushSize` rows
 * while inserts keep up, and grow when records pile up behind a running insert: each insert
 * costs chDB a fixed ≈ 150 ms of CPU (parts of the events table and every rollup) besides its
 * rows, and fewer, larger inserts are how a backlog drains (docs/write-path.md). For each
 * chunk, in this order:
 *   1. record the intent {segment, from, to} durably in the checkpoint;
 *   2. `writer.write(rows, token)` with the token derived from that exact range;
 *   3. record the committed position (end of the chunk), clearing the intent;
 * each step retried with backoff until it succeeds (same range, same token). When the next
 * chunk is already due at 3 (a backlog), its intent is saved together with the commit, so a
 * busy applier pays one checkpoint save (≈ 2 fsyncs) per chunk, not two. A crash between 1
 * and 3 is repaired at start-up by re-applying that very range first (wal/recover.ts).
 * Sealed segments whose records are all committed are deleted.
 */
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../metrics.ts';
import type { SplitMemo } from '../../store/insert-split.ts';
import { type Checkpoint, chunkToken, type Range, saveCheckpoint } from './checkpoint.ts';
import type { RecordWriter } from './record-writer.ts';
import { readSegmentRange, removeSegment, syncDir } from './segment-files.ts';

function sameRange(a: Range | null, b: Range): boolean {
  return a !== null && a.segment === b.segment && a.from === b.from && a.to === b.to;
}

/** A durable record waiting to be applied. */
export interface PendingRecord {
  segment: number;
  from: number;
  to: number;
  rows: number;
  /** When it was accepted (ms epoch; 0 for records recovered at start-up: due at once). */
  since: number;
  /** The record's bytes as in the segment (header included), when still held in memory; null: read back from the segment. */
  bytes: Buffer | null;
}

/** Everything the applier needs; the queue passes its own options through. */
export interface ApplierOptions {
  dir: string;
  /** Gets each chunk as the log's bytes (wal/record-writer.ts). */
  writer: RecordWriter;
  /** The checkpoint as last saved. */
  checkpoint: Checkpoint;
  /** A range that must be applied first, exactly as it is (an intent found at start-up). */
  forced: Range | null;
  flushSize: number;
  /** Most rows in one chunk (about; records are not split) when more than `flushSize` are waiting. */
  maxChunkRows: number;
  flushIntervalMs: number;
  /** Rows kept in memory for applying; records beyond are read back from disk. */
  maxMemoryRows: number;
  /** First retry delay; doubles per attempt up to 5 s. */
  retryBaseMs: number;
  /** Failed attempts per chunk tolerated while closing before giving up (the rest stays in the log). */
  closeRetries: number;
  metrics?: Metrics;
  log?: Logger;
  /** Called after each committed chunk with its row count. */
  onApplied(rows: number): void;
  /** Runs before applied segments are deleted (the id log is made durable first). */
  beforeRemove?(): Promise<void>;
}

/** The reading end of the log: applies what it is handed, in order, exactly once. */
export interface Applier {
  /** Hands over durable records, in log order. */
  add(records: PendingRecord[]): void;
  /** Segment `n` gets no more records; it is deleted once all of them are committed. */
  sealed(n: number): void;
  /** Resolves once every record added so far is committed; starts their chunks without waiting. */
  applied(): Promise<void>;
  /** Applies everything added, then stops. Rejects if ClickHouse kept failing (rows stay in the log). */
  close(): Promise<void>;
  /** Rows added and not yet committed. */
  pendingRows(): number;
  /** Pending rows whose bytes are held in memory (at most `maxMemoryRows`). */
  heldRows(): number;
  /** How far behind the log ClickHouse is, and whether applying is failing right now. */
  health(): ApplyHealth;
  /** Chunks committed since start (tests and benchmarks). */
  readonly stats: { chunks: number; rows: number };
}

/** The applier's state for health checks. */
export interface ApplyHealth {
  /** Rows acknowledged and not yet in ClickHouse. */
  pendingRows: number;
  /** Age of the oldest of them (ms; 0 when none); records recovered at start-up count from the start. */
  lagMs: number;
  /** Since when (ms epoch) the current chunk keeps failing; null while applying works. */
  failingSince: number | null;
  lastError: string | null;
}

interface Waiter {
  target: number;
  resolve(): void;
  reject(err: unknown): void;
}

/** An applier starting from `opts.checkpoint`; records arrive through `add`. */
export function createApplier(opts: ApplierOptions): Applier {
  let cp = opts.checkpoint;
  let forced = opts.forced;
  let recs: PendingRecord[] = [];
  let head = 0;
  let pending = 0;
  let memRows = 0;
  let added = 0;
  let done = 0;
  let hurryTo = 0;
  let closing = false;
  let failure: unknown = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const waiters: Waiter[] = [];
  const sealedSegments = new Set<number>();
  let sweeps: Promise<void> = Promise.resolve();
  const stats = { chunks: 0, rows: 0 };
  const startedAt = Date.now();
  let failingSince: number | null = null;
  let lastError: string | null = null;
  const maxChunkRows = Math.max(opts.flushSize, opts.maxChunkRows);

  /** Whether the chunk starting at recs[at] should be written now, given the rows and records left once all before `at` is committed. */
  function dueAt(at: number, rowsLeft: number, doneThen: number, hasForced: boolean): boolean {
    if (at >= recs.length || failure) return false;
    if (hasForced || closing || hurryTo > doneThen || rowsLeft >= opts.flushSize) return true;
    return Date.now() >= recs[at]!.since + opts.flushIntervalMs;
  }
  const due = () => dueAt(head, pending, done, forced !== null);

  function schedule(): void {
    if (running) return;
    if (due()) {
      if (timer) clearTimeout(timer);
      timer = null;
      running = applyNext()
        .catch((err) => fail(err))
        .finally(() => {
          running = null;
          schedule();
        });
    } else if (!timer && head < recs.length && !failure) {
      const wait = Math.max(0, recs[head]!.since + opts.flushIntervalMs - Date.now());
      timer = setTimeout(() => {
        timer = null;
        schedule();
      }, wait);
    }
  }

  function fail(err: unknown): void {
    failure = err;
    for (const w of waiters.splice(0)) w.reject(err);
  }

  /** The chunk starting at recs[at]: exactly range `f` if given, else one segment's waiting records up to about maxChunkRows rows. */
  function takeChunk(at: number, f: Range | null): { range: Range; count: number; rows: number } {
    const first = recs[at]!;
    let i = at;
    let rows = 0;
    if (f) {
      while (i < recs.length && recs[i]!.segment === f.segment && recs[i]!.to <= f.to) rows += recs[i++]!.rows;
      if (first.segment !== f.segment || first.from !== f.from || recs[i - 1]?.to !== f.to) {
        throw new Error(`wal: the recorded intent ${JSON.stringify(f)} does not match the log's records`);
      }
    } else {
      while (i < recs.length && recs[i]!.segment === first.segment && rows < maxChunkRows) rows += recs[i++]!.rows;
    }
    return { range: { segment: first.segment, from: first.from, to: recs[i - 1]!.to }, count: i - at, rows };
  }

  /**
   * Records recs[from, from + count) give their bytes up (they are read back from the log if
   * needed again). Applied records must: the array itself is only compacted every few thousand
   * records, and until then it would keep those chunks alive (≈ 60 MB at 20k events/s).
   */
  function dropBytes(from: number, count: number): void {
    for (let i = from; i < from + count; i++) {
      const r = recs[i]!;
      if (r.bytes) memRows -= r.rows;
      r.bytes = null;
    }
  }

  /** The chunk's records exactly as they lie in the segment: from memory when all are held, else read back. */
  async function chunkBytes(range: Range, count: number): Promise<Buffer> {
    const slice = recs.slice(head, head + count);
    if (slice.every((r) => r.bytes)) return Buffer.concat(slice.map((r) => r.bytes!));
    return readSegmentRange(opts.dir, range.segment, range.from, range.to);
  }

  async function applyNext(): Promise<void> {
    const { range, count, rows } = takeChunk(head, forced);
    forced = range; // until it is committed, this exact range is the next chunk
    const token = chunkToken(cp.logId, range);
    let phase: 'intent' | 'write' | 'commit' = sameRange(cp.intent, range) ? 'write' : 'intent';
    let next: Checkpoint | null = null;
    // Splits of refused inserts, saved with the intent before their halves are tried.
    const splitTokens = new Set(phase === 'write' ? (cp.splits ?? []) : []);
    const splits: SplitMemo = {
      has: (t) => splitTokens.has(t),
      async add(t) {
        splitTokens.add(t);
        const saved = { ...cp, intent: range, splits: [...splitTokens] };
        await saveCheckpoint(opts.dir, saved);
        cp = saved;
      },
      tokens: () => [...splitTokens],
    };
    for (let attempt = 0; ; attempt++) {
      try {
        if (phase === 'intent') {
          await saveCheckpoint(opts.dir, { ...cp, intent: range });
          cp = { ...cp, intent: range };
          phase = 'write';
        }
        if (phase === 'write') {
          const bytes = await chunkBytes(range, count);
          // The writer has its own copy of the chunk now (transferred to the insert thread):
          // the records give theirs up, so a chunk's bytes are not held twice while chDB inserts
          // it (≈ 30 MB for 40,000 rows). A retry reads the range back from the log.
          dropBytes(head, count);
          await opts.writer.write(bytes, token, { splits });
          phase = 'commit';
        }
        // The commit; when the following chunk is already due (a backlog), its intent goes
        // into the same save — one checkpoint write per chunk instead of two.
        if (!next) {
          const at = head + count;
          const following = dueAt(at, pending - rows, done + count, false) ? takeChunk(at, null).range : null;
          next = { ...cp, committed: { segment: range.segment, offset: range.to }, intent: following, splits: undefined };
        }
        await saveCheckpoint(opts.dir, next);
        failingSince = null;
        lastError = null;
        break;
      } catch (err) {
        failingSince ??= Date.now();
        lastError = err instanceof Error ? err.message : String(err);
        opts.metrics?.flushFailures.inc();
        opts.log?.error({ err, attempt, phase, token, rows }, 'wal: applying a chunk failed; retrying');
        if (closing && attempt >= opts.closeRetries) throw err;
        await new Promise((r) => setTimeout(r, Math.min(opts.retryBaseMs * 2 ** attempt, 5000)));
      }
    }
    cp = next;
    forced = next.intent;
    head += count;
    if (head > 4096 && head * 2 > recs.length) {
      recs = recs.slice(head);
      head = 0;
    }
    pending -= rows;
    done += count;
    stats.chunks += 1;
    stats.rows += rows;
    opts.onApplied(rows);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.target <= done) waiters.splice(i, 1)[0]!.resolve();
    }
    await queueSweep();
  }

  /** Runs `sweep` after any sweep already going (it is idempotent and reads state when it runs). */
  function queueSweep(): Promise<void> {
    sweeps = sweeps.then(sweep);
    return sweeps;
  }

  /** Deletes sealed segments none of whose records is still pending. */
  async function sweep(): Promise<void> {
    const oldestPending = head < recs.length ? recs[head]!.segment : Number.POSITIVE_INFINITY;
    const gone = [...sealedSegments].filter((n) => n < oldestPending);
    if (gone.length === 0) return;
    try {
      await opts.beforeRemove?.();
      for (const n of gone) {
        await removeSegment(opts.dir, n);
        sealedSegments.delete(n);
      }
      await syncDir(opts.dir);
    } catch (err) {
      opts.log?.warn({ err }, 'wal: removing applied segments failed; will retry later');
    }
  }

  function applied(): Promise<void> {
    if (failure) return Promise.reject(failure);
    if (done >= added) return Promise.resolve();
    const target = added;
    hurryTo = Math.max(hurryTo, target);
    return new Promise<void>((resolve, reject) => {
      waiters.push({ target, resolve, reject });
      schedule();
    });
  }

  return {
    stats,
    add(records) {
      for (const r of records) {
        if (r.bytes && memRows + r.rows > opts.maxMemoryRows) r.bytes = null;
        if (r.bytes) memRows += r.rows;
        recs.push(r);
        pending += r.rows;
      }
      added += records.length;
      schedule();
    },
    sealed(n) {
      sealedSegments.add(n);
      void queueSweep();
    },
    applied,
    async close() {
      closing = true;
      try {
        await applied();
      } finally {
        if (timer) clearTimeout(timer);
        timer = null;
        while (running) await running;
        await sweeps;
      }
    },
    pendingRows: () => pending,
    heldRows: () => memRows,
    health() {
      const oldest = head < recs.length ? recs[head]!.since || startedAt : null;
      return { pendingRows: pending, lagMs: oldest === null ? 0 : Math.max(0, Date.now() - oldest), failingSince, lastError };
    },
  };
}
