/**
 * Reads an `events` job into what the insert takes: a CompactChunk (server/engines/wal/
 * batch-format.ts), each table's rows as JSONCompactEachRow text under the column list they
 * carry. Version 3 payloads (what ingest nodes queue now) already hold that text, in the WAL's
 * batch format: it is sliced into sections, not parsed row by row, so the worker builds no row
 * objects and re-encodes nothing. Versions 1 and 2 (queued by older ingest nodes before an
 * upgrade) are read as before (shared/jobs.ts) and encoded as lines of the current lists.
 *
 * The same reading serves a new job and the rebuild of a recorded group (events.flush.ts), so a
 * group is always made of the same lines in the same order: same tokens, same splits.
 */
import { UnrecoverableError } from 'bullmq';
import { asEventsJobV1, EventsJobV3, readEventsJob } from '../../shared/jobs.ts';
import { addBatchToChunk, addRowsToChunk, type CompactChunk, chunkRows, emptyChunk } from '../engines/wal/batch-format.ts';
import { type ColumnLists, UnknownColumnsError, WAL_COLUMNS } from '../engines/wal/column-lists.ts';
import type { QuarantineTable } from '../store/quarantine.ts';
import { salvageBatch } from './salvage.ts';

/** A job's rows, and those of an invalid version 1 or 2 payload that do not validate (to quarantine). */
export interface JobChunk {
  chunk: CompactChunk;
  rows: number;
  invalid: Array<{ table: QuarantineTable; index: number; row: unknown; error: Error }>;
}

/**
 * The rows of an `events` job's payload. Throws UnrecoverableError for a payload with nothing
 * to read (a damaged envelope or section, a row count that does not match), and a plain Error
 * for version 3 lines written with a column list this version does not know: a newer ingest
 * node queued it during a rolling upgrade, and a retry may reach a newer worker (BullMQ's
 * attempts and backoff; then the job waits in the failed set, nothing stored in part).
 * With `salvage`, an invalid version 1 or 2 payload is read row by row (salvage.ts).
 */
export function readJobChunk(data: unknown, salvage: boolean, lists: ColumnLists = WAL_COLUMNS): JobChunk {
  if ((data as { v?: unknown } | null)?.v === 3) return readV3(data, lists);
  const chunk = emptyChunk();
  const read = readEventsJob(data);
  if (read) {
    addRowsToChunk(read.batch, chunk, lists);
    return { chunk, rows: read.rows, invalid: [] };
  }
  const salvaged = salvage ? salvageBatch(asEventsJobV1(data)) : null;
  if (!salvaged) throw new UnrecoverableError('invalid events payload: no batch to read');
  addRowsToChunk(salvaged.batch, chunk, lists);
  return { chunk, rows: salvaged.rows, invalid: salvaged.invalid };
}

function readV3(data: unknown, lists: ColumnLists): JobChunk {
  const job = EventsJobV3.safeParse(data);
  if (!job.success) throw new UnrecoverableError(`invalid events payload: ${job.error.issues[0]?.message ?? 'does not match version 3'}`);
  const chunk = emptyChunk();
  const buf = Buffer.from(job.data.batch);
  try {
    if (buf.length > 0) addBatchToChunk(buf, 0, buf.length, chunk, lists);
  } catch (err) {
    if (err instanceof UnknownColumnsError) throw err;
    throw new UnrecoverableError(`invalid events payload: ${(err as Error).message}`);
  }
  const rows = chunkRows(chunk);
  if (rows !== job.data.rows) throw new UnrecoverableError(`invalid events payload: ${job.data.rows} rows announced, ${rows} in the batch`);
  return { chunk, rows, invalid: [] };
}
