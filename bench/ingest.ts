/**
 * `npm run bench:ingest` — ingest throughput and latency against the embedded shape, load
 * generator on the same machine:
 *   1. HTTP `POST /track`, one event per request, keep-alive, many connections (autocannon);
 *   2. `/ws`, batches of 50 events, several sockets each keeping a window of batches in flight.
 * For each: events/s acknowledged and stored, ack latency p50/p99, server CPU and peak RSS,
 * and whether stored == acknowledged. Results are printed and saved under bench/results/.
 * Options: --seconds N (default 30), --connections N (track, default 500), --sockets N (ws, 8),
 * --window N (batches in flight per socket, 16).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { countStored, createProject, percentile, sampleProcess, saveResults, startProcess } from './support.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    connections: { type: 'string', default: '500' },
    sockets: { type: 'string', default: '8' },
    window: { type: 'string', default: '16' },
  },
});
const SECONDS = Number(args.seconds);
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

type Creds = Awaited<ReturnType<typeof createProject>>;

async function benchTrack(url: string, creds: Creds, pid: number) {
  const sampler = sampleProcess(pid);
  let n = 0;
  const result = await autocannon({
    url: `${url}/track`,
    connections: Number(args.connections),
    duration: SECONDS,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'openpanel-client-id': creds.clientId, origin: 'https://bench.example', 'user-agent': UA },
    requests: [
      {
        setupRequest(req) {
          n++;
          // A different visitor per request: 5,000 distinct public-looking IPs.
          const ip = `81.${(n >> 16) & 255}.${(n >> 8) & 19}.${n & 255}`;
          return {
            ...req,
            headers: { ...req.headers, 'x-forwarded-for': ip },
            body: JSON.stringify({ type: 'track', payload: { name: 'bench_track', properties: { __path: `https://bench.example/p/${n % 50}`, n } } }),
          };
        },
      },
    ],
  });
  const server = sampler.done();
  const acked = result['2xx'];
  const stored = await countStored(url, creds, 'bench_track');
  return {
    transport: 'POST /track',
    seconds: SECONDS,
    connections: Number(args.connections),
    requests: result.requests.total,
    acked,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    ackedPerSecond: Math.round(acked / result.duration),
    stored,
    storedPerSecond: Math.round(stored / result.duration),
    storedEqualsAcked: stored === acked,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    server,
  };
}

async function benchWs(url: string, creds: Creds, pid: number) {
  const sockets = Number(args.sockets);
  const window = Number(args.window);
  const BATCH = 50;
  const latencies: number[] = [];
  let acked = 0;
  let rejected = 0;
  const wsUrl = `${url.replace('http', 'ws')}/ws?clientId=${creds.clientId}`;
  const deadline = Date.now() + SECONDS * 1000;
  const sampler = sampleProcess(pid);
  const t0 = performance.now();

  const runSocket = (s: number) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { origin: 'https://bench.example', 'user-agent': UA, 'x-forwarded-for': `82.1.${s}.1` } });
      const sentAt = new Map<number, number>();
      let seq = 0;
      let done = false;
      const sendBatch = () => {
        const id = seq++;
        const parts: string[] = [];
        for (let i = 0; i < BATCH; i++) {
          parts.push(`{"id":"${s}-${id}-${i}","type":"track","payload":{"name":"bench_ws","properties":{"__path":"https://bench.example/w/${i}","i":${i}}}}`);
        }
        sentAt.set(id, performance.now());
        ws.send(`{"type":"batch","seq":${id},"events":[${parts.join(',')}]}`);
      };
      ws.on('open', () => {
        for (let i = 0; i < window; i++) sendBatch();
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
        }
        if (Date.now() < deadline) sendBatch();
        else if (sentAt.size === 0 && !done) {
          done = true;
          ws.close();
        }
      });
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });

  await Promise.all(Array.from({ length: sockets }, (_, s) => runSocket(s)));
  const elapsed = (performance.now() - t0) / 1000;
  const server = sampler.done();
  const stored = await countStored(url, creds, 'bench_ws');
  latencies.sort((a, b) => a - b);
  return {
    transport: 'WS /ws',
    seconds: Math.round(elapsed * 10) / 10,
    sockets,
    batchSize: BATCH,
    windowPerSocket: window,
    acked,
    rejected,
    ackedPerSecond: Math.round(acked / elapsed),
    stored,
    storedPerSecond: Math.round(stored / elapsed),
    storedEqualsAcked: stored === acked,
    latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? 0) },
    server,
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-'));
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const proc = await startProcess({ PORT: port, DATA_DIR: dataDir, TRUST_PROXY: 'true' });
  try {
    const creds = await createProject(proc.url, dataDir);
    const pid = proc.child.pid!;
    console.log(`embedded shape on ${proc.url}; ${SECONDS}s per phase`);
    const track = await benchTrack(proc.url, creds, pid);
    console.log(track);
    const ws = await benchWs(proc.url, creds, pid);
    console.log(ws);
    const file = saveResults('ingest-embedded', { date: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, track, ws });
    console.log(`\nsaved ${file}`);
    console.table([track, ws].map((r) => ({
      transport: r.transport,
      'acked/s': r.ackedPerSecond,
      'stored/s': r.storedPerSecond,
      'p50 ms': r.latencyMs.p50,
      'p99 ms': r.latencyMs.p99,
      'server CPU (cores)': round(r.server.cpuCores),
      'peak RSS MB': r.server.peakRssMb,
      'stored == acked': r.storedEqualsAcked,
    })));
  } finally {
    await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
