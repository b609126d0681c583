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
  /**
   * Sessions the store closed early to stay within its bounds (the in-process store's
   * `maxSessions`/`maxPerProject`); the caller writes them like `closed` ones.
   */
  evicted?: OpenSession[];
}

/** One hit of a `touchMany` call. */
export interface TouchItem {
  deviceId: string;
  hit: SessionHit;
  /** As `touch`'s seed: pure, the session this hit would start (may be called and left unused). */
  seed: () => OpenSession;
}

/** What the ingest step needs back from a hit: the session it went to (after the hit) and what it closed. */
export interface TouchSummary {
  /** The session's id and exit page after the hit. */
  id: string;
  exitPath: string;
  exitOrigin: string;
  started: boolean;
  closed?: OpenSession;
  evicted?: OpenSession[];
}

export interface SessionStore {
  /**
   * Records a hit for (project, device). Atomic. If an open session exists and has not
   * expired at `hit.at` (see `isExpiredAt`), the store applies the hit to it (`applyHit`) and
   * returns it. Otherwise the store calls `seed()` and stores its result as is: the seed must
   * already reflect this first hit (startedAt = lastSeenAt = hit.at, eventCount 1, entry and
   * exit from the hit, …); the store does not apply the hit to it again. An expired session
   * found in passing is removed and returned as `closed` (exactly once, like `claimExpired`).
   * `seed` must be pure: an implementation may call it and then not use the result (another
   * process opened the session first), and calls it only when a session may have to start.
   * It returns a new object on every call, with this touch's project and device (the
   * in-process store reads it into a record of its own and drops it).
   */
  touch(projectId: string, deviceId: string, hit: SessionHit, seed: () => OpenSession): Promise<TouchResult>;
  /**
   * Records many hits of one project, in order, each exactly as `touch` would (hits of one
   * device see the ones before them). One round trip for a whole ingest batch on Redis
   * instead of one per event. Each hit is atomic; the call as a whole is not (another
   * process's hit may fall between two of them, as between two `touch` calls).
   */
  touchMany(projectId: string, items: TouchItem[]): Promise<TouchSummary[]>;
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

/** A session with every field empty; the compiler keeps it in step with OpenSession. */
export function blankSession(over: Partial<OpenSession> = {}): OpenSession {
  return {
    id: '',
    projectId: '',
    deviceId: '',
    profileId: '',
    startedAt: 0,
    lastSeenAt: 0,
    keepAliveUntil: 0,
    eventCount: 0,
    screenViewCount: 0,
    revenue: 0,
    entryPath: '',
    entryOrigin: '',
    exitPath: '',
    exitOrigin: '',
    referrer: '',
    referrerName: '',
    referrerType: '',
    utmSource: '',
    utmMedium: '',
    utmCampaign: '',
    utmTerm: '',
    utmContent: '',
    country: '',
    region: '',
    city: '',
    os: '',
    osVersion: '',
    browser: '',
    browserVersion: '',
    device: '',
    brand: '',
    model: '',
    ...over,
  };
}

/** The fields a hit changes (`applyHit`) and expiry reads: an OpenSession, or a store's own record of one. */
export type SessionProgress = Pick<
  OpenSession,
  | 'profileId'
  | 'startedAt'
  | 'lastSeenAt'
  | 'keepAliveUntil'
  | 'eventCount'
  | 'screenViewCount'
  | 'revenue'
  | 'entryPath'
  | 'entryOrigin'
  | 'exitPath'
  | 'exitOrigin'
>;

/** When the session closes if nothing else happens. */
export function expiresAt(s: SessionProgress, timeoutMs: number): number {
  return Math.max(s.lastSeenAt + timeoutMs, s.keepAliveUntil);
}

/** True when `s` has expired at time `at`: a hit at `at` starts a new session. */
export function isExpiredAt(s: SessionProgress, at: number, timeoutMs: number): boolean {
  return at >= expiresAt(s, timeoutMs);
}

/**
 * Applies a hit to an open, unexpired session, in place. The reference for both stores
 * (`sessions.redis.ts` repeats it in Lua). Entry is the earliest hit, exit the latest (ties go
 * to the later arrival; a hit without a page keeps the exit page), so out-of-order hits never move lastSeenAt back; startedAt moves back
 * when a hit is older than the first one seen. A profile id is set only when the session had none.
 */
export function applyHit(s: SessionProgress, hit: SessionHit): void {
  if (hit.at >= s.lastSeenAt) {
    s.lastSeenAt = hit.at;
    // Events without a page (a data-track click, link_out) happen on the last page seen.
    if (hit.path) {
      s.exitPath = hit.path;
      s.exitOrigin = hit.origin;
    }
  }
  if (hit.at < s.startedAt) {
    s.startedAt = hit.at;
    s.entryPath = hit.path;
    s.entryOrigin = hit.origin;
  }
  s.eventCount += 1;
  if (hit.isScreenView) s.screenViewCount += 1;
  // Saturating: the column is UInt64 and a JS sum past 2^53 loses precision (then serialises
  // as `1e+21`, which ClickHouse refuses); no session legitimately comes near it.
  s.revenue = Math.min(s.revenue + hit.revenue, Number.MAX_SAFE_INTEGER);
  if (hit.profileId && !s.profileId) s.profileId = hit.profileId;
}
