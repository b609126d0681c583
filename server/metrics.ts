/**
 * Prometheus metrics, served at `GET /metrics`. One registry per process, created by the entry
 * point and handed to whoever records; nothing here is global, so tests can run several
 * servers in one process.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(opts: { defaults?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    eventsAccepted: new Counter({
      name: 'livepanel_events_accepted_total',
      help: 'Events accepted, by transport and type',
      labelNames: ['transport', 'type'] as const,
      registers: r,
    }),
    eventsDropped: new Counter({
      name: 'livepanel_events_dropped_total',
      help: 'Events dropped without error, by reason',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    eventsRejected: new Counter({
      name: 'livepanel_events_rejected_total',
      help: 'Requests, frames or events rejected, by error code',
      labelNames: ['transport', 'code'] as const,
      registers: r,
    }),
    stepSeconds: new Histogram({
      name: 'livepanel_pipeline_step_seconds',
      help: 'Time per pipeline step',
      labelNames: ['step'] as const,
      buckets: [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1],
      registers: r,
    }),
    flushRows: new Histogram({
      name: 'livepanel_flush_rows',
      help: 'Rows per ClickHouse insert',
      labelNames: ['table'] as const,
      buckets: [1, 10, 100, 500, 1000, 5000, 10000, 50000],
      registers: r,
    }),
    flushSeconds: new Histogram({
      name: 'livepanel_flush_seconds',
      help: 'Duration of one flush to ClickHouse',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    flushFailures: new Counter({ name: 'livepanel_flush_failures_total', help: 'Failed flushes (retried)', registers: r }),
    quarantinedRows: new Counter({
      name: 'livepanel_quarantined_rows_total',
      help: 'Rows ClickHouse refused for their content, moved to the quarantine table, by table',
      labelNames: ['table'] as const,
      registers: r,
    }),
    insertSplits: new Counter({
      name: 'livepanel_insert_splits_total',
      help: 'Inserts split in halves after ClickHouse refused their content, by table',
      labelNames: ['table'] as const,
      registers: r,
    }),
    queueDepth: new Gauge({ name: 'livepanel_queue_depth', help: 'Rows accepted and not yet written', registers: r }),
    walAppendSeconds: new Histogram({
      name: 'livepanel_wal_append_seconds',
      help: 'Time from push to durable in the write-ahead log (group wait + write + fdatasync)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: r,
    }),
    openSockets: new Gauge({ name: 'livepanel_open_sockets', help: 'Open SDK WebSockets', registers: r }),
    ackSeconds: new Histogram({
      name: 'livepanel_ack_seconds',
      help: 'Time from receiving a batch to acknowledging it',
      labelNames: ['transport'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    rateLimited: new Counter({
      name: 'livepanel_rate_limited_total',
      help: 'Requests, frames and connections refused by a rate limit, by limit',
      labelNames: ['limit'] as const,
      registers: r,
    }),
    wsMaxSockets: new Gauge({
      name: 'livepanel_ws_max_sockets',
      help: 'Open /ws sockets this node accepts in all (WS_MAX_SOCKETS; auto: from the descriptor limit)',
      registers: r,
    }),
    listenPaused: new Gauge({
      name: 'livepanel_listen_paused',
      help: '1 while this node does not accept connections because it is nearly out of file descriptors',
      registers: r,
    }),
    socketCapRefusals: new Counter({
      name: 'livepanel_socket_cap_refusals_total',
      help: '/ws upgrades refused by a socket cap, by cap (ip, client, node)',
      labelNames: ['cap'] as const,
      registers: r,
    }),
    revokedSockets: new Counter({
      name: 'livepanel_revoked_sockets_total',
      help: 'SDK sockets closed because their client was disabled',
      registers: r,
    }),
    sessionPushRetries: new Counter({
      name: 'livepanel_session_push_retries_total',
      help: 'Failed attempts to queue closed sessions (retried until they succeed)',
      registers: r,
    }),
    sessionsLost: new Counter({
      name: 'livepanel_sessions_lost_total',
      help: 'Closed sessions that could not be queued before shutdown',
      registers: r,
    }),
    sessionsOpen: new Gauge({ name: 'livepanel_sessions_open', help: 'Open sessions', registers: r }),
    sessionsClosed: new Counter({ name: 'livepanel_sessions_closed_total', help: 'Sessions closed and written', registers: r }),
  };
}

/**
 * `livepanel_chdb_memory_bytes{part}`: what the embedded chDB engine holds (`read`, e.g.
 * `readChdbMemory` in server/store/chdb-memory.ts), read at each scrape. A failed read leaves
 * the gauge empty for that scrape rather than failing `/metrics`.
 */
export function watchChdbMemory(metrics: Metrics, read: () => Promise<Record<string, number>>): void {
  new Gauge({
    name: 'livepanel_chdb_memory_bytes',
    help: "Embedded chDB's memory by part: its memory tracker, its allocator (jemalloc), its caches",
    labelNames: ['part'] as const,
    registers: [metrics.registry],
    async collect() {
      this.reset();
      const parts = await read().catch(() => ({}));
      for (const [part, bytes] of Object.entries(parts)) this.set({ part }, bytes);
    },
  });
}
