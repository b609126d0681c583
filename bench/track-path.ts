/**
 * `tsx bench/track-path.ts` — CPU per `/track` request (or `/ws` event) of the work behind uWS, in one process
 * without sockets: the body's JSON parse, the request info (client address through
 * TRUST_PROXY=1), the ingest service with the real enrichment pipeline (bundled GeoIP), the
 * in-process session store and dedupe, and the write-ahead log's record encoding (the queue
 * resolves at once: the log's write and sync are not measured here). Each request is a new
 * visitor, as under `bench:ingest`, so caches and tables fill past 200,000 entries.
 *
 *   --requests N   requests (default 400000), reported per window of 100,000
 *   --root DIR     run another checkout's code (a before/after in alternation)
 *   --ws           `/ws` instead: frames of 50 events with client ids from 8 sockets (8
 *                  devices) with 16 frames each in flight, as `bench:ingest` sends them — the
 *                  frame's UTF-8 decode and JSON parse, the protocol's zod check, the ingest
 *                  service, the ack's JSON; `--requests` then counts events
 *   --alloc        also samples every allocation (V8's sampling heap profiler, objects the
 *                  collector freed included) and prints bytes allocated per request (event),
 *                  in all and by function; the CPU figures are then not comparable
 *   --distinct-paths  with --ws: every event on a page URL of its own (as `bench:ingest`,
 *                  the default sends 50 pages; this is the worst case for the url step's cache)
 *
 * Prints µs of CPU per request (event) for each window; saves bench/results/track-path-<time>.json
 * (ws-path-<time>.json with --ws).
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '400000' },
    root: { type: 'string' },
    ws: { type: 'boolean', default: false },
    'distinct-paths': { type: 'boolean', default: false },
    alloc: { type: 'boolean', default: false },
  },
});
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
  wsProtocol,
  edgeParse,
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
  load('shared/ws-protocol.ts'),
  // The frame's fast path, as ws.uws.ts runs it (absent from checkouts before it).
  load('server/ingest/edge-parse.ts').catch(() => undefined),
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
// `requestInfo` took the proxy options until `peerAddress` came (2026-12-01), the client's address since.
const [uwsHelpers, clientIpMod] = await Promise.all([load('server/http/uws.ts'), load('server/ingest/client-ip.ts')]);
const requestInfoOf = (snap: { remoteIp: string; headers: Record<string, string> }) =>
  'peerAddress' in uwsHelpers ? httpMod.requestInfo(snap, clientIpMod.clientIp(snap.remoteIp, snap.headers, ipOpts)) : httpMod.requestInfo(snap, ipOpts);

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
  const request = requestInfoOf(snap);
  const [r] = await ingest.accept(caller, request, [{ body }], 'track');
  if (r.status !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(r)}`);
  return JSON.stringify({ deviceId: r.deviceId, sessionId: r.sessionId });
}

const BATCH = 50;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const wsRequests = Array.from({ length: 8 }, (_, s) =>
  requestInfoOf({
    method: 'get',
    url: '/ws',
    query: '',
    headers: { origin: ORIGIN, 'user-agent': UA, 'x-forwarded-for': `82.1.${s}.1` },
    remoteIp: '127.0.0.1',
    params: [],
  } as { remoteIp: string; headers: Record<string, string> }),
);

/** Frame `seq` of socket `s` as `bench:ingest` sends it (built before the CPU is measured: the client's work). */
function frameBytes(s: number, seq: number) {
  const parts: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    const page = args['distinct-paths'] ? `${seq}/${i}` : i;
    parts.push(`{"id":"${s}-${seq}-${i}","type":"track","payload":{"name":"bench","properties":{"__path":"${ORIGIN}/w/${page}","i":${i}}}}`);
  }
  return Buffer.from(`{"type":"batch","seq":${seq},"events":[${parts.join(',')}]}`);
}

/** The server's work for one frame, from its bytes to its ack's JSON. */
async function frame(s: number, seq: number, bytes: Buffer) {
  const json = JSON.parse(utf8.decode(bytes));
  const fast = edgeParse?.fastClientFrame(json);
  const parsed = fast ? { success: true, data: fast } : wsProtocol.ClientFrame.safeParse(json);
  if (!parsed.success || parsed.data.type !== 'batch') throw new Error('frame refused');
  const { items, invalid } = httpMod.toItems(parsed.data.events, { bytes: bytes.length, maxEventBytes: 16_384 });
  const request = { ...wsRequests[s], receivedAt: Date.now() };
  const results = await ingest.accept(
    caller,
    request,
    items.map((x: { item: unknown }) => x.item),
    'ws',
  );
  const a = httpMod.summarize(
    results,
    items.map((x: { index: number }) => x.index),
    invalid,
  );
  if (a.accepted !== BATCH) throw new Error(`accepted ${a.accepted} of ${BATCH}`);
  return JSON.stringify({ type: 'ack', seq, accepted: a.accepted, rejected: a.rejected, dropped: a.dropped });
}

const total = Number(args.requests);
const sampler = args.alloc ? await startAllocationSampling() : undefined;
const WINDOW = 100_000;
const CONCURRENCY = 50; // requests in flight, as 50 connections
const windows: Array<{ from: number; cpuUsPerRequest: number }> = [];
let n = 0;
for (let from = 0; from < total; from += WINDOW) {
  const end = Math.min(total, from + WINDOW);
  // 8 sockets × 16 frames in flight, each frame 50 events; socket s sends frames s, s + 8, …
  const frames = args.ws ? Array.from({ length: (end - from) / BATCH }, (_, k) => frameBytes(k % 8, from / BATCH + k)) : [];
  const cpu0 = process.cpuUsage();
  if (args.ws) {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 * 16 }, async () => {
        while (next < frames.length) {
          const k = next++;
          await frame(k % 8, from / BATCH + k, frames[k]!);
        }
      }),
    );
    n = end;
  } else
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (n < end) await one(n++);
      }),
    );
  const c = process.cpuUsage(cpu0);
  windows.push({ from, cpuUsPerRequest: Math.round(((c.user + c.system) / (end - from)) * 100) / 100 });
  console.log(`requests ${from}-${end}: ${windows.at(-1)!.cpuUsPerRequest} µs CPU per ${args.ws ? 'event' : 'request'}`);
}
const mean = windows.reduce((a, w) => a + w.cpuUsPerRequest, 0) / windows.length;
console.log(
  `mean ${mean.toFixed(2)} µs CPU per request (${ROOT}), ${Math.round(encodedBytes / total)} record bytes per request, load ${os.loadavg()[0]!.toFixed(1)}`,
);
const allocation = sampler ? await sampler.stop(total) : undefined;
saveResults(args.ws ? 'ws-path' : 'track-path', {
  allocation,
  date: new Date().toISOString(),
  root: ROOT,
  distinctPaths: args['distinct-paths'],
  requests: total,
  windows,
  meanCpuUsPerRequest: mean,
  loadAverage: os.loadavg(),
});
await sessions.close();
process.exit(0);

/**
 * Samples allocations (one sample per 4 KiB on average, freed objects kept in the profile) until
 * `stop`, which prints and returns the bytes allocated per request, in all and by function.
 */
async function startAllocationSampling() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  type Node = { callFrame: { functionName: string; url: string }; selfSize: number; children: Node[] };
  return {
    async stop(requests: number) {
      const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: Node } };
      const byFunction = new Map<string, number>();
      const walk = (n: Node) => {
        const name = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}`;
        if (n.selfSize) byFunction.set(name, (byFunction.get(name) ?? 0) + n.selfSize);
        for (const c of n.children) walk(c);
      };
      walk(profile.head);
      const perRequest = Math.round([...byFunction.values()].reduce((a, b) => a + b, 0) / requests);
      const top = [...byFunction]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20)
        .map(([fn, bytes]) => ({ fn, bytesPerRequest: Math.round(bytes / requests) }));
      console.log(`allocated ≈ ${perRequest} bytes per request (sampled), by function:`);
      for (const t of top) console.log(`  ${String(t.bytesPerRequest).padStart(6)}  ${t.fn}`);
      return { bytesPerRequest: perRequest, top };
    },
  };
}
