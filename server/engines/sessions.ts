/**
 * SessionStore: the open sessions, keyed by (project, device). A session stays open while
 * events keep arriving within the timeout, or while an SDK socket keeps it alive. Closing is
 * exactly-once: whoever closes a session (a later event finding it expired, or the reaper)
 * gets it back from the store once, across every process, and writes its `sessions` row.
 * Implementations: `sessions.memory.ts` (embedded), `sessions.redis.ts` (distributed);
 * both pass `sessions.contract.ts`.
 */

/** Everything known about an open session; becomes a `sessions` row when it closes. */
export interface OpenSession {
  id: string;
  projectId: string;
  deviceId: string;
  profileId: string;
  /** ms since epoch of the first and latest event. */
  startedAt: number;
  lastSeenAt: number;
  /** ms; the session may not close before this (an SDK socket is open and heartbeating). */
  keepAliveUntil: number;
  eventCount: number;
  screenViewCount: number;
  revenue: number;
  entryPath: string;
  entryOrigin: string;
  exitPath: string;
  exitOrigin: string;
  referrer: string;
  referrerName: string;
  referrerType: string;
  utmSource: string;
  utmMedium: string;
  utmCampaign: string;
  utmTerm: string;
  utmContent: string;
  country: string;
  region: string;
  city: string;
  os: string;
  osVersion: string;
  browser: string;
  browserVersion: string;
  device: string;
  brand: string;
  model: string;
}

/** What one event adds to its session. */
export interface SessionHit {
  at: number;
  path: string;
  origin: string;
  profileId: string;
  isScreenView: boolean;
  revenue: number;
}

export interface TouchResult {
  session: OpenSession;
  /** True when this hit opened the session (emit `session_start`). */
  started: boolean;
  /** An expired session this hit found and closed in passing; the caller writes it. */
  closed?: OpenSession;
}

export interface SessionStore {
  /**
   * Records a hit for (project, device). If an open session exists and has not expired at
   * `hit.at`, it is updated and returned; otherwise `seed()` makes a new session (with the
   * hit applied) and an expired one found in passing is returned as `closed`. Atomic.
   */
  touch(projectId: string, deviceId: string, hit: SessionHit, seed: () => OpenSession): Promise<TouchResult>;
  /** The open session for (project, device), or null. Does not check expiry. */
  get(projectId: string, deviceId: string): Promise<OpenSession | null>;
  /** Keeps the session from closing before `until` (ms); a no-op when none is open. */
  keepAlive(projectId: string, deviceId: string, until: number): Promise<void>;
  /**
   * Removes and returns up to `limit` sessions expired at `now` (last hit older than the
   * timeout and keep-alive passed). Each session is returned to exactly one caller.
   */
  claimExpired(now: number, limit: number): Promise<OpenSession[]>;
  /** Number of open sessions (for metrics). */
  size(): Promise<number>;
  close(): Promise<void>;
}

/** When the session closes if nothing else happens. */
export function expiresAt(s: OpenSession, timeoutMs: number): number {
  return Math.max(s.lastSeenAt + timeoutMs, s.keepAliveUntil);
}
