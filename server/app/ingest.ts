/**
 * Wires the ingest role: the enrich pipeline (geo, salts, …), the session step, and the two
 * transports on the public app (`/track` and friends over HTTP, `/ws` for SDK sockets), with
 * the socket caps derived from the file-descriptor limit. Accepted events go to the event
 * queue and, when this process has a live channel, to its dashboards.
 */

import type uWS from 'uWebSockets.js';
import type { Redis } from 'ioredis';
import type { Auth } from '../auth/auth.ts';
import type { Config } from '../config.ts';
import type { Engines } from '../engines/create.ts';
import type { EventQueue } from '../engines/queue.ts';
import { countOpenFds } from '../http/fd-guard.ts';
import { createEnrichSteps } from '../ingest/enrich.ts';
import { openGeoip } from '../ingest/geoip.ts';
import { registerHttpIngest } from '../ingest/http.uws.ts';
import { createIngest } from '../ingest/ingest.ts';
import { createPipeline } from '../ingest/pipeline.ts';
import { createSaltSource } from '../ingest/salts.ts';
import { createSessionStep } from '../ingest/steps/session.ts';
import { registerWsIngest } from '../ingest/ws.uws.ts';
import type { Limits } from '../limits/limits.ts';
import { autoTotalCap, createSocketCaps, openFileLimit } from '../limits/socket-caps.ts';
import type { Live } from '../live/live.socket.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Metadata } from '../store/metadata.ts';

/** Descriptors this process holds now, or 0 where that cannot be read (no /proc). */
function safeCountFds(): number {
  try {
    return countOpenFds();
  } catch {
    return 0;
  }
}

export interface IngestDeps {
  config: Config;
  metadata: Metadata;
  engines: Engines;
  queue: EventQueue;
  auth: Auth;
  limits: Limits;
  live: Live | undefined;
  redis: Redis | undefined;
  metrics: Metrics;
  log: Logger;
  /** False while starting and once stopping: transports refuse new work. */
  accepting: () => boolean;
  /** Collects what to close on shutdown. */
  cleanups: Array<() => Promise<unknown> | unknown>;
}

export interface MountedIngest {
  /** Waits for in-flight requests and tells SDK sockets to reconnect elsewhere. */
  drain(): Promise<void>;
}

export async function mountIngest(app: uWS.TemplatedApp, deps: IngestDeps): Promise<MountedIngest> {
  const { config, metadata, engines, queue, auth, limits, live, redis, metrics, log, accepting, cleanups } = deps;
  const geoip = await openGeoip({ cityDbPath: config.geoipCityDb });
  const salts = await createSaltSource(metadata.getSalts, log, { prune: metadata.pruneSalts });
  cleanups.push(() => salts.stop());
  const enrich = createPipeline(createEnrichSteps({ geoip, salts, sessionTimeoutMs: config.sessionTimeoutMs }), { metrics });
  const ingest = createIngest({
    enrich,
    session: createSessionStep({ sessions: engines.sessions, timeoutMs: config.sessionTimeoutMs }),
    sessions: engines.sessions,
    dedupe: engines.dedupe,
    queue,
    metrics,
    dedupeTtlMs: config.dedupeTtlMs,
    // Redis down: refuse at once (503) rather than hold requests in ioredis' offline queue.
    available: redis ? () => redis.status === 'ready' : undefined,
    onAccepted: live && ((caller, batch) => live.record(caller.projectId, batch)),
  });
  const ip = config.clientIp;
  const httpIngest = registerHttpIngest(app, {
    ingest,
    auth: auth.clients,
    limits,
    log,
    ip,
    maxBodyBytes: config.maxBodyBytes,
    maxEventBytes: config.maxEventBytes,
    accepting,
  });
  const caps = createSocketCaps({
    ...config.socketCaps,
    total: config.socketCaps.total === 'auto' ? autoTotalCap(openFileLimit(), safeCountFds()) : config.socketCaps.total,
  });
  metrics.wsMaxSockets.set(caps.config.total);
  const ws = registerWsIngest(app, {
    ingest,
    auth: auth.clients,
    limits,
    caps,
    // A client disabled on any node closes its sockets here at once; the sweep re-checks in case a bus message was missed.
    onRevoked: (fn) => auth.onRevoked(fn),
    clientValid: async (id) => (await metadata.getClient(id))?.disabled === false,
    recheckMs: config.clientRecheckMs,
    sessions: engines.sessions,
    log,
    metrics,
    ip,
    maxPayloadBytes: config.maxBodyBytes,
    maxEventBytes: config.maxEventBytes,
    keepAliveMs: config.sessionGraceMs,
    accepting,
    onSocketsChanged: live && ((projectId, count) => live.socketsChanged(projectId, count)),
    onDeviceSockets: live && ((projectId, deviceId, delta) => live.deviceSockets(projectId, deviceId, delta)),
  });
  return {
    async drain() {
      await Promise.all([ws.drain(), httpIngest.drain()]);
    },
  };
}
