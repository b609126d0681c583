/**
 * `tsx bench/track-path.ts` — CPU per `/track` request of the work behind uWS, in one process
 * without sockets: the body's JSON parse, the request info (client address through
 * TRUST_PROXY=1), the ingest service with the real enrichment pipeline (bundled GeoIP), the
 * in-process session store and dedupe, and the write-ahead log's record encoding (the queue
 * resolves at once: the log's write and sync are not measured here). Each request is a new
 * visitor, as under `bench:ingest`, so caches and tables fill past 200,000 entries.
 *
 *   --requests N   requests (default 400000), reported per window of 100,000
 *   --root DIR     run another checkout's code (a before/after in alternation)
 *
 * Prints µs of CPU per request for each window; saves bench/results/track-path-<time>.json.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '400000' }, root: { type: 'string' } } });
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const load = (f: string) => import(path.join(ROOT, f));

const [
  { createIngest },
  { createPipeline },
  { createEnrichSteps },
  { openGeoip },
  { createSessionStep },
  sessionsMod,
  dedupeMod,
  record,
  rows,
  httpMod,
  metricsMod,
] = await Promise.all([
  load('server/ingest/ingest.ts'),
  load('server/ingest/pipeline.ts'),
  load('server/ingest/enrich.ts'),
  load('server/ingest/geoip.ts'),
  load('server/ingest/steps/session.ts'),
  load('server/engines/sessions.memory.ts'),
  load('server/engines/dedupe.memory.ts'),
  load('server/engines/wal/record.ts'),
  load('shared/rows.ts'),
  load('server/ingest/http.uws.ts'),
  load('server/metrics.ts'),
]);

const metrics = metricsMod.createMetrics();
const sessions = sessionsMod.createMemorySessionStore({ timeoutMs: 30 * 60_000 });
const geoip = await openGeoip({});
// Two salts, as the server always has (yesterday's and today's).
const salts = { salts: () => ({ current: 'salt-today', previous: 'salt-yesterday' }) };
let encodedBytes = 0;
const queue = {
  confirmsDedupe: false,
  async push(batch: unknown) {
    encodedBytes += record.encodeRecord(batch, rows.batchSize(batch)).length;
  },
  async depth() {
    return 0;
  },
  async close() {},
};
const ingest = createIngest({
  enrich: createPipeline(createEnrichSteps({ geoip, salts, sessionTimeoutMs: 30 * 60_000 }), { metrics }),
  session: createSessionStep({ sessions, timeoutMs: 30 * 60_000 }),
  sessions,
  dedupe: dedupeMod.createMemoryDedupe(),
  queue,
  metrics,
});
const caller = { projectId: 'bench-project', clientId: 'c', viaSecret: false };
const ORIGIN = 'https://bench.example';
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const ipOpts = { trust: { hops: 1 } };

async function one(n: number) {
  const text = JSON.stringify({ type: 'track', payload: { name: 'bench', properties: { __path: `${ORIGIN}/p/${n % 50}`, n } } });
  const headers = {
    'content-type': 'application/json',
    origin: ORIGIN,
    'user-agent': UA,
    'openpanel-client-id': 'c',
    'x-forwarded-for': `81.${(n >> 16) & 255}.${(n >> 8) & 19}.${n & 255}`,
  };
  const snap = { method: 'post', url: '/track', query: '', headers, remoteIp: '127.0.0.1', params: [] };
  const body = JSON.parse(text);
  const request = httpMod.requestInfo(snap, ipOpts);
  const [r] = await ingest.accept(caller, request, [{ body }], 'track');
  if (r.status !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(r)}`);
  return JSON.stringify({ deviceId: r.deviceId, sessionId: r.sessionId });
}

const total = Number(args.requests);
const WINDOW = 100_000;
const CONCURRENCY = 50; // requests in flight, as 50 connections
const windows: Array<{ from: number; cpuUsPerRequest: number }> = [];
let n = 0;
for (let from = 0; from < total; from += WINDOW) {
  const cpu0 = process.cpuUsage();
  const end = Math.min(total, from + WINDOW);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (n < end) await one(n++);
    }),
  );
  const c = process.cpuUsage(cpu0);
  windows.push({ from, cpuUsPerRequest: Math.round(((c.user + c.system) / (end - from)) * 100) / 100 });
  console.log(`requests ${from}-${end}: ${windows.at(-1)!.cpuUsPerRequest} µs CPU per request`);
}
const mean = windows.reduce((a, w) => a + w.cpuUsPerRequest, 0) / windows.length;
console.log(
  `mean ${mean.toFixed(2)} µs CPU per request (${ROOT}), ${Math.round(encodedBytes / total)} record bytes per request, load ${os.loadavg()[0]!.toFixed(1)}`,
);
saveResults('track-path', { date: new Date().toISOString(), root: ROOT, requests: total, windows, meanCpuUsPerRequest: mean, loadAverage: os.loadavg() });
await sessions.close();
process.exit(0);
