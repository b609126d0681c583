/**
 * Start-up recovery of a WAL folder: works out what was acknowledged but not yet applied.
 *
 * Rules, in order:
 * - No checkpoint and no segments: a new log — a fresh `logId` is saved before anything else.
 *   Segments without a checkpoint: refuse to start (their tokens are unknown, so re-applying
 *   them could count rows twice).
 * - Segments numbered below the committed position are fully applied: deleted.
 * - Every other segment is fdatasynced and scanned; its valid records run up to the first
 *   torn or damaged record, and the rest of that file is ignored (logged, unless it is only
 *   zeros: the room the appender zero-fills ahead of its writes, appender.ts).
 * - Records at or after the committed position are pending, in log order.
 * - An intent beyond the committed position is the chunk that was being written when the
 *   process died: it is applied first, as exactly that range, with its original token.
 * - The appender starts a new segment numbered above every number the log has used, so the
 *   possibly torn tail of an old segment is never appended to.
 * - The client event ids every segment carries are written to the id log (id-log.ts) before
 *   any segment is deleted, so the dedupe rebuilt from it knows them all.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Logger } from '../../log.ts';
import type { PendingRecord } from './applier.ts';
import { type Checkpoint, isAfter, loadCheckpoint, type Range, saveCheckpoint } from './checkpoint.ts';
import type { IdLog } from './id-log.ts';
import { SEGMENT_HEADER_BYTES } from './record.ts';
import { listSegments, removeSegment, scanSegment, segmentName, syncDir } from './segment-files.ts';

/** What a WAL folder holds at start-up. */
export interface Recovered {
  checkpoint: Checkpoint;
  /** Pending records, in log order (not held in memory: read back when applied). */
  records: PendingRecord[];
  /** Segments found on disk that are kept (all sealed: nothing is appended to them again). */
  segments: number[];
  /** The chunk to re-apply first, or null. */
  forced: Range | null;
  /** Number for the appender's first segment. */
  nextSegment: number;
}

/** Applies the rules above to `dir` (creating it if needed) and says what to do next. */
export async function recoverWal(dir: string, log?: Logger, idLog?: IdLog): Promise<Recovered> {
  await mkdir(dir, { recursive: true });
  const found = await listSegments(dir);
  let checkpoint = await loadCheckpoint(dir);
  if (!checkpoint) {
    if (found.length > 0) {
      throw new Error(`wal: ${dir} holds segments but no wal.checkpoint; refusing to re-apply them under new tokens`);
    }
    checkpoint = { version: 1, logId: randomUUID(), committed: { segment: 0, offset: 0 }, intent: null };
    await saveCheckpoint(dir, checkpoint);
  }
  const { committed, intent } = checkpoint;
  const records: PendingRecord[] = [];
  const segments: number[] = [];
  let removed = false;
  const ids: string[] = [];
  const scans = new Map<number, Awaited<ReturnType<typeof scanSegment>>>();
  for (const n of found) {
    const scan = await scanSegment(dir, n);
    scans.set(n, scan);
    for (const id of scan.ids) ids.push(id);
  }
  // The ids of every segment go to the id log before any segment is deleted (id-log.ts).
  if (idLog && ids.length > 0) {
    idLog.add(ids);
    await idLog.flush();
  }
  for (const n of found) {
    if (n < committed.segment) {
      await removeSegment(dir, n);
      removed = true;
      continue;
    }
    const scan = scans.get(n)!;
    if (scan.validEnd < scan.size && !scan.zeroTail) {
      log?.warn({ segment: segmentName(n), validEnd: scan.validEnd, size: scan.size, reason: scan.stop }, 'wal: ignoring a torn or damaged tail');
    }
    const start = n === committed.segment ? committed.offset : SEGMENT_HEADER_BYTES;
    const boundary = start === SEGMENT_HEADER_BYTES || scan.records.some((r) => r.to === start);
    if (start > scan.validEnd || !boundary) {
      throw new Error(`wal: the checkpoint says ${segmentName(n)} is applied up to byte ${start}, but its valid records end at ${scan.validEnd}`);
    }
    for (const r of scan.records) {
      if (r.from >= start) records.push({ segment: n, from: r.from, to: r.to, rows: r.rows, since: 0, bytes: null });
    }
    segments.push(n);
  }
  if (removed) await syncDir(dir);

  let forced: Range | null = null;
  if (intent && isAfter({ segment: intent.segment, offset: intent.to }, committed)) {
    const first = records[0];
    const covered = records.some((r) => r.segment === intent.segment && r.to === intent.to);
    if (!first || first.segment !== intent.segment || first.from !== intent.from || !covered) {
      throw new Error(`wal: the checkpoint's intent ${JSON.stringify(intent)} does not match the records in ${dir}`);
    }
    forced = intent;
  }
  const used = Math.max(committed.segment, intent?.segment ?? 0, ...found);
  log?.info({ dir, segments: segments.length, pendingRecords: records.length, forced }, 'wal: recovered');
  return { checkpoint, records, segments, forced, nextSegment: used + 1 };
}
