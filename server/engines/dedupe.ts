/**
 * Dedupe: remembers client event ids already accepted, so an SDK resending a batch after a
 * reconnect never double-counts. An id goes through two states:
 *   claimed   — `claim` marks it atomically for a short lease while its events are being
 *               stored; a second claimer is told it is taken;
 *   confirmed — its events are durable (`confirm`, or the BullMQ queue in the same transaction
 *               as the job holding them); only then may a resend be answered as a duplicate.
 * A claim whose holder died (an ingest node killed between claim and queueing) is never
 * confirmed: its lease runs out and the resend is stored then. Answering resends of merely
 * claimed ids as duplicates would acknowledge events that were never stored.
 * `release` forgets ids whose write failed, so the client's retry is accepted at once.
 * Implementations: `dedupe.memory.ts`, `dedupe.redis.ts`; both pass `dedupe.contract.ts`.
 */
export interface Dedupe {
  /** Claims each key for `ttlMs` unless it is claimed or confirmed; returns, per key, true if this call claimed it. */
  claim(keys: string[], ttlMs: number): Promise<boolean[]>;
  /** Per key: true if it is confirmed (its events are durable), false if only claimed or unknown. */
  confirmed(keys: string[]): Promise<boolean[]>;
  /** Marks keys as confirmed for `ttlMs` (their events are durable). */
  confirm(keys: string[], ttlMs: number): Promise<void>;
  /** Forgets claimed keys (their write failed and will be retried); confirmed keys stay. */
  release(keys: string[]): Promise<void>;
  close(): Promise<void>;
}
