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
