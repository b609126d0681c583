/**
 * What `GET /healthz` and `GET /readyz` answer.
 *
 * - `/healthz` (liveness): 200 while the process accepts work — `{"status":"ok"}`, or
 *   `{"status":"degraded","reasons":[…]}` when storage is behind or failing, so a load balancer
 *   keeps the node (it still acknowledges durably) while monitoring sees the trouble; 503 only
 *   while starting or draining.
 * - `/readyz` (readiness): 503 while starting or draining, while the write-ahead log cannot be
 *   appended to (nothing can be acknowledged), when Redis is unreachable (ingest nodes), or when
 *   storage has been failing, or lagging behind acknowledgements, for longer than
 *   `READY_MAX_LAG_MS`; 200 otherwise. Both bodies carry the storage figures.
 */

/** The storage state a process can see: the WAL applier (embedded) or the flush worker (distributed). */
export interface StorageHealth {
  /** Rows acknowledged and not yet in ClickHouse (distributed: jobs waiting). */
  pendingRows: number;
  /** Age of the oldest of them, ms (0 when none). */
  lagMs: number;
  /** Since when (ms epoch) writing to ClickHouse keeps failing; null while it works. */
  failingSince: number | null;
  lastError: string | null;
  /** The write-ahead log cannot be appended to (disk full, I/O error): since when, and why. */
  appendFailing?: { since: number; error: string } | null;
}

export interface HealthSources {
  accepting(): boolean;
  /** This process's storage view, when it has one (WAL, or the worker role). */
  storage?: () => StorageHealth;
  /** False while Redis is unreachable (processes on Redis). */
  redisReady?: () => boolean;
  /** Lag or failure longer than this makes /readyz answer 503 and /healthz say degraded. */
  maxLagMs: number;
}

export interface HealthAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function createHealth(src: HealthSources) {
  function assess(now = Date.now()) {
    const storage = src.storage?.();
    const reasons: string[] = [];
    let unready = false;
    if (storage?.appendFailing) {
      reasons.push(`write-ahead log appends failing since ${new Date(storage.appendFailing.since).toISOString()}: ${storage.appendFailing.error}`);
      unready = true;
    }
    if (storage?.failingSince != null) {
      reasons.push(`storage writes failing since ${new Date(storage.failingSince).toISOString()}: ${storage.lastError ?? 'unknown error'}`);
      if (now - storage.failingSince > src.maxLagMs) unready = true;
    }
    if (storage && storage.lagMs > src.maxLagMs) {
      reasons.push(`storage is ${Math.round(storage.lagMs / 1000)} s behind acknowledgements (${storage.pendingRows} rows)`);
      unready = true;
    }
    if (src.redisReady && !src.redisReady()) {
      reasons.push('redis unreachable');
      unready = true;
    }
    const figures = storage && {
      pendingRows: storage.pendingRows,
      lagMs: storage.lagMs,
      failingSince: storage.failingSince === null ? null : new Date(storage.failingSince).toISOString(),
      lastError: storage.lastError,
      appendFailing: storage.appendFailing ? { since: new Date(storage.appendFailing.since).toISOString(), error: storage.appendFailing.error } : null,
    };
    return { reasons, unready, figures };
  }

  return {
    healthz(extra: Record<string, unknown> = {}): HealthAnswer {
      if (!src.accepting()) return { status: 503, body: { error: { code: 'not_ready', message: 'Starting or draining' } } };
      const { reasons, figures } = assess();
      const body: Record<string, unknown> = { status: reasons.length ? 'degraded' : 'ok', ...extra };
      if (reasons.length) body.reasons = reasons;
      if (figures) body.storage = figures;
      return { status: 200, body };
    },
    readyz(): HealthAnswer {
      if (!src.accepting()) return { status: 503, body: { status: 'not_ready', reasons: ['starting or draining'] } };
      const { reasons, unready, figures } = assess();
      const body: Record<string, unknown> = { status: unready ? 'not_ready' : reasons.length ? 'degraded' : 'ok' };
      if (reasons.length) body.reasons = reasons;
      if (figures) body.storage = figures;
      return { status: unready ? 503 : 200, body };
    },
  };
}
