/**
 * Dedupe: remembers client event ids already accepted, so an SDK resending a batch after a
 * reconnect never double-counts. `claim` marks ids atomically and tells which were new;
 * `release` forgets ids whose write failed, so the client's retry is accepted.
 * Implementations: `dedupe.memory.ts`, `dedupe.redis.ts`; both pass `dedupe.contract.ts`.
 */
export interface Dedupe {
  /** Marks each key as seen for `ttlMs`; returns, per key, true if it was not seen before. */
  claim(keys: string[], ttlMs: number): Promise<boolean[]>;
  /** Forgets keys (their write failed and will be retried). */
  release(keys: string[]): Promise<void>;
  close(): Promise<void>;
}
