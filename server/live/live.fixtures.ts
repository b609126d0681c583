/**
 * Test fixtures for the live channel: a node (its own uWS app on a free port with the live
 * channel attached, as app.ts mounts it), API clients checked by the real authenticator, and a
 * dashboard (socket.io-client) that records what it is pushed.
 */

import uWS from 'uWebSockets.js';
import { randomUUID } from 'node:crypto';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import type { ClientToServerEvents, LiveClientAuth, LiveConnectError, LivePresence, LiveTick, ServerToClientEvents } from '../../shared/live.ts';
import { blankEventRow, chTime, type EventRow, emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { type ClientRecord, createAuthenticator } from '../auth/clients.ts';
import { createLiveGate } from '../auth/live-gate.ts';
import { silentLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { hashSecret, verifySecret } from '../store/metadata.ts';
import { type AttachLiveOptions, attachLive, type Live } from './live.socket.ts';

/** API clients in memory, checked by the real `createAuthenticator` (as `auth.forRead` in app.ts). */
export function testClients() {
  const records = new Map<string, ClientRecord>();
  const auth = createAuthenticator({ getClient: async (id) => records.get(id) ?? null, verifySecret });
  return {
    add(projectId: string, type: ClientRecord['type']): LiveClientAuth {
      const clientId = randomUUID();
      const clientSecret = `sec_${randomUUID()}`;
      records.set(clientId, { id: clientId, projectId, type, secretHash: hashSecret(clientSecret), allowedOrigins: [], disabled: false });
      return { clientId, clientSecret, projectId };
    },
    /** The live channel's gate over these clients (what app.ts builds over the whole auth module). */
    gate: createLiveGate({ clients: auth }),
  };
}

export interface LiveNode {
  url: string;
  live: Live;
  metrics: ReturnType<typeof createMetrics>;
  stop(): Promise<void>;
}

/** A uWS app on 127.0.0.1 (free port) with the live channel attached. */
export async function startLiveNode(opts: Omit<AttachLiveOptions, 'app' | 'log' | 'metrics'>): Promise<LiveNode> {
  const app = uWS.App();
  const metrics = createMetrics();
  const live = await attachLive({ ...opts, app, log: silentLogger, metrics });
  const listen = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('cannot listen')))),
  );
  const port = uWS.us_socket_local_port(listen as unknown as uWS.us_socket);
  return {
    url: `http://127.0.0.1:${port}`,
    live,
    metrics,
    async stop() {
      await live.close();
      uWS.us_listen_socket_close(listen);
      (app as { close?: () => void }).close?.();
    },
  };
}

export interface Dashboard {
  socket: ClientSocket<ServerToClientEvents, ClientToServerEvents>;
  ticks: Array<LiveTick & { receivedAt: number }>;
  presence: LivePresence[];
  /** Resolves with the first tick (already received or future) matching `match`. */
  tick(match: (t: LiveTick) => boolean, timeoutMs?: number): Promise<LiveTick & { receivedAt: number }>;
  /** Resolves once the latest presence push says `online`. */
  online(online: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Connects a dashboard; rejects with the server's `LiveConnectError` when the handshake is refused. */
export function connectDashboard(url: string, auth: unknown, transports: Array<'websocket' | 'polling'> = ['websocket']): Promise<Dashboard> {
  const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = connect(url, {
    auth: auth as object,
    transports,
    reconnection: false,
    forceNew: true,
  });
  const ticks: Dashboard['ticks'] = [];
  const presence: LivePresence[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  socket.on('tick', (t) => {
    ticks.push({ ...t, receivedAt: Date.now() });
    notify();
  });
  socket.on('presence', (p) => {
    presence.push(p);
    notify();
  });

  function until<T>(get: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = get();
        if (v === undefined) return;
        done();
        resolve(v);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  }

  const dashboard: Dashboard = {
    socket,
    ticks,
    presence,
    tick: (match, timeoutMs = 2000) =>
      until(
        () => ticks.find(match),
        timeoutMs,
        () => `a tick (have ${ticks.length})`,
      ),
    online: (online, timeoutMs = 3000) =>
      until(
        () => (presence.at(-1)?.online === online ? true : undefined),
        timeoutMs,
        () => `online=${online} (pushes: ${JSON.stringify(presence)})`,
      ).then(() => {}),
    close: () => void socket.close(),
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(dashboard));
    socket.once('connect_error', (err: Error & { data?: LiveConnectError }) => {
      socket.close();
      reject(err.data ?? err);
    });
  });
}

/** A batch of `n` page views (or `name` events) for `projectId`. */
export function eventsBatch(projectId: string, n: number, name = 'screen_view', over: Partial<EventRow> = {}): WriteBatch {
  const now = chTime(Date.now());
  const events = Array.from(
    { length: n },
    (_, i): EventRow =>
      blankEventRow({
        id: randomUUID(),
        project_id: projectId,
        name,
        device_id: `dev-${i}`,
        created_at: now,
        received_at: now,
        path: `/page/${i % 3}`,
        origin: 'https://example.com',
        country: 'FR',
        city: 'Paris',
        latitude: 48.85,
        longitude: 2.35,
        browser: 'Firefox',
        device: 'desktop',
        sdk_name: 'test',
        sdk_version: '1',
        ...over,
      }),
  );
  return { ...emptyBatch(), events };
}

/** A dashboard's view of its tiles, merged as the contract says (shared/live-tiles.ts): backfill + tick buckets ≥ the watermark. */
export interface TileView {
  /** Resolves once every tile's backfill arrived (rejects on timeout). */
  backfilled(timeoutMs?: number): Promise<void>;
  /** The merged value of tile `id`: numbers add, maps add by key, per-step arrays add element-wise; buckets before `from` left out. */
  value(id: string, from?: number): unknown;
  /** Watermark and key per tile id. */
  readonly accepted: Map<string, { key: string; watermark?: number }>;
}

/** Subscribes `tiles` on a connected dashboard and keeps their merged state. */
export async function watchTiles(d: Dashboard, projectId: string, tiles: Array<{ id: string; spec: unknown }>): Promise<TileView> {
  type Bucket = [number, unknown];
  const deltas = new Map<string, Bucket[]>(); // by key: every tick bucket, before we know W
  const backfills = new Map<string, Bucket[]>(); // by id
  const accepted = new Map<string, { key: string; watermark?: number }>();
  const onTick = (t: LiveTick) => {
    for (const [key, buckets] of Object.entries(t.tiles ?? {})) {
      let list = deltas.get(key);
      if (!list) {
        list = [];
        deltas.set(key, list);
      }
      list.push(...(buckets as Bucket[]));
    }
  };
  d.socket.on('tick', onTick);
  d.socket.on('tiles:backfill', (b) => {
    if (b.projectId === projectId) backfills.set(b.id, b.buckets as Bucket[]);
  });
  const res = await d.socket.emitWithAck('tiles:subscribe', { projectId, tiles } as never);
  if (!res.ok) throw new Error(`tiles:subscribe refused: ${res.code} ${res.message}`);
  for (const t of res.tiles) accepted.set(t.id, { key: t.key, watermark: t.watermark });
  const merge = (buckets: Bucket[], from: number) => {
    let acc: unknown;
    for (const [at, v] of buckets) {
      if (at < from) continue;
      if (typeof v === 'number') acc = ((acc as number | undefined) ?? 0) + v;
      else if (Array.isArray(v) && typeof v[0] === 'number') acc = (v as number[]).map((x, i) => x + ((acc as number[] | undefined)?.[i] ?? 0));
      else if (v && !Array.isArray(v)) {
        acc ??= {};
        const m = acc as Record<string, number>;
        for (const [k, n] of Object.entries(v as Record<string, number>)) m[k] = (m[k] ?? 0) + n;
      }
    }
    return acc;
  };
  return {
    accepted,
    async backfilled(timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      while ([...accepted].some(([id, a]) => a.watermark !== undefined && !backfills.has(id))) {
        if (Date.now() > end) throw new Error(`backfills missing after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    value(id, from = -Infinity) {
      const a = accepted.get(id);
      if (!a || a.watermark === undefined) return undefined;
      const W = a.watermark;
      const live = (deltas.get(a.key) ?? []).filter(([at]) => at >= W);
      return merge([...(backfills.get(id) ?? []), ...live], from);
    },
  };
}
