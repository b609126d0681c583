/**
 * Load for `bench/live.ts`: SDK-like clients sending events at a steady rate over `/track`
 * and over `/ws` (batched like the SDK), each event named after its node and time slot so the
 * tick that shows it can be matched to the moment it was sent.
 */
import WebSocket from 'ws';
import type { Creds } from './live-dashboards.ts';
import { until } from './live-dashboards.ts';
import { UA } from './load.ts';

export interface LiveLoadOptions {
  /** Events per second, over all nodes. */
  rate: number;
  seconds: number;
  /** Width of the time slot an event's name encodes (ms). */
  slotMs: number;
  /** How often each socket sends what was generated since its last frame (ms). */
  wsFlushMs: number;
  sockets: number;
}

export const ORIGIN = 'https://bench.example';
const VISITORS = 64;
const _sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SentEvent {
  node: number;
  name: string;
  sentAt: number;
  ackedAt?: number;
}

export interface LoadResult {
  sent: SentEvent[];
  failed: number;
  failures: string[];
}

export const visitorHeaders = (v: number) => ({
  'user-agent': UA.replace('124.0.0.0', `124.0.${v}.0`),
  'x-forwarded-for': `83.${(v >> 8) & 255}.${v & 255}.7`,
});

/** Calls `send(n, node)` for event n at a steady o.rate for o.seconds (each send on time, not in bursts). */
function steady(nodes: number, send: (n: number, node: number) => void, o: LiveLoadOptions): Promise<void> {
  const total = Math.round(o.rate * o.seconds);
  const t0 = performance.now();
  let n = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.rate));
      while (n < due) {
        send(n, n % nodes);
        n++;
      }
      if (n >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
}

const slotName = (prefix: string, node: number, at: number, t0: number, o: LiveLoadOptions) => `${prefix}n${node}_${Math.floor((at - t0) / o.slotMs)}`;

export async function trackLoad(urls: string[], creds: Creds, prefix: string, o: LiveLoadOptions): Promise<LoadResult> {
  const sent: SentEvent[] = [];
  const failures: string[] = [];
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  await steady(
    urls.length,
    (n, node) => {
      const sentAt = performance.now();
      const ev: SentEvent = { node, name: slotName(prefix, node, sentAt, t0, o), sentAt };
      sent.push(ev);
      const p = fetch(`${urls[node]}/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN, 'openpanel-client-id': creds.clientId, ...visitorHeaders(n % VISITORS) },
        body: JSON.stringify({ type: 'track', payload: { name: ev.name, properties: { __path: `${ORIGIN}/live/${n % 7}`, n } } }),
        signal: AbortSignal.timeout(15_000),
      }).then(
        async (res) => {
          await res.arrayBuffer();
          if (res.status === 200) ev.ackedAt = performance.now();
          else failures.push(`HTTP ${res.status}`);
        },
        (err: Error) => void failures.push(err.name),
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    o,
  );
  await Promise.all(pending);
  return { sent, failed: failures.length, failures: [...new Set(failures)] };
}

export async function wsLoad(urls: string[], creds: Creds, prefix: string, o: LiveLoadOptions): Promise<LoadResult> {
  const sent: SentEvent[] = [];
  const failures: string[] = [];
  const t0 = performance.now();
  const sockets = await Promise.all(
    Array.from({ length: o.sockets }, async (_, s) => {
      const node = s % urls.length;
      const ws = new WebSocket(`${urls[node]!.replace(/^http/, 'ws')}/ws?clientId=${creds.clientId}&deviceId=bench-${prefix}${s}&sdk=bench&sdkVersion=1`, {
        headers: { origin: ORIGIN, ...visitorHeaders(200 + s) },
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const inFlight = new Map<number, SentEvent[]>();
      let queued = 0;
      let seq = 0;
      ws.on('message', (data) => {
        const f = JSON.parse(String(data)) as {
          type: string;
          seq?: number;
          code?: string;
          rejected?: Array<{ index: number }>;
          dropped?: Array<{ index: number }>;
        };
        const batch = f.seq === undefined ? undefined : inFlight.get(f.seq);
        if (!batch) return;
        inFlight.delete(f.seq!);
        if (f.type !== 'ack') {
          failures.push(`error frame ${f.code}`);
          return;
        }
        const bad = new Set([...(f.rejected ?? []), ...(f.dropped ?? [])].map((x) => x.index));
        const now = performance.now();
        batch.forEach((ev, i) => {
          if (bad.has(i)) failures.push('rejected or dropped');
          else ev.ackedAt = now;
        });
      });
      ws.on('close', (code) => {
        if (inFlight.size > 0) failures.push(`socket closed ${code} with ${inFlight.size} batches unanswered`);
      });
      // The SDK's batching: every o.wsFlushMs (staggered over the sockets) whatever was generated goes as one frame.
      const flush = () => {
        if (queued === 0 || ws.readyState !== WebSocket.OPEN) return;
        const sentAt = performance.now();
        const name = slotName(prefix, node, sentAt, t0, o);
        const batch = Array.from({ length: queued }, (): SentEvent => ({ node, name, sentAt }));
        queued = 0;
        const s2 = seq++;
        inFlight.set(s2, batch);
        sent.push(...batch);
        const events = batch.map((_, i) => ({
          id: `${prefix}${s}-${s2}-${i}`,
          type: 'track',
          payload: { name, properties: { __path: `${ORIGIN}/ws/${i % 7}` } },
        }));
        ws.send(JSON.stringify({ type: 'batch', seq: s2, events }));
      };
      let timer: NodeJS.Timeout | undefined;
      const start = setTimeout(() => (timer = setInterval(flush, o.wsFlushMs)), (s * o.wsFlushMs) / o.sockets);
      return {
        node,
        add: () => void queued++,
        async finish() {
          clearTimeout(start);
          clearInterval(timer);
          flush();
          await until(() => inFlight.size === 0 || ws.readyState !== WebSocket.OPEN, 15_000, 10);
          ws.close(1000);
        },
      };
    }),
  );
  const byNode = urls.map((_, node) => sockets.filter((s) => s.node === node));
  await steady(
    urls.length,
    (n, node) => {
      const mine = byNode[node]!;
      mine[Math.floor(n / urls.length) % mine.length]!.add();
    },
    o,
  );
  await Promise.all(sockets.map((s) => s.finish()));
  return { sent, failed: failures.length, failures: [...new Set(failures)] };
}
