/**
 * EventQueue: where accepted rows go on their way to ClickHouse. `push` resolves only once
 * the rows are durable — written to ClickHouse by the in-process queue (`queue.memory.ts`),
 * or stored in Redis as a BullMQ job (`queue.bullmq.ts`) — and that is when SDKs get their
 * ack. A rejected push means nothing of that batch was acknowledged.
 */
import type { WriteBatch } from '../../shared/rows.ts';

export interface EventQueue {
  /** Queues rows; resolves when they are durable. */
  push(batch: WriteBatch): Promise<void>;
  /** Rows accepted but not yet durable (or not yet written, for the BullMQ queue). */
  depth(): Promise<number>;
  /** Makes everything pushed so far durable, then stops accepting. */
  close(): Promise<void>;
}
