/**
 * What the WAL applier hands a chunk to: the chunk's records as bytes, exactly as they lie in
 * the log (wal/record.ts), not as row objects. The bytes are already the rows' JSON, so a
 * writer running elsewhere — the insert thread (server/store/insert-thread.ts), which owns
 * the chDB session off the ingest event loop — gets them without the main thread encoding
 * anything again; `decodingWriter` decodes them in the calling thread for any BatchWriter.
 */
import { emptyBatch, mergeInto, type WriteBatch } from '../../../shared/rows.ts';
import type { WriteOptions } from '../../store/writer.ts';
import type { BatchWriter } from '../queue.ts';
import { decodeRecords } from './record.ts';

/** Writes a chunk of the log; same retry contract as BatchWriter (same token ⇒ stored once). */
export interface RecordWriter {
  /**
   * Stores every row of `records` (whole records, header included, in log order). A retry
   * passes the same bytes, token and `splits`. The writer may keep `records` (it is not
   * reused by the caller).
   */
  write(records: Buffer, token: string, opts?: WriteOptions): Promise<void>;
  /** Releases what the writer holds (its thread, its store session); called once, by the queue's close. */
  close?(): Promise<void>;
}

/** The rows of whole records, in log order, as one batch. */
export function decodeChunk(records: Buffer): WriteBatch {
  const out = emptyBatch();
  for (const b of decodeRecords(records)) mergeInto(out, b);
  return out;
}

/** A RecordWriter decoding chunks in the calling thread and writing them with `writer`. */
export function decodingWriter(writer: BatchWriter): RecordWriter {
  return { write: (records, token, opts) => writer.write(decodeChunk(records), token, opts) };
}
