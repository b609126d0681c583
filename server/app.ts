/**
 * Builds and starts one Livepanel process for its roles: opens the stores this process
 * needs, picks the embedded or Redis engines, wires the ingest pipeline, mounts every route
 * on one uWebSockets.js app and starts listening. `stop()` drains: it stops accepting,
 * tells SDK sockets to reconnect elsewhere, flushes what was accepted, and closes stores.
 * The larger pieces live in server/app/: the event queue by shape (event-queue.ts), the
 * ingest transports (ingest.ts), the operator routes (ops.uws.ts), the loopback admin
 * listener (admin.uws.ts) and the public listener with its file-descriptor guard (listen.uws.ts).
 */

import uWS from 'uWebSockets.js';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { emptyBatch, type WriteBatch } from '../shared/rows.ts';
import { buildApi, mountApi } from './api/api.ts';
import { startAdminListener } from './app/admin.uws.ts';
import { openEventQueue } from './app/event-queue.ts';
import { mountIngest } from './app/ingest.ts';
import { listenPublic } from './app/listen.uws.ts';
import { registerOpsRoutes } from './app/ops.uws.ts';
import { createAuth } from './auth/auth.ts';
import { createLiveGate } from './auth/live-gate.ts';
import { createMailer } from './auth/mailer.ts';
import { createShareViews } from './auth/share-view.ts';
import type { Config } from './config.ts';
import { acquireDataLock } from './data-lock.ts';
import { createEngines, type Engines } from './engines/create.ts';
import { createHealth } from './health.ts';
import { sendJson } from './http/uws.ts';
import { clientIp } from './ingest/client-ip.ts';
import { createGate } from './limits/gate.ts';
import { createLimits } from './limits/limits.ts';
import { attachLive, type Live } from './live/live.socket.ts';
import { readFunnel, readTile } from './live/tile-backfill.ts';
import type { Logger } from './log.ts';
import { createMetrics, watchChdbMemory } from './metrics.ts';
import { checkRoles } from './roles.ts';
import { createQueryEngine } from './stats/query-engine.ts';
import { createAccounts } from './store/accounts.ts';
import { createAuditLog } from './store/audit.ts';
import { createAuthSessionStore } from './store/auth-sessions.ts';
import { createBoardStore } from './store/boards.ts';
import { readChdbMemory } from './store/chdb-memory.ts';
import { migrateClickhouse } from './store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from './store/clickhouse.ts';
import { createProjectEraser } from './store/clickhouse-erase.ts';
import { createMetadata } from './store/metadata.ts';
import { openMetadataDb } from './store/postgres.ts';
import { createShareStore } from './store/shares.ts';
import { createWriter } from './store/writer.ts';
import { mountDashboard } from './web/dashboard.uws.ts';
import { loadSdkScript } from './web/sdk-script.ts';
import { registerSdkScript } from './web/sdk-script.uws.ts';
import { createSessionReaper } from './workers/sessions.reap.ts';

export interface Running {
  /** The port actually listened on (useful with PORT=0). */
  port: number;
  url: string;
  /** The loopback-only admin listener (`http://127.0.0.1:<port>`), when this process holds the data lock. */
  adminUrl?: string;
  /**
   * Resolves once everything acknowledged so far is in ClickHouse (embedded shape: the
   * write-ahead log is applied). In the distributed shape, workers in other processes do the
   * writing and this resolves at once. For tests and tools that read their own writes.
   */
  settle(): Promise<void>;
  /** Graceful drain and shutdown; safe to call twice. */
  stop(): Promise<void>;
}

/** Hands a batch that may span projects to the live channel, one project at a time. */
function recordByProject(live: Live, batch: WriteBatch): void {
  const byProject = new Map<string, WriteBatch>();
  for (const e of batch.events) {
    let b = byProject.get(e.project_id);
    if (!b) {
      b = emptyBatch();
      byProject.set(e.project_id, b);
    }
    b.events.push(e);
  }
  for (const [projectId, b] of byProject) live.record(projectId, b);
}

export async function startLivepanel(config: Config, log: Logger): Promise<Running> {
  checkRoles(config);
  const has = (r: Config['roles'][number]) => config.roles.includes(r);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch((err) => log.error({ err }, 'cleanup failed'));
    cleanups.length = 0;
  };

  try {
    const metrics = createMetrics({ defaults: true });
    const opensChdb = config.clickhouse.kind === 'chdb' && (has('worker') || has('web'));
    const adminToken = randomBytes(24).toString('base64url');
    let lock: ReturnType<typeof acquireDataLock> | undefined;
    if (config.postgres.kind === 'pglite' || opensChdb) {
      lock = acquireDataLock(config.dataDir, { port: 0, adminToken }); // port: the admin listener's, once it listens
      cleanups.push(() => lock!.release());
    }

    const meta = await openMetadataDb(config.postgres);
    cleanups.push(() => meta.close());
    const metadata = createMetadata(meta.db);

    let ch: ClickHouseClient | undefined;
    if (has('worker') || has('web')) {
      ch = await createClickhouse(config.clickhouse);
      cleanups.push(() => ch!.close());
      await migrateClickhouse(ch, config.clickhouse.database);
      if (config.clickhouse.kind === 'chdb') watchChdbMemory(metrics, () => readChdbMemory(ch!));
    }

    let redis: Redis | undefined;
    if (config.redis) {
      redis = new Redis(config.redis.url, { maxRetriesPerRequest: null, lazyConnect: true });
      await redis.connect();
      cleanups.push(() => redis!.quit());
    }
    const engines: Engines = createEngines({
      redis: redis && { client: redis, prefix: config.redis!.prefix },
      sessionTimeoutMs: config.sessionTimeoutMs,
      // A node's SDK-socket counts stop counting 10 s after its last heartbeat (live.socket.ts beats every 2 s).
      presenceTtlMs: 10_000,
      sessionSnapshotFile: path.join(config.dataDir, 'sessions.json'),
      maxOpenSessions: config.maxOpenSessions,
      maxOpenSessionsPerProject: config.maxOpenSessionsPerProject,
      dedupeMaxKeysPerProject: config.dedupeMaxIdsPerProject,
      log,
    });
    cleanups.push(() => engines.close());

    // One writer per process that opens ClickHouse: its quarantine also serves the admin commands.
    const writer = ch && createWriter(ch, metrics, { maxProfileProperties: config.maxProfileProperties });
    const { queue, settle, storageHealth } = await openEventQueue({ config, redis, writer, engines, isWorker: has('worker'), metrics, log, cleanups });

    const state = { accepting: false };
    const accepting = () => state.accepting;
    const app = uWS.App();
    const accounts = createAccounts(meta.db);
    const shareStore = createShareStore(meta.db);
    const audit = createAuditLog(meta.db);
    const auth = await createAuth({
      metadata,
      accounts,
      sessionStore: createAuthSessionStore(meta.db),
      shareStore,
      rateLimits: engines.rateLimit,
      bus: engines.bus,
      log,
      sessionTtlMs: config.authSessionTtlMs,
      maxUnknownClientIds: config.maxUnknownClientIds,
    });
    cleanups.push(() => auth.close());
    const ownOrigins = config.publicUrl ? [new URL(config.publicUrl).origin] : [];
    const gate = createGate({
      shared: engines.kind === 'redis' ? engines.rateLimit : undefined,
      onError: (err) => log.warn({ err }, 'shared rate limit not updated; limiting on this node only'),
    });
    cleanups.push(() => gate.close());
    const limits = createLimits({
      config: config.rateLimits,
      gate,
      loadOverrides: metadata.getProjectRateLimits,
      metrics,
      onError: (err, projectId) => log.warn({ err, projectId }, 'rate limit overrides not read; using the defaults'),
    });
    // A project changed (its rate limits among others: set-rate-limits) on any node: read it again.
    cleanups.push(
      auth.onRevoked((r) => {
        if (r.kind === 'project') limits.forget(r.id);
      }),
    );

    // Live channel (README "Live channel"): dashboards may connect to any node; ticks come from
    // ingest nodes (accepted events) and workers (sessions the reaper closed) and reach every
    // node's dashboards through the Redis adapter.
    let live: Live | undefined;
    const liveBoards = createBoardStore(meta.db);
    if (has('ingest') || has('web') || has('worker')) {
      const nodeId = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
      live = await attachLive({
        app,
        redis: redis && { client: redis, prefix: config.redis!.prefix },
        gate: createLiveGate(auth, {
          ownOrigins,
          // A share link's socket watches its view only: the realtime page's tiles, or its board's.
          shareViews: createShareViews({
            boardLayout: async (projectId, boardId) => (await liveBoards.get(projectId, boardId))?.layout ?? null,
            timezone: async (projectId) => (await metadata.getProject(projectId))?.timezone ?? 'UTC',
          }),
        }),
        limits,
        ip: config.clientIp,
        presence: engines.presence,
        visitors: engines.visitors,
        nodeId,
        log,
        metrics,
        // Tile backfills are read where the store is; other nodes ask one of these.
        readTile: ch && ((projectId, tile, watermark) => readTile(ch!, projectId, tile, watermark)),
        readFunnel: ch && ((projectId, tile, watermark) => readFunnel(ch!, projectId, tile, watermark)),
        funnels: engines.funnels,
      });
      cleanups.push(() => live!.close());
    }

    const health = createHealth({
      accepting,
      storage: storageHealth,
      redisReady: redis && (() => redis!.status === 'ready'),
      maxLagMs: config.readyMaxLagMs,
    });
    registerOpsRoutes(app, { config, health, metrics, log });

    // The SDK transports (HTTP and /ws).
    const ingest = has('ingest')
      ? await mountIngest(app, { config, metadata, engines, queue, auth, limits, live, redis, metrics, log, accepting, cleanups })
      : undefined;
    if (has('web')) {
      // The HTTP API (accounts, organisations, projects, clients, share links, read and query APIs, export) on its Hono router.
      const data = ch && {
        queries: createQueryEngine({
          ch,
          batch: config.clickhouse.kind === 'chdb',
          cache: engines.cache,
          pastTtlMs: config.queryCacheTtlMs,
          liveTtlMs: config.queryCacheLiveTtlMs,
          projectTimezone: async (id: string) => (await metadata.getProject(id))?.timezone,
        }),
        queryLimiter: engines.rateLimit.limiter({ name: 'query', points: config.queryRateLimit, durationMs: 60_000 }),
      };
      // Deleted projects' analytics: erased in the background, and what a dead process left owed is replayed now.
      const eraser = ch && createProjectEraser({ ch, store: metadata, log });
      if (eraser) {
        eraser.start();
        cleanups.push(() => eraser.stop());
      }
      const api = buildApi({
        auth,
        accounts,
        metadata,
        audit,
        shareStore,
        boards: createBoardStore(meta.db),
        rateLimits: engines.rateLimit,
        mailer: config.smtp ? createMailer({ smtpUrl: config.smtp.url, from: config.smtp.from, log }) : null,
        ch,
        eraser,
        log,
        publicUrl: config.publicUrl,
        invitationTtlMs: config.invitationTtlMs,
        resolveIp: (remoteIp, headers) => clientIp(remoteIp, headers, config.clientIp),
        // Read routes: failed authentications and reads count against their limits.
        limits,
        data,
      });
      mountApi(app, api, { log, publicUrl: config.publicUrl });
      // Expired dashboard sessions are deleted now and then (reads already ignore them).
      const sweep = setInterval(() => auth.sessions.deleteExpired().catch((err) => log.warn({ err }, 'deleting expired sessions failed')), 3_600_000);
      sweep.unref();
      cleanups.push(() => clearInterval(sweep));
    }
    // The browser SDK's script tag, from every node a site may point its <script> at.
    if (has('ingest') || has('web')) registerSdkScript(app, loadSdkScript());
    // The dashboard takes the GETs no route above claims, so it goes last before the 404 fallback.
    if (has('web')) {
      await mountDashboard(app, {
        log,
        publicUrl: config.publicUrl,
        // Share pages may be embedded where their link allows; every other page nowhere.
        frameAncestors: async (pathname) => {
          const m = /^\/share\/([^/]+)\/?$/.exec(pathname);
          return m ? auth.shares.frameAncestors(decodeURIComponent(m[1]!)) : "'none'";
        },
      });
    }
    if (has('worker')) {
      const reaper = createSessionReaper({
        sessions: engines.sessions,
        queue,
        log,
        metrics,
        intervalMs: config.sessionReapIntervalMs,
        onClosed: live && ((batch) => recordByProject(live!, batch)),
      });
      reaper.start();
      cleanups.push(() => reaper.stop());
    }
    app.any('/*', (res) => sendJson(res, 404, { error: { code: 'not_found', message: 'No such route' } }));

    // The admin endpoint the CLI talks to lives on its own loopback-only listener, never on the
    // public app: a reverse proxy on this machine forwards to the public port only.
    let adminUrl: string | undefined;
    if (lock) {
      const admin = await startAdminListener({
        admin: {
          metadata,
          accounts,
          sessions: createAuthSessionStore(meta.db),
          audit,
          revoke: (r) => auth.revoke(r),
          store: writer && { quarantine: writer.quarantine, insertRows: writer.insertRows },
        },
        adminToken,
        lock,
        config,
        log,
      });
      cleanups.push(() => admin.close());
      adminUrl = admin.url;
    }
    const listener = await listenPublic(app, { config, metrics, log });
    const port = listener.port;
    state.accepting = true;
    const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
    log.info({ url, roles: config.roles }, 'livepanel ready');

    let stopping: Promise<void> | undefined;
    return {
      port,
      url,
      adminUrl,
      settle: () => settle(),
      stop() {
        stopping ??= (async () => {
          state.accepting = false;
          listener.close();
          await ingest?.drain();
          await cleanup();
          (app as { close?: () => void }).close?.();
          log.info('livepanel stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
