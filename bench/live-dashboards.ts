/**
 * Dashboards for `bench/live.ts`: socket.io clients that record every tick and presence
 * update with its arrival time, and the latency statistics computed from them.
 */
import { io, type Socket } from 'socket.io-client';
import type { LiveTick, ServerToClientEvents } from '../shared/live.ts';
import { percentile } from './support.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number) => Math.round(x * 10) / 10;

export interface Creds {
  projectId: string;
  clientId: string;
  clientSecret: string;
}

export interface Dash {
  /** Index of the node it is connected to (same numbering as the ingest nodes; the web node last). */
  node: number;
  socket: Socket<ServerToClientEvents>;
  ticks: Array<{ receivedAt: number; wall: number; tick: LiveTick }>;
  presence: Array<{ receivedAt: number; online: number }>;
  /** Events of the current phase shown so far (sum of its names' counts). */
  shown: number;
}

/** A socket.io dashboard recording ticks and presence; `inPhase` picks the event names it counts as shown. */
export function connectDashboard(url: string, node: number, auth: Creds, inPhase: (name: string) => boolean): Promise<Dash> {
  const socket: Socket<ServerToClientEvents> = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 10_000 });
  const d: Dash = { node, socket, ticks: [], presence: [], shown: 0 };
  socket.on('tick', (tick) => {
    const receivedAt = performance.now();
    d.ticks.push({ receivedAt, wall: Date.now(), tick });
    for (const name in tick.events) if (inPhase(name)) d.shown += tick.events[name]!;
  });
  socket.on('presence', (p) => d.presence.push({ receivedAt: performance.now(), online: p.online }));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(d));
    socket.once('connect_error', (err: Error & { data?: unknown }) => {
      socket.close();
      reject(new Error(`dashboard on ${url} refused: ${JSON.stringify(err.data ?? err.message)}`));
    });
  });
}

/** Polls `pred` until true or `timeoutMs` passes; resolves with whether it became true. */
export async function until(pred: () => boolean, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

export interface Stats {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  underTargetPct: number;
}

/** Latency distribution of `xs` (ms), with the share under `targetMs`. */
export function stats(xs: number[], targetMs: number): Stats {
  xs.sort((a, b) => a - b);
  return {
    samples: xs.length,
    p50: round(percentile(xs, 50)),
    p95: round(percentile(xs, 95)),
    p99: round(percentile(xs, 99)),
    max: round(xs.at(-1) ?? 0),
    underTargetPct: xs.length ? round((100 * xs.filter((x) => x < targetMs).length) / xs.length) : 0,
  };
}
