/**
 * Load generators for the ingest benchmark. `/track`: one event per request, keep-alive, a
 * distinct visitor (X-Forwarded-For) per request, spread over every given node — from wrk
 * (bench/wrk.ts, bench/track.lua) when it is installed, else from autocannon in this process.
 * `/ws`: sockets (spread over the nodes) each keeping a window of 50-event batches in flight
 * and measuring each batch's time to ack; it stays in Node, where batching keeps its cost low.
 * Each run reports its generator's own CPU, so the share of the machine it takes is visible.
 */
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { percentile } from './support.ts';
import { loadgenCpu, wrkInstalled, wrkTrackRun } from './wrk.ts';

export const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const ORIGIN = 'https://bench.example';

export interface Creds {
  projectId: string;
  clientId: string;
  clientSecret: string;
}

const round = (x: number) => Math.round(x * 10) / 10;

export type Loadgen = 'wrk' | 'autocannon';

/** The `/track` generator: the one asked for, else wrk when installed, else autocannon. */
export function pickLoadgen(asked: string | undefined): Loadgen {
  if (asked === 'autocannon') return 'autocannon';
  if (asked === 'wrk' || asked === undefined) {
    if (wrkInstalled()) return 'wrk';
    if (asked === 'wrk') throw new Error('--loadgen wrk: no wrk on the PATH (apt-get install wrk)');
    return 'autocannon';
  }
  throw new Error(`--loadgen ${asked}: wrk or autocannon`);
}

interface TrackOptions {
  urls: string[];
  creds: Creds;
  connections: number;
  name: string;
  /** Visitors the requests come from in turn (request n from visitor n % visitors); 0: a new visitor per request. */
  visitors: number;
}

/**
 * Runs `/track` load for about `seconds`.
 *
 * wrk runs for the duration; the requests in flight when it stops are reported as
 * `unanswered`, and stored must lie between acknowledged and acknowledged + unanswered.
 *
 * autocannon also drops the requests still in flight when a timed run ends, so a short timed
 * run measures the rate, and the real run sends that rate × seconds requests and waits for
 * every answer: then acknowledged and stored can be compared exactly (`unanswered` is 0).
 */
export async function trackLoad(o: TrackOptions & { seconds: number; loadgen: Loadgen }) {
  if (o.loadgen === 'wrk') return trackRunWrk(o, o.seconds);
  const probe = await trackRun({ ...o, name: `${o.name}_probe` }, { duration: 3 });
  const amount = Math.max(o.connections, Math.round((probe.acked / probe.seconds) * o.seconds));
  return trackRun(o, { amount });
}

/** One timed `/track` run from wrk. */
export function trackRunWrk(o: TrackOptions, seconds: number) {
  return wrkTrackRun({
    urls: o.urls,
    clientId: o.creds.clientId,
    name: o.name,
    origin: ORIGIN,
    userAgent: UA,
    connections: o.connections,
    seconds,
    visitors: o.visitors,
  });
}

/** One `/track` run from autocannon, timed or of an exact amount of requests. */
export async function trackRun(o: TrackOptions, limit: { duration: number } | { amount: number }) {
  let n = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
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
          const v = o.visitors > 0 ? n % o.visitors : n;
          return {
            ...req,
            headers: { ...req.headers, 'x-forwarded-for': `${81 + (v >>> 24)}.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}` },
            body: JSON.stringify({ type: 'track', payload: { name: o.name, properties: { __path: `${ORIGIN}/p/${n % 50}`, n } } }),
          };
        },
      },
    ],
  });
  // autocannon runs in this process: its CPU is this process's over the run.
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  return {
    loadgen: 'autocannon' as const,
    connections: o.connections,
    seconds: Math.round(seconds * 10) / 10,
    acked: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    // An exact amount is waited for; a timed run may end with one request per connection in flight.
    unanswered: 'amount' in limit ? 0 : o.connections,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    loadgenCpu: loadgenCpu((cpu.user + cpu.system) / 1e6, result['2xx'] + result.non2xx, seconds),
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
  const cpu0 = process.cpuUsage();

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
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    loadgen: 'ws' as const,
    seconds: round(seconds),
    acked,
    rejected,
    errors,
    // Every batch is waited for.
    unanswered: 0,
    latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? 0) },
    // Per 1,000 events (50 to a frame), this process's CPU over the run.
    loadgenCpu: loadgenCpu((cpu.user + cpu.system) / 1e6, acked + rejected, seconds),
  };
}
