/**
 * The live channel's socket.io side (README "Live channel", docs/realtime.md), attached to the process's uWS app.
 * Dashboards authenticate in the handshake (the auth module's gate: a signed-in user, a share
 * link or a read/root client), land in their project's room, and receive the ticks this node coalesces plus every other node's (through
 * `@socket.io/redis-adapter` when Redis is given). Tiles (subscriptions, the cluster's tile
 * registry, backfills): tiles.socket.ts. Presence totals: presence.socket.ts. Contract: shared/live.ts.
 */

import type { TemplatedApp } from 'uWebSockets.js';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { Server, type Socket } from 'socket.io';
import type { ShareTarget } from '../../shared/auth.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import {
  type ClientToServerEvents,
  type InterServerEvents,
  LIVE_BEAT_MS,
  LIVE_PATH,
  type LiveConnectError,
  LiveSubscribe,
  type LiveSubscribeResult,
  livePresenceRoom,
  liveRoom,
  liveViewRoom,
  type ServerToClientEvents,
  type SocketData,
} from '../../shared/live.ts';
import type { TileBucket, TileRequest } from '../../shared/live-tiles.ts';
import type { FilterTree } from '../../shared/query.ts';
import type { WriteBatch } from '../../shared/rows.ts';
import type { FunnelProgress } from '../engines/funnel-progress.ts';
import type { Presence } from '../engines/presence.ts';
import type { Visitors } from '../engines/visitors.ts';
import { AppError, rateLimitedError } from '../errors.ts';
import { type ClientIpOptions, clientIp } from '../ingest/client-ip.ts';
import type { Limits } from '../limits/limits.ts';
import type { Logger } from '../log.ts';
import { createLiveMetrics } from './live-metrics.ts';
import { createLivePresence } from './presence.socket.ts';
import { createTickCoalescer } from './ticks.ts';
import type { BackfillTiming } from './tile-backfill.ts';
import type { ResolvedTile } from './tile-spec.ts';
import { BACKFILL_ASK_MS, createLiveTiles, type LiveTilesOptions } from './tiles.socket.ts';

export type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface AttachLiveOptions {
  /** The process's uWS app; the channel is served at LIVE_PATH on it. */
  app: TemplatedApp;
  /** Distributed shape: the adapter duplicates two connections from `client` (pub + sub) and namespaces its channels with `prefix`. */
  redis?: { client: Redis; prefix: string };
  /** Admits or refuses dashboards (the auth module's `createLiveGate`). */
  gate: LiveGate;
  presence: Presence;
  /** Visitors (devices) online and active; without it `online` counts sockets. */
  visitors?: Visitors;
  /** Unique per process (presence reports and ticks are per node). */
  nodeId: string;
  log: Logger;
  /** The process's metrics (only its registry is used). */
  metrics?: { registry: Registry };
  /** Rate limits on handshakes (per IP), failed authentications and each dashboard's messages; none when absent. */
  limits?: Limits;
  /** How to find a dashboard's IP behind proxies (for the per-IP limits). */
  ip?: ClientIpOptions;
  /** Tick period (default 100 ms). */
  tickMs?: number;
  /** Dashboard heartbeat period (default LIVE_BEAT_MS). */
  beatMs?: number;
  /** Presence heartbeat (default 2 s); keep it well under the Presence engine's TTL. */
  heartbeatMs?: number;
  /**
   * Reads a tile from the store for rows received in [its window, watermark) (tile-backfill.ts'
   * readTile over this process's ClickHouse). Absent on nodes without the store: they ask a peer.
   */
  readTile?: (projectId: string, tile: ResolvedTile, watermark: number) => Promise<TileBucket[]>;
  /** A funnel's backfill and its visits' progress before the watermark (tile-backfill.ts' readFunnel), where readTile is. */
  readFunnel?: LiveTilesOptions['readFunnel'];
  /** Where live funnels keep their visits' progress: the cluster's shared store (default: in this process). */
  funnels?: FunnelProgress;
  /** When backfills read (defaults in tile-backfill.ts). */
  backfillTiming?: BackfillTiming;
  /** How far past the next whole second a watermark lies (default 1 s with Redis, for the other nodes' clocks; else 0). */
  watermarkMarginMs?: number;
  /** How often this node repeats the tiles its dashboards watch to the others (default 5 s). */
  tilesHeartbeatMs?: number;
}

/** What the live channel asks the auth module. */
export interface LiveGate {
  /** Authenticates a handshake (its `auth` payload and HTTP headers); throws an AppError to refuse. */
  admit(h: { auth: unknown; headers: Record<string, string | undefined> }): Promise<LiveAdmission>;
  /** Whether an admitted socket may also watch `projectId` (a later `subscribe`). */
  mayWatch(a: LiveAdmission, projectId: string): Promise<boolean>;
  /** Calls `fn` with the sockets' credentials to drop whenever something is revoked; returns the unsubscribe. */
  onRevoked?(fn: (match: (a: LiveAdmission) => boolean) => void): () => void;
  /**
   * For a share link's socket (`a.share`): the tiles it asks for as they must be watched (its
   * fixed filter ANDed in), or the refusal — tiles outside the view it shares, or ones its filter
   * leaves no exact live count of. Without this method a share socket watches no tile.
   */
  shareTiles?(a: LiveAdmission, projectId: string, tiles: TileRequest[]): Promise<ShareTiles>;
}

/** Answer of `LiveGate.shareTiles`. */
export type ShareTiles = { ok: true; tiles: TileRequest[] } | { ok: false; code: ErrorCode; message: string; index?: number };

/** An admitted dashboard: what it authenticated with, and the projects it joins at once. */
export interface LiveAdmission {
  credential: string;
  userId?: string;
  projectIds: string[];
  /** When the credential stops being valid (share expiry), to disconnect the socket then. */
  expiresAt?: Date | null;
  /**
   * A share link's socket: kept out of the project's room (whole-project ticks), it watches its
   * view's tiles only (`LiveGate.shareTiles`); with a fixed filter (`filtered`) it gets no presence either.
   */
  share?: { shareId: string; target: ShareTarget; filter: FilterTree[] | null; filtered: boolean };
}

export interface Live {
  /** Folds an accepted, durable batch into the project's next tick (never throws). */
  record(projectId: string, batch: WriteBatch): void;
  /** This node now holds `count` open SDK sockets for `projectId`. */
  socketsChanged(projectId: string, count: number): void;
  /** This node holds `delta` more (or fewer) open SDK sockets of `deviceId`. */
  deviceSockets(projectId: string, deviceId: string, delta: number): void;
  /** Emits the pending ticks, reports 0 presence for this node, closes dashboard sockets and the adapter's connections, stops every timer. */
  close(): Promise<void>;
}

/** Creates the socket.io server on `opts.app` and starts ticking. Resolves once the adapter listens. */
export async function attachLive(opts: AttachLiveOptions): Promise<Live> {
  const log = opts.log.child({ module: 'live' });
  const metrics = opts.metrics && createLiveMetrics(opts.metrics.registry);
  const conns = opts.redis ? await connectPair(opts.redis.client, opts.nodeId, log) : undefined;
  const io: LiveServer = new Server({
    path: LIVE_PATH,
    serveClient: false,
    // One socket.io message, the handshake's included: past it the transport is cut. Far above any
    // real message (socket.io's default), so an oversized handshake auth reaches the gate and is
    // refused there with a stable `payload_too_large` (auth/live-gate.ts).
    maxHttpBufferSize: 1024 * 1024,
    // Requests between nodes (tile backfills a peer with the store answers) may take a while.
    ...(conns && { adapter: createAdapter(conns.pub, conns.sub, { key: `${opts.redis!.prefix}live`, requestsTimeout: BACKFILL_ASK_MS }) }),
  });
  attachWithoutGlobalPatch(io, opts.app);
  try {
    if (conns) await conns.sub.ping(); // answered after the adapter's (p)subscribe: cross-node messages now arrive
  } catch (err) {
    await io.close();
    for (const c of [conns!.pub, conns!.sub]) c.disconnect();
    throw err;
  }
  const clusterUp = () => conns?.pub.status === 'ready';
  let closed = false;

  // ---- tiles: aggregated here for every dashboard of the cluster watching them (tiles.socket.ts).
  const tiles = createLiveTiles({
    io,
    log,
    cluster: { present: conns !== undefined, up: clusterUp },
    readTile: opts.readTile,
    shareTiles(socket, projectId, requested) {
      const a = admissions.get(socket);
      if (!a?.share) return undefined;
      if (!opts.gate.shareTiles) return Promise.resolve({ ok: false, code: 'forbidden', message: 'This connection watches no tiles' });
      return opts.gate.shareTiles(a, projectId, requested);
    },
    readFunnel: opts.readFunnel,
    funnels: opts.funnels,
    backfillTiming: opts.backfillTiming,
    watermarkMarginMs: opts.watermarkMarginMs ?? (conns ? 1000 : 0),
    tilesHeartbeatMs: opts.tilesHeartbeatMs ?? 5000,
  });

  // ---- ticks: emitted to the room; with Redis down, to this node's dashboards only (no backlog).
  const ticks = createTickCoalescer({
    nodeId: opts.nodeId,
    tickMs: opts.tickMs,
    tiles: tiles.tileSet,
    onLatency: metrics && ((s) => metrics.eventToTick.observe(s)),
    emit(tick) {
      const to = (room: string) => (conns && !clusterUp() ? io.local.to(room) : io.to(room));
      to(liveRoom(tick.projectId)).emit('tick', tick);
      // Share links' sockets: one tick per view, holding its tiles only (view-registry.ts).
      for (const view of tiles.views.of(tick.projectId)) {
        const t = tiles.views.tickFor(tick, view);
        if (t) to(liveViewRoom(tick.projectId, view.key)).emit('tick', t);
      }
      metrics?.ticks.inc();
    },
    onError: (err, projectId) => log.error({ err, projectId }, 'tick emit failed'),
  });
  ticks.start();

  // ---- heartbeat to every dashboard here, idle projects included: a screen notices a silent
  // loss within seconds (LIVE_SILENCE_MS) rather than at the transport's ping timeout.
  const beat = setInterval(() => io.local.emit('heartbeat', { at: Date.now() }), opts.beatMs ?? LIVE_BEAT_MS);
  beat.unref();

  // ---- presence totals pushed to local dashboards when they change (presence.socket.ts).
  const presence = createLivePresence({
    io,
    presence: opts.presence,
    visitors: opts.visitors,
    nodeId: opts.nodeId,
    heartbeatMs: opts.heartbeatMs,
    log,
    metrics,
    clusterUp,
  });

  await tiles.start();

  // ---- dashboards.
  const admissions = new WeakMap<LiveSocket, LiveAdmission>();
  const limits = opts.limits;
  io.use((socket, next) => {
    const refuse = (err: unknown) => {
      if (!(err instanceof AppError)) log.error({ err }, 'live handshake failed');
      const code = err instanceof AppError ? err.code : 'internal';
      metrics?.refused.inc({ code });
      next(refusal(code, err instanceof AppError ? err.message : 'Internal error; retry', err instanceof AppError ? err.retryAfterMs : undefined));
    };
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(socket.handshake.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const ip = clientIp(socket.handshake.address, headers, opts.ip ?? { trust: false });
    if (limits) {
      const v = limits.connect('live-connects', ip);
      if (!v.allowed) return refuse(rateLimitedError(v.retryAfterMs, 'Too many dashboard connections from this address; reconnect later'));
    }
    const admit = () => opts.gate.admit({ auth: socket.handshake.auth, headers });
    (limits ? limits.authenticate(ip, admit) : admit()).then((a) => {
      admissions.set(socket, a);
      socket.data = { credential: a.credential, userId: a.userId, projectIds: a.projectIds, ...(a.share && { share: true }) };
      next();
    }, refuse);
  });

  function join(socket: LiveSocket, projectId: string) {
    const share = admissions.get(socket)?.share;
    // A share link's socket gets its tiles through its view's room (tiles.socket.ts), and presence only without a fixed filter.
    if (!share) socket.join(liveRoom(projectId));
    else if (!share.filtered) socket.join(livePresenceRoom(projectId));
    else return;
    presence.joined(socket, projectId);
  }

  // A revoked credential (on any node: the auth module relays the bus) disconnects its sockets here.
  const stopRevocations = opts.gate.onRevoked?.((match) => {
    for (const socket of io.of('/').sockets.values()) {
      const a = admissions.get(socket);
      if (a && match(a)) socket.disconnect(true);
    }
  });

  io.on('connection', (socket) => {
    metrics?.dashboards.inc();
    const a = admissions.get(socket);
    // A share link that expires while watched: the socket goes at its expiry (timers past ~24 days are not needed: links are re-checked on reconnect).
    const ttl = a?.expiresAt ? a.expiresAt.getTime() - Date.now() : undefined;
    const expiry = ttl !== undefined && ttl < 2 ** 31 - 1 ? setTimeout(() => socket.disconnect(true), Math.max(0, ttl)) : undefined;
    socket.on('disconnect', () => {
      metrics?.dashboards.dec();
      clearTimeout(expiry);
    });
    const budget = limits?.dashboardBucket();
    if (budget) {
      // Dashboards only (un)subscribe: a socket sending more than a browser SDK socket may is answered rate_limited.
      socket.use(([, , ack], next) => {
        const v = budget.take();
        if (v.allowed) return next();
        answer(ack, { ok: false, code: 'rate_limited', message: 'Too many messages on this connection; slow down' });
      });
    }
    for (const p of socket.data.projectIds) join(socket, p);
    socket.on('subscribe', (body, ack) => {
      const parsed = LiveSubscribe.safeParse(body);
      if (!parsed.success) return answer(ack, { ok: false, code: 'invalid_body', message: 'Expected { projectId }' });
      const p = parsed.data.projectId;
      const admitted = socket.data.projectIds.includes(p) ? Promise.resolve(true) : a ? opts.gate.mayWatch(a, p) : Promise.resolve(false);
      admitted.then(
        (ok) => {
          if (!ok) return answer(ack, { ok: false, code: 'forbidden', message: 'This connection is not authorised for that project' });
          if (!socket.data.projectIds.includes(p)) socket.data.projectIds.push(p);
          join(socket, p);
          answer(ack, { ok: true });
        },
        (err) => {
          log.warn({ err }, 'live subscribe check failed');
          answer(ack, { ok: false, code: 'internal', message: 'Could not check access; retry' });
        },
      );
    });
    socket.on('unsubscribe', (body, ack) => {
      const p = authorised(socket, body);
      if (typeof p !== 'string') return answer(ack, p);
      socket.leave(liveRoom(p));
      socket.leave(livePresenceRoom(p));
      tiles.drop(socket, p);
      answer(ack, { ok: true });
    });
    tiles.wire(socket);
  });

  return {
    record(projectId, batch) {
      if (closed) return;
      try {
        ticks.record(projectId, batch);
        presence.events(projectId, batch.events);
      } catch (err) {
        log.error({ err, projectId }, 'tick record failed'); // the live view must never fail ingest
      }
    },
    socketsChanged(projectId, count) {
      if (!closed) presence.socketsChanged(projectId, count);
    },
    deviceSockets(projectId, deviceId, delta) {
      if (!closed) presence.deviceSockets(projectId, deviceId, delta);
    },
    async close() {
      if (closed) return;
      closed = true;
      stopRevocations?.();
      tiles.close();
      clearInterval(beat);
      ticks.stop();
      // Rows already acknowledged (a draining node's last batches) still reach the dashboards:
      // ticks are deltas, so a dropped one would leave every dashboard's totals short for good.
      ticks.flush();
      await presence.close();
      await io.close();
      if (conns) await Promise.all([conns.pub, conns.sub].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

function refusal(code: LiveConnectError['code'], message: string, retryAfterMs?: number): Error & { data: LiveConnectError } {
  return Object.assign(new Error(message), { data: { code, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) } });
}

function answer(ack: unknown, result: LiveSubscribeResult) {
  if (typeof ack === 'function') ack(result);
}

/** The project a subscribe/unsubscribe names, if this socket may watch it; else the refusal. */
function authorised(socket: LiveSocket, body: unknown): string | LiveSubscribeResult {
  const parsed = LiveSubscribe.safeParse(body);
  if (!parsed.success) return { ok: false, code: 'invalid_body', message: 'Expected { projectId }' };
  if (!socket.data.projectIds.includes(parsed.data.projectId)) {
    return { ok: false, code: 'forbidden', message: 'This connection is not authorised for that project' };
  }
  return parsed.data.projectId;
}

/** Pub and sub connections for the adapter, from the app's client (same server and options). */
async function connectPair(client: Redis, nodeId: string, log: Logger) {
  const name = (role: string) => `livepanel-live-${role}-${nodeId}`.replace(/\s/g, '_');
  const pub = client.duplicate({ lazyConnect: true, connectionName: name('pub') });
  const sub = client.duplicate({ lazyConnect: true, connectionName: name('sub') });
  for (const c of [pub, sub]) {
    let reported = false; // one line per outage, not one per reconnect attempt
    c.on('error', (err) => {
      if (!reported) log.warn({ err }, 'live channel lost Redis; ticks reach this node only until it is back');
      reported = true;
    });
    c.on('ready', () => (reported = false));
  }
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (err) {
    pub.disconnect();
    sub.disconnect();
    throw err;
  }
  return { pub, sub };
}

/**
 * socket.io's `attachApp` replaces process-wide `Adapter.prototype` methods with ones bound to
 * *this* app (to broadcast with uWS' native publish). With a second server in the process the
 * last app wins: measured, node A's dashboards got nothing and node B's got each broadcast
 * twice. We put the originals back, so every server broadcasts through socket.io's ordinary
 * per-socket path (one encode per broadcast, then one write per dashboard).
 */
function attachWithoutGlobalPatch(io: LiveServer, app: TemplatedApp) {
  let proto: Record<string, unknown> | null = Object.getPrototypeOf(io.of('/').adapter);
  while (proto && !Object.hasOwn(proto, 'addAll')) proto = Object.getPrototypeOf(proto);
  const saved = proto && { addAll: proto.addAll, del: proto.del, broadcast: proto.broadcast };
  io.attachApp(app);
  if (proto && saved) Object.assign(proto, saved);
}
