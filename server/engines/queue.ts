/**
 * EventQueue: where accepted rows go on their way to ClickHouse. `push` resolves only once
 * the rows are durable — appended and fsynced to the embedded shape's write-ahead log
 * (`queue.wal.ts`), or stored in Redis as a BullMQ job (`queue.bullmq.ts`) — and that is when
 * SDKs get their ack. A rejected push means nothing of that batch was acknowledged. From
 * there, rows reach ClickHouse in large inserts through a BatchWriter, exactly once.
 */
import type { WriteBatch } from '../../shared/rows.ts';
import type { WriteOptions } from '../store/writer.ts';
import type { CompactChunk } from './wal/batch-format.ts';

/** Dedupe ids (see engines/dedupe.ts) whose events a push holds, to confirm once they are durable. */
export interface DedupeConfirmation {
  ids: string[];
  ttlMs: number;
}

export interface EventQueue {
  /**
   * Queues rows; resolves when they are durable. With `confirm`, a queue whose
   * `confirmsDedupe` is true confirms those dedupe ids in the same step that makes the rows
   * durable (atomically); other queues ignore it and the caller confirms after the push.
   */
  push(batch: WriteBatch, confirm?: DedupeConfirmation): Promise<void>;
  /** True if `push` confirms dedupe ids itself (see `push`). */
  readonly confirmsDedupe?: boolean;
  /** Rows accepted but not yet durable (or not yet written, for the BullMQ queue). */
  depth(): Promise<number>;
  /** Makes everything pushed so far durable, then stops accepting. */
  close(): Promise<void>;
}

export interface BatchWriter {
  /**
   * Writes every row of the batch; the same token on a retry must not write twice. Rows the
   * store refuses for their content are quarantined, not failed (server/store/writer.ts); pass
   * the same `splits` memo on every retry of one batch so its refused inserts split the same way.
   */
  write(batch: WriteBatch, token: string, opts?: WriteOptions): Promise<void>;
}

/** Writes rows already in their compact form (the distributed worker; same contract as BatchWriter). */
export interface ChunkWriter {
  /** Writes every row of `chunk`; see BatchWriter.write and Writer.writeChunk (server/store/writer.ts). */
  writeChunk(chunk: CompactChunk, token: string, opts?: WriteOptions): Promise<void>;
}
