/**
 * Presence: how many SDK sockets are open right now, per project, across every ingest node.
 * Each node reports its own per-project counts and repeats them as a heartbeat; a report
 * counts until `ttlMs` after it was made, so the sockets of a node that died (no goodbye)
 * disappear within one TTL. A node that leaves cleanly reports 0 for its projects.
 * Implementations: `presence.memory.ts` (one process), `presence.redis.ts`; both pass
 * `presence.contract.ts`.
 */
export interface Presence {
  /**
   * Records that `nodeId` holds `count` open sockets for `projectId` (replacing its previous
   * report for that project; 0 removes it). Call it again within the TTL to keep it counting.
   */
  set(nodeId: string, projectId: string, count: number): Promise<void>;
  /** Open sockets for `projectId`, summed over the nodes whose reports have not expired. */
  count(projectId: string): Promise<number>;
  /** `count` for every project with at least one open socket. */
  counts(): Promise<Record<string, number>>;
  /** Releases what the store opened (not a client it was given). */
  close(): Promise<void>;
}

export interface PresenceOptions {
  /** How long a report counts without being repeated (default 30 s). */
  ttlMs?: number;
}

export const DEFAULT_PRESENCE_TTL_MS = 30_000;
