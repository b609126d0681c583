/**
 * Dashboards for `bench/live-scale.ts`: socket.io clients subscribed to the realtime page's
 * tiles that record every tick, presence push and byte received; the event → dashboard latency
 * of a rate phase computed from them; and the servers' own event → tick histogram.
 */
import { io, type Socket } from 'socket.io-client';
import { type ClientToServerEvents, LIVE_TICK_LIMITS, type LiveTick, type ServerToClientEvents } from '../shared/live.ts';
import { REALTIME_PAGE_TILES } from '../shared/live-tiles.ts';
import { type Creds, stats } from './live-dashboards.ts';
import type { SentEvent } from './live-load.ts';

export interface Dash {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  ticks: Array<{ receivedAt: number; tick: LiveTick }>;
  online: number[];
  bytes: number;
  shown: number;
}

/** The event names the current rate phase counts as shown: those starting with `prefix` ('\0' between phases). */
export interface Phase {
  prefix: string;
}

/** A dashboard watching the realtime page's tiles plus a goal tile, recording every push it receives. */
export async function dashboard(url: string, auth: Creds, phase: Phase): Promise<Dash> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
    auth,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 20_000,
  });
  const d: Dash = { socket, ticks: [], online: [], bytes: 0, shown: 0 };
  socket.on('tick', (tick) => {
    d.ticks.push({ receivedAt: performance.now(), tick });
    d.bytes += JSON.stringify(tick).length + 12; // + socket.io framing: 42["tick", … ]
    for (const name in tick.events) if (name.startsWith(phase.prefix)) d.shown += tick.events[name]!;
  });
  socket.on('presence', (p) => {
    d.online.push(p.online);
    d.bytes += JSON.stringify(p).length + 16;
  });
  socket.on('tiles:backfill', (b) => {
    d.bytes += JSON.stringify(b).length + 20;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err: Error & { data?: unknown }) => reject(new Error(`dashboard refused: ${JSON.stringify(err.data ?? err.message)}`)));
  });
  const since = new Date();
  since.setUTCHours(0, 0, 0, 0);
  const tiles = [...REALTIME_PAGE_TILES, { id: 'goal', spec: { kind: 'total' as const, metric: 'events' as const, since: since.getTime() } }];
  const res = await socket.timeout(30_000).emitWithAck('tiles:subscribe', { projectId: auth.projectId, tiles } as never);
  if (!res.ok) throw new Error(`tiles:subscribe refused: ${res.code} ${res.message}`);
  return d;
}

/** Event → dashboard latency of every delivery of the phase (events named by time slot; see bench/live.ts). */
export function analyse(prefix: string, dashes: Dash[], sent: SentEvent[], targetMs: number) {
  const acked = sent.filter((e) => e.ackedAt !== undefined);
  const bySlot = new Map<string, SentEvent[]>();
  for (const e of acked) {
    const q = bySlot.get(e.name);
    if (q) q.push(e);
    else bySlot.set(e.name, [e]);
  }
  for (const q of bySlot.values()) q.sort((a, b) => a.sentAt - b.sentAt);
  const latency: number[] = [];
  const afterAck: number[] = [];
  let missing = 0;
  let extra = 0;
  let ticksAtNameCap = 0;
  for (const d of dashes) {
    const taken = new Map<string, number>();
    for (const { receivedAt, tick } of d.ticks) {
      if (Object.keys(tick.events).length >= LIVE_TICK_LIMITS.events) ticksAtNameCap++;
      for (const [name, count] of Object.entries(tick.events)) {
        if (!name.startsWith(prefix)) continue;
        const q = bySlot.get(name) ?? [];
        const from = taken.get(name) ?? 0;
        const upto = Math.min(q.length, from + count);
        extra += from + count - upto;
        taken.set(name, upto);
        for (let i = from; i < upto; i++) {
          latency.push(receivedAt - q[i]!.sentAt);
          afterAck.push(receivedAt - q[i]!.ackedAt!);
        }
      }
    }
    for (const [name, q] of bySlot) missing += q.length - (taken.get(name) ?? 0);
  }
  return {
    acked: acked.length,
    /**
     * `missing`: deliveries not seen before the bench stopped waiting. A tick keeps its 50 most
     * frequent event names, and every event here is named after its 10 ms slot: a tick that
     * covers more than ~50 slots (the server stalled for a while) drops the rest of the names —
     * `ticksAtNameCap` counts those ticks (per dashboard).
     */
    deliveries: { expected: acked.length * dashes.length, missing, extra, ticksAtNameCap },
    latencyMs: stats(latency, targetMs),
    /** The live channel's share: event acknowledged to its SDK (durable) → tick received by the dashboard. */
    ackToDashboardMs: stats(afterAck, targetMs),
    /** Event sent → its batch acknowledged (durable): the ingest path's share of the latency. */
    ackMs: stats(
      acked.map((e) => e.ackedAt! - e.sentAt),
      targetMs,
    ),
  };
}

/** The servers' own event → tick histogram (`/metrics`, summed over `urls`): cumulative bucket counts by upper bound (s). */
export async function serverHistogram(urls: string[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const url of urls) {
    // Once more on a socket error: a keep-alive connection the busy server closed while idle
    // fails the first request sent on it ("other side closed").
    const get = () => fetch(`${url}/metrics`).then((r) => r.text());
    const text = await get().catch(get);
    for (const m of text.matchAll(/^livepanel_live_event_to_tick_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      out.set(le, (out.get(le) ?? 0) + Number(m[2]));
    }
  }
  return out;
}

/** Percentile upper bounds (ms) from the difference of two cumulative histograms. */
export function histogramPercentiles(a: Map<number, number>, b: Map<number, number>) {
  const les = [...b.keys()].sort((x, y) => x - y);
  const total = (b.get(Infinity) ?? 0) - (a.get(Infinity) ?? 0);
  const at = (p: number) => {
    for (const le of les) if ((b.get(le) ?? 0) - (a.get(le) ?? 0) >= p * total) return le === Infinity ? 'over 5000' : `≤ ${Math.round(le * 1000)}`;
    return null;
  };
  return { batches: total, p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
}
