/**
 * The embedded shape's durable event queue: a write-ahead log in front of chDB.
 *
 * Durability story. `push` appends the batch as one checksummed record to the current log
 * segment and resolves once that write has been fdatasynced (group commit: every push that
 * arrives while a sync is in flight shares the next one), so SDKs are acked in milliseconds and
 * an acked batch survives SIGKILL or power loss. A background applier then copies the log into
 * ClickHouse in large chunks, each written with a deduplication token made of the chunk's exact
 * place in the log, after recording that intent in a checkpoint file — so after any crash the
 * interrupted chunk is re-sent identically and ClickHouse drops it if it had already landed:
 * nothing acknowledged is lost or counted twice. Applied segments are deleted.
 *
 * Limits worth knowing: the re-sent chunk is caught by the tables' deduplication window (the
 * last 1000 inserts, db/clickhouse/*.sql), which it always falls inside since it is the most
 * recent one. A push whose ack was lost in the crash may still be in the log and get applied;
 * an SDK that then resends it is answered from the ingest dedupe, which survives the restart:
 * each record carries its accepted client event ids, kept past the segment's deletion in the id
 * log (wal/id-log.ts) and handed back by `recoveredIds()` at start-up. Metrics: this queue records queueDepth, flushFailures and
 * walAppendSeconds; flushRows and flushSeconds come from the writer (createWriter(ch, metrics)).
 *
 * The files: `wal/record.ts` (byte format, torn-tail detection), `wal/appender.ts` (group
 * commit, rotation), `wal/applier.ts` (chunks, intent/commit, retries, deletion),
 * `wal/checkpoint.ts` (tokens, atomic checkpoint), `wal/recover.ts` (start-up rules).
 * One process per folder: keep `dir` inside the locked data folder (server/data-lock.ts).
 */

import { batchSize } from '../../shared/rows.ts';
import { AppError } from '../errors.ts';
import type { StorageHealth } from '../health.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { BatchWriter, EventQueue } from './queue.ts';
import { openAppender } from './wal/appender.ts';
import { createApplier } from './wal/applier.ts';
import { encodeSections } from './wal/batch-format.ts';
import { openIdLog } from './wal/id-log.ts';
import { type EncodedPush, encodeGroupRecord } from './wal/record.ts';
import { decodingWriter, type RecordWriter } from './wal/record-writer.ts';
import { recoverWal } from './wal/recover.ts';

/** Options of `createWalQueue`; the first four are the ones that matter. */
export interface WalQueueOptions {
  /** Folder of the log (created if missing); one process at a time. */
  dir: string;
  /**
   * Where applied chunks go; a retried token must not write twice (server/store/writer.ts).
   * A BatchWriter gets the rows decoded in this thread; a RecordWriter gets the log's bytes
   * (the insert thread, server/store/insert-thread.ts) and is closed with the queue.
   */
  writer: BatchWriter | { records: RecordWriter };
  /** Rows pending that start a ClickHouse write: its size while inserts keep up (records are not split). */
  flushSize: number;
  /**
   * Most rows in one write when more are waiting (a backlog behind a running insert). Default
   * flushSize. A larger insert costs chDB less CPU per row, so a backlog drains faster, but
   * holds more memory while it runs (docs/write-path.md, "Chunk size").
   */
  maxChunkRows?: number;
  /** Longest a pending row waits before its chunk is written. */
  flushIntervalMs: number;
  /** A new segment starts once the current one is larger than this. Default 64 MiB. */
  segmentBytes?: number;
  /** fdatasync before acking (default true). false survives a process crash, not power loss. */
  fsync?: boolean;
  /** Zero-filled room the log keeps ahead of its writes, for faster syncs (wal/appender.ts). Default 4 MiB with `fsync`. */
  preallocateBytes?: number;
  /** Rows pending beyond which `push` refuses with 503 `overloaded`. Default 5,000,000. */
  maxPendingRows?: number;
  /**
   * Pending rows whose record bytes are kept in memory to apply without re-reading the log.
   * Default maxChunkRows (one chunk ahead): a backlog beyond it is read back from the segment
   * (from the page cache, a copy of its bytes) — the writer gets the bytes either way, so
   * memory is all that a larger figure buys (50,000 rows were ≈ 24 MB under `/ws`, held as long
   * as acknowledgements ran ahead of chDB).
   */
  maxMemoryRows?: number;
  /**
   * Most rows in one record. The pushes of one write (a commit group) share records, framed
   * and checksummed once (wal/record.ts); records are never split between chunks, so a chunk
   * can pass flushSize by one record. Default a tenth of flushSize, at most 1,000; 1: a
   * record per push, as before. A push of more rows gets a record of its own.
   */
  groupRecordRows?: number;
  /** First retry delay of a failed chunk, doubling up to 5 s. Default 100 ms. */
  retryBaseMs?: number;
  /**
   * How long accepted client event ids must be remembered (DEDUPE_TTL_MS). Set, the log keeps
   * them across restarts (wal/id-log.ts) and `recoveredIds()` hands them back at start-up.
   */
  dedupeTtlMs?: number;
  metrics?: Metrics;
  log?: Logger;
}

/** The WAL queue: an EventQueue plus what tests, benchmarks and drains need. */
export interface WalQueue extends EventQueue {
  /** Resolves once everything pushed before the call is in ClickHouse (starts chunks at once). */
  applied(): Promise<void>;
  /** Apply lag, whether applying to ClickHouse or appending to the log is failing (for /healthz and /readyz). */
  health(): StorageHealth;
  /** Client event ids accepted within DEDUPE_TTL_MS before this start, with the time each has left (needs `dedupeTtlMs`). */
  recoveredIds(): Array<{ ids: string[]; ttlMs: number }>;
  /** Counters since start: append groups (= syncs), records, bytes; chunks and rows applied; rows recovered at start; pending rows whose bytes are held in memory now. */
  stats(): { groups: number; records: number; bytes: number; chunks: number; appliedRows: number; recoveredRows: number; heldRows: number };
}

/** A push waiting for its group's write: its encoded rows, when it was accepted, its ids. */
interface Part extends EncodedPush {
  since: number;
  /** performance.now() at the push, for walAppendSeconds. */
  started: number;
  ids: readonly string[] | undefined;
}

/** The group's parts as records of at most `maxRows` rows (a larger push alone), in order. */
function frameParts(parts: Part[], maxRows: number): Array<{ buf: Buffer; rows: number; tag: Tag }> {
  const out: Array<{ buf: Buffer; rows: number; tag: Tag }> = [];
  let from = 0;
  let rows = 0;
  const flush = (to: number) => {
    if (to === from) return;
    const members = from === 0 && to === parts.length ? parts : parts.slice(from, to);
    const buf = encodeGroupRecord(members);
    out.push({ buf, rows, tag: { bytes: buf, since: members[0]!.since, parts: members } });
    from = to;
    rows = 0;
  };
  for (let i = 0; i < parts.length; i++) {
    if (rows > 0 && rows + parts[i]!.rows > maxRows) flush(i);
    rows += parts[i]!.rows;
  }
  flush(parts.length);
  return out;
}

interface Tag {
  /** The encoded record, kept for applying without reading the log back. */
  bytes: Buffer;
  since: number;
  /** The pushes it holds. */
  parts: Part[];
}

/** Recovers `dir` (see wal/recover.ts), starts re-applying what is pending, and opens the log for appends. */
export async function createWalQueue(opts: WalQueueOptions): Promise<WalQueue> {
  const maxPending = opts.maxPendingRows ?? 5_000_000;
  const idLog = opts.dedupeTtlMs ? openIdLog(opts.dir, opts.dedupeTtlMs) : undefined;
  const rec = await recoverWal(opts.dir, opts.log, idLog);
  const recovered = idLog?.recent() ?? [];
  const idTimer = idLog
    ? setInterval(() => idLog.flush().catch((err) => opts.log?.warn({ err }, 'wal: writing accepted ids failed; retried')), 1000).unref()
    : null;
  const recoveredRows = rec.records.reduce((n, r) => n + r.rows, 0);
  let depth = recoveredRows;
  const setDepth = () => opts.metrics?.queueDepth.set(depth);
  setDepth();

  const writer = 'records' in opts.writer ? opts.writer.records : decodingWriter(opts.writer);
  const applier = createApplier({
    dir: opts.dir,
    writer,
    checkpoint: rec.checkpoint,
    forced: rec.forced,
    flushSize: opts.flushSize,
    maxChunkRows: opts.maxChunkRows ?? opts.flushSize,
    flushIntervalMs: opts.flushIntervalMs,
    maxMemoryRows: opts.maxMemoryRows ?? Math.max(opts.flushSize, opts.maxChunkRows ?? opts.flushSize),
    retryBaseMs: opts.retryBaseMs ?? 100,
    closeRetries: 5,
    metrics: opts.metrics,
    log: opts.log,
    onApplied(rows) {
      depth -= rows;
      setDepth();
    },
    beforeRemove: idLog && (() => idLog.flush()),
  });
  const groupRows = opts.groupRecordRows ?? Math.max(1, Math.min(1000, Math.floor(opts.flushSize / 10)));
  let appendFailing: { since: number; error: string } | null = null;
  const appender = await openAppender<Tag, Part>({
    dir: opts.dir,
    firstSegment: rec.nextSegment,
    segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024,
    fsync: opts.fsync ?? true,
    preallocateBytes: opts.preallocateBytes,
    frame: (parts) => frameParts(parts, groupRows),
    // What each push needs once durable or failed is done here, once per group, rather than
    // in handlers chained on every push's promise (a promise and closures per /track request).
    onDurable(records) {
      appendFailing = null;
      const now = performance.now();
      for (const r of records) {
        for (const p of r.tag.parts) {
          if (p.ids) idLog!.add(p.ids);
          opts.metrics?.walAppendSeconds.observe((now - p.started) / 1000);
        }
      }
      applier.add(records.map((r) => ({ segment: r.segment, from: r.from, to: r.to, rows: r.rows, since: r.tag.since, bytes: r.tag.bytes })));
    },
    onFailed(parts, err) {
      appendFailing ??= { since: Date.now(), error: err instanceof Error ? err.message : String(err) };
      let rows = 0;
      for (const p of parts) rows += p.rows;
      depth -= rows;
      setDepth();
      opts.log?.error({ err, rows, pushes: parts.length }, 'wal: append failed; pushes rejected');
    },
    onSealed: (n) => applier.sealed(n),
  });
  // Only now, with the log open for appends, start re-applying what recovery found.
  applier.add(rec.records);
  for (const n of rec.segments) applier.sealed(n);

  let closing: Promise<void> | null = null;
  // The latest push's append: appends complete in order, so this settling means all earlier ones did.
  let lastAppend: Promise<unknown> = Promise.resolve();

  return {
    push(batch, confirm) {
      if (closing) return Promise.reject(new AppError(503, 'shutting_down', 'Server is shutting down'));
      const rows = batchSize(batch);
      if (rows === 0) return Promise.resolve();
      if (depth + rows > maxPending) {
        return Promise.reject(new AppError(503, 'overloaded', 'Too many events waiting to be written; retry later'));
      }
      // Rows encoded now: what is applied is what was pushed, even if the caller reuses its
      // arrays afterwards. Framed into a record with the other pushes of its write
      // (frameParts); the same bytes go to the log and, later, to the writer.
      const ids = idLog && confirm?.ids.length ? confirm.ids : undefined;
      // performance.now, not the histogram's startTimer: that makes three closures, two
      // hrtime arrays and a labels object per push (one push per /track request).
      const part: Part = { sections: encodeSections(batch), rows, idsJson: ids && JSON.stringify(ids), since: Date.now(), started: performance.now(), ids };
      depth += rows;
      setDepth();
      // Resolves once durable (onDurable has run), rejects once the failure is accounted (onFailed).
      const appended = appender.appendPart(part);
      lastAppend = appended;
      return appended;
    },
    async depth() {
      return depth;
    },
    applied: async () => {
      await lastAppend.catch(() => {}); // a failed push was reported to its caller
      await applier.applied();
    },
    close() {
      closing ??= (async () => {
        await appender.close();
        if (idTimer) clearInterval(idTimer);
        try {
          await applier.close();
          await idLog?.flush();
          await idLog?.close();
        } catch (err) {
          throw new Error(`wal: closed with ${depth} rows not yet in ClickHouse; they stay in ${opts.dir} and are applied at the next start`, { cause: err });
        } finally {
          await writer.close?.();
        }
      })();
      return closing;
    },
    health: () => ({ ...applier.health(), appendFailing }),
    recoveredIds: () => recovered,
    stats() {
      const a = appender.stats;
      return {
        groups: a.groups,
        records: a.records,
        bytes: a.bytes,
        chunks: applier.stats.chunks,
        appliedRows: applier.stats.rows,
        recoveredRows,
        heldRows: applier.heldRows(),
      };
    },
  };
}
