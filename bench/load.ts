/**
 * Load generators for the ingest benchmark. `/track`: autocannon, one event per request,
 * keep-alive, a distinct visitor (X-Forwarded-For) per request, spread over every given node.
 * `/ws`: sockets (spread over the nodes) each keeping a window of 50-event batches in flight
 * and measuring each batch's time to ack.
 */
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { percentile } from './support.ts';

export const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const ORIGIN = 'https://bench.example';

export interface Creds {
  projectId: string;
  clientId: string;
  clientSecret: string;
}

const round = (x: number) => Math.round(x * 10) / 10;

/**
 * Runs `/track` load for about `seconds`. autocannon drops the requests still in flight when a
 * timed run ends — their events are stored but never counted as acknowledged — so a short
 * timed run measures the rate, and the real run sends that rate × seconds requests and waits
 * for every answer: then acknowledged and stored can be compared exactly.
 */
export async function trackLoad(o: { urls: string[]; creds: Creds; seconds: number; connections: number; name: string }) {
  const probe = await trackRun({ ...o, name: `${o.name}_probe` }, { duration: 3 });
  const amount = Math.max(o.connections, Math.round((probe.acked / probe.seconds) * o.seconds));
  return trackRun(o, { amount });
}

export async function trackRun(o: { urls: string[]; creds: Creds; connections: number; name: string }, limit: { duration: number } | { amount: number }) {
  let n = 0;
  const t0 = performance.now();
  const result = await autocannon({
    ...limit,
    // autocannon spreads connections over several URLs; its types only name one.
    url: o.urls.map((u) => `${u}/track`) as unknown as string,
    connections: o.connections,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'openpanel-client-id': o.creds.clientId, origin: ORIGIN, 'user-agent': UA },
    requests: [
      {
        setupRequest(req) {
          n++;
          return {
            ...req,
            headers: { ...req.headers, 'x-forwarded-for': `81.${(n >> 16) & 255}.${(n >> 8) & 19}.${n & 255}` },
            body: JSON.stringify({ type: 'track', payload: { name: o.name, properties: { __path: `${ORIGIN}/p/${n % 50}`, n } } }),
          };
        },
      },
    ],
  });
  return {
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    acked: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
}

export async function wsLoad(o: { urls: string[]; creds: Creds; seconds: number; sockets: number; window: number; name: string }) {
  const BATCH = 50;
  const latencies: number[] = [];
  let acked = 0;
  let rejected = 0;
  let errors = 0;
  const deadline = Date.now() + o.seconds * 1000;
  const t0 = performance.now();

  const runSocket = (s: number) =>
    new Promise<void>((resolve, reject) => {
      const base = o.urls[s % o.urls.length]!.replace('http', 'ws');
      const ws = new WebSocket(`${base}/ws?clientId=${o.creds.clientId}`, {
        headers: { origin: ORIGIN, 'user-agent': UA, 'x-forwarded-for': `82.1.${s}.1` },
      });
      const sentAt = new Map<number, number>();
      let seq = 0;
      const sendBatch = () => {
        const id = seq++;
        const parts: string[] = [];
        for (let i = 0; i < BATCH; i++) {
          parts.push(`{"id":"${s}-${id}-${i}","type":"track","payload":{"name":"${o.name}","properties":{"__path":"${ORIGIN}/w/${i}","i":${i}}}}`);
        }
        sentAt.set(id, performance.now());
        ws.send(`{"type":"batch","seq":${id},"events":[${parts.join(',')}]}`);
      };
      ws.on('open', () => {
        for (let i = 0; i < o.window; i++) sendBatch();
      });
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data));
        const started = sentAt.get(frame.seq);
        if (started === undefined) return;
        sentAt.delete(frame.seq);
        if (frame.type === 'ack') {
          latencies.push(performance.now() - started);
          acked += frame.accepted;
          rejected += frame.rejected.length;
        } else errors++;
        if (Date.now() < deadline) sendBatch();
        else if (sentAt.size === 0) ws.close();
      });
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });

  await Promise.all(Array.from({ length: o.sockets }, (_, s) => runSocket(s)));
  latencies.sort((a, b) => a - b);
  return {
    seconds: round((performance.now() - t0) / 1000),
    acked,
    rejected,
    errors,
    latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? 0) },
  };
}
