/**
 * `npm run bench:live` — the live channel at scale, on a real embedded Livepanel process
 * (PGlite + chDB + WAL, temp DATA_DIR), load generator and dashboards on the same machine.
 *
 * 1. Dashboards: --dashboards socket.io dashboards (a `read` client) watch one project, each
 *    subscribed to the realtime page's tiles (REALTIME_PAGE_TILES) plus a goal tile. For each
 *    rate of --rates (events/s), SDK-like `/ws` sockets (--sockets, a batch every
 *    --ws-flush-ms) send events for --seconds. Reported per rate: event → dashboard latency
 *    p50/p95/p99 (event sent by the client → tick containing it received by each dashboard;
 *    events are named after their --slot-ms time slot, see bench/live.ts), deliveries missing
 *    or extra, the server's CPU (cores) and peak RSS, bytes/s per dashboard (the JSON of every
 *    tick and presence push it received), and the event rate actually acknowledged.
 * 2. Idle SDK sockets: --idle sockets opened by --idle-procs child processes from several
 *    loopback source addresses, two per device (two tabs); reported: the server's RSS growth
 *    per socket, and whether a dashboard's `online` reaches exactly the number of devices
 *    (sockets / 2) and goes back to 0 once they close.
 * 3. Redis memory per online visitor: --redis-visitors devices put online through the Redis
 *    Visitors engine (own key prefix on the local Redis), MEMORY USAGE of its keys.
 *
 * `--shape distributed` (or `both`) runs the rate phases (1) also against the distributed
 * shape: two `ingest` processes and one `worker,web` process on the local Redis (own key
 * prefix) and PostgreSQL (a fresh database), SDK sockets and dashboards spread over both ingest
 * nodes, so every tick crosses the Redis adapter; the server's CPU and RSS are those of the
 * three processes together (peak RSS: the largest one's).
 *
 * Targets: p99 ≤ 200 ms at 5,000 events/s with 100 dashboards; idle sockets ≤ 8 KB each.
 * Prints tables and saves JSON under bench/results/. The server's descriptor limit bounds
 * --idle (see README "Live channel" for raising it). The dashboards and their latency analysis
 * live in live-scale-dashboards.ts, the idle-socket and Redis memory phases in live-scale-memory.ts.
 */
import type { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { type LocalCluster, type NodeProcess, startLocalCluster, startNode } from '../server/cluster/local-cluster.ts';
import { createMetadata } from '../server/store/metadata.ts';
import { openMetadataDb } from '../server/store/postgres.ts';
import { REALTIME_PAGE_TILES } from '../shared/live-tiles.ts';
import { freePorts } from '../tests/cluster/harness.ts';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { deleteKeys } from '../tests/support/redis.ts';
import { type Creds, until } from './live-dashboards.ts';
import { wsLoad } from './live-load.ts';
import { analyse, type Dash, dashboard, histogramPercentiles, type Phase, serverHistogram } from './live-scale-dashboards.ts';
import { idleSockets, redisPerVisitor } from './live-scale-memory.ts';
import { adminCommand, createProject, sampleProcesses, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '1000,5000,10000' },
    seconds: { type: 'string', default: '15' },
    dashboards: { type: 'string', default: '100' },
    sockets: { type: 'string', default: '8' },
    'ws-flush-ms': { type: 'string', default: '50' },
    'slot-ms': { type: 'string', default: '10' },
    idle: { type: 'string', default: '10000' },
    'idle-procs': { type: 'string', default: '2' },
    'idle-addresses': { type: 'string', default: '4' },
    'redis-visitors': { type: 'string', default: '100000' },
    shape: { type: 'string', default: 'embedded' },
  },
});
const RATES = args.rates === 'none' ? [] : args.rates!.split(',').map(Number);
const SECONDS = Number(args.seconds);
const DASHBOARDS = Number(args.dashboards);
const SOCKETS = Number(args.sockets);
const WS_FLUSH_MS = Number(args['ws-flush-ms']);
const SLOT_MS = Number(args['slot-ms']);
const IDLE = Number(args.idle);
const IDLE_PROCS = Math.max(1, Number(args['idle-procs']));
const IDLE_ADDRESSES = Math.max(1, Number(args['idle-addresses']));
const REDIS_VISITORS = Number(args['redis-visitors']);
const SHAPES = args.shape === 'both' ? ['embedded', 'distributed'] : [args.shape!];
if (!SHAPES.every((x) => x === 'embedded' || x === 'distributed')) throw new Error('--shape: embedded, distributed or both');
const TARGET_MS = 200;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------- watchdog

let node: NodeProcess | undefined;
let cluster: LocalCluster | undefined;
const children = new Set<ReturnType<typeof fork>>();
const budgetMs = 120_000 + SHAPES.length * RATES.length * (SECONDS * 1000 + 40_000) + 240_000 + (SHAPES.includes('distributed') ? 120_000 : 0);
const watchdog = setTimeout(() => {
  console.error(`bench:live exceeded its ${Math.round(budgetMs / 1000)} s budget; killing its processes`);
  abort(1);
}, budgetMs);
watchdog.unref();
process.once('SIGINT', () => abort(130));
function abort(code: number) {
  node?.child.kill('SIGKILL');
  for (const n of cluster ? [cluster.worker, ...cluster.ingest] : []) n.child.kill('SIGKILL');
  for (const c of children) c.kill('SIGKILL');
  process.exit(code);
}

/** Where a rate phase runs: the nodes SDK sockets and dashboards connect to (round robin), and the server processes measured. */
interface Target {
  shape: string;
  ingestUrls: string[];
  dashboardUrls: string[];
  processes: Record<string, number>;
}

async function ratePhases(target: Target, writer: Creds, reader: Creds) {
  const current: Phase = { prefix: '\0' };
  const dashes: Dash[] = [];
  const urls = target.dashboardUrls;
  for (let i = 0; i < DASHBOARDS; i += 20)
    dashes.push(
      ...(await Promise.all(Array.from({ length: Math.min(20, DASHBOARDS - i) }, (_, k) => dashboard(urls[(i + k) % urls.length]!, reader, current)))),
    );
  await sleep(4000); // backfills answered, presence settled
  const out = [];
  try {
    for (const rate of RATES) {
      const prefix = `lv_${randomBytes(2).toString('hex')}_`;
      current.prefix = prefix;
      for (const d of dashes) {
        d.ticks.length = 0;
        d.shown = 0;
        d.bytes = 0;
      }
      const hist0 = await serverHistogram(target.ingestUrls);
      const sampler = sampleProcesses(target.processes);
      const bench0 = process.cpuUsage();
      const t0 = performance.now();
      const load = await wsLoad(target.ingestUrls, writer, prefix, { rate, seconds: SECONDS, slotMs: SLOT_MS, wsFlushMs: WS_FLUSH_MS, sockets: SOCKETS });
      const sendSeconds = (performance.now() - t0) / 1000;
      const acked = load.sent.filter((e) => e.ackedAt !== undefined).length;
      await until(() => dashes.every((d) => d.shown >= acked), 10_000, 20);
      const wall = (performance.now() - t0) / 1000;
      await sleep(300);
      const processes = sampler.done() as Record<string, { cpuCores: number; peakRssMb: number }>;
      const serverSide = histogramPercentiles(hist0, await serverHistogram(target.ingestUrls));
      const benchCpu = process.cpuUsage(bench0);
      const a = analyse(prefix, dashes, load.sent, TARGET_MS);
      const bytes = dashes.map((d) => d.bytes / wall);
      const all = Object.values(processes);
      const phase = {
        shape: target.shape,
        rate,
        ackedPerSecond: Math.round(acked / sendSeconds),
        seconds: round(sendSeconds),
        ...a,
        /** Receipt of a batch → the tick carrying it, as the server measures it (histogram bucket bounds). */
        serverEventToTick: serverSide,
        bytesPerSecondPerDashboard: { mean: Math.round(bytes.reduce((s, b) => s + b, 0) / bytes.length), max: Math.round(Math.max(...bytes)) },
        /** Every server process together: CPU cores summed, peak RSS of the largest. */
        server: { cpuCores: round(all.reduce((a, p) => a + p.cpuCores, 0)), peakRssMb: Math.max(...all.map((p) => p.peakRssMb)) },
        processes,
        benchProcessCores: round((benchCpu.user + benchCpu.system) / 1e6 / wall),
        loadFailures: load.failures,
        loadavg: os.loadavg().map(round),
      };
      console.log(JSON.stringify(phase));
      out.push(phase);
    }
  } finally {
    current.prefix = '\0';
    for (const d of dashes) d.socket.close();
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-live-scale-'));
  const [port] = await freePorts(1);
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, loadavgAtStart: os.loadavg().map(round) },
    settings: {
      rates: RATES,
      seconds: SECONDS,
      dashboards: DASHBOARDS,
      wsSockets: SOCKETS,
      wsFlushMs: WS_FLUSH_MS,
      idle: IDLE,
      idleProcs: IDLE_PROCS,
      targetMs: TARGET_MS,
    },
  };
  result.rates = [];
  if (SHAPES.includes('distributed') && RATES.length) (result.rates as unknown[]).push(...(await distributedPhases()));
  if (!SHAPES.includes('embedded')) return finish(result);
  try {
    const env = () => ({
      PORT: String(port),
      DATA_DIR: dataDir,
      TRUST_PROXY: '1',
      LOG_LEVEL: 'warn',
      RATE_LIMITS: 'off',
      WS_MAX_SOCKETS_PER_IP: '0',
      WS_MAX_SOCKETS: '0',
    });
    node = await startNode('livepanel', env());
    const writer = await createProject(dataDir);
    const reader = {
      projectId: writer.projectId,
      ...(await adminCommand<{ clientId: string; clientSecret: string }>(dataDir, 'create-client', { project: writer.projectId, type: 'read' })),
    };
    console.log(
      `== embedded Livepanel on ${node.url}: ${DASHBOARDS} dashboards × ${REALTIME_PAGE_TILES.length + 1} tiles; rates ${RATES.join(', ')} events/s, ${SECONDS} s each`,
    );
    const target: Target = { shape: 'embedded', ingestUrls: [node.url], dashboardUrls: [node.url], processes: { livepanel: node.child.pid! } };
    if (RATES.length) (result.rates as unknown[]).push(...(await ratePhases(target, writer, reader)));
    if (IDLE > 0 && RATES.length) {
      // A fresh process for the idle sockets: what the rate phases allocated would blur the RSS growth.
      await node.stop();
      node = await startNode('livepanel', env());
    }
    console.log(`== ${IDLE} idle SDK sockets (2 per device) from ${IDLE_PROCS} processes`);
    result.idle = await idleSockets(node.url, writer, reader, {
      idle: IDLE,
      procs: IDLE_PROCS,
      addresses: IDLE_ADDRESSES,
      serverPid: node.child.pid!,
      children,
    });
    console.log(JSON.stringify(result.idle));
  } finally {
    await node?.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
  result.redisVisitors = await redisPerVisitor(REDIS_URL, REDIS_VISITORS).catch((err) => ({ error: String(err) }));
  return finish(result);
}

/** The rate phases against two ingest processes and a worker,web process on the local Redis and PostgreSQL. */
async function distributedPhases() {
  const redisPrefix = `lpbench:${randomBytes(4).toString('hex')}:`;
  const db = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-live-dist-'));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    const [i1, i2, w] = await freePorts(3);
    cluster = await startLocalCluster({
      redisUrl: REDIS_URL,
      redisPrefix,
      databaseUrl: db.url,
      dataDir,
      ingestPorts: [i1!, i2!],
      workerPort: w!,
      env: { TRUST_PROXY: '1', LOG_LEVEL: 'warn', RATE_LIMITS: 'off', WS_MAX_SOCKETS_PER_IP: '0', WS_MAX_SOCKETS: '0' },
    });
    const meta = await openMetadataDb({ kind: 'postgres', url: db.url });
    let writer: Creds;
    let reader: Creds;
    try {
      const store = createMetadata(meta.db);
      const p = await store.createProject({ name: 'bench', domain: 'bench.example' });
      writer = { projectId: p.projectId, clientId: p.clientId, clientSecret: p.clientSecret };
      reader = { projectId: p.projectId, ...(await store.createClient({ projectId: p.projectId, type: 'read', origins: [] })) };
    } finally {
      await meta.close();
    }
    const ingest = cluster.ingest.map((n) => n.url);
    console.log(`== distributed Livepanel: ingest ${ingest.join(', ')}, worker,web ${cluster.worker.url}; ${DASHBOARDS} dashboards over both ingest nodes`);
    return await ratePhases(
      {
        shape: 'distributed',
        ingestUrls: ingest,
        dashboardUrls: ingest,
        processes: Object.fromEntries([cluster.worker, ...cluster.ingest].map((n, i) => [i === 0 ? 'worker' : `ingest${i}`, n.child.pid!])),
      },
      writer,
      reader,
    );
  } finally {
    await cluster?.stop().catch(() => {});
    cluster = undefined;
    await deleteKeys(redis, redisPrefix).catch(() => {});
    redis.disconnect();
    await db.drop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function finish(result: Record<string, unknown>) {
  result.machine = { ...(result.machine as object), loadavgAtEnd: os.loadavg().map(round) };
  const file = saveResults('live-scale', result);

  console.log(`\n${DASHBOARDS} dashboards on one project: event sent → tick received by each dashboard (target p99 ≤ ${TARGET_MS} ms at 5,000 events/s)`);
  console.table(
    (result.rates as Array<Awaited<ReturnType<typeof ratePhases>>[number]>).map((p) => ({
      shape: p.shape,
      'events/s asked': p.rate,
      'acked/s': p.ackedPerSecond,
      'missing/extra': `${p.deliveries.missing}/${p.deliveries.extra}`,
      'ticks at name cap': p.deliveries.ticksAtNameCap,
      'p50 ms': p.latencyMs.p50,
      'p95 ms': p.latencyMs.p95,
      'p99 ms': p.latencyMs.p99,
      'ack p99 ms': p.ackMs.p99,
      'ack→dashboard p99 ms': p.ackToDashboardMs.p99,
      'server-side p99': p.serverEventToTick.p99Ms,
      'server cores': p.server?.cpuCores,
      'server peak MB': p.server?.peakRssMb,
      'bytes/s per dashboard': p.bytesPerSecondPerDashboard.mean,
    })),
  );
  const idle = result.idle as Awaited<ReturnType<typeof idleSockets>>;
  if (idle) {
    console.log('idle SDK sockets');
    console.table([
      {
        opened: `${idle.opened}/${idle.requested}`,
        'KB per socket': idle.rssPerSocketKb,
        'online = devices': idle.onlineReachedDevices,
        'max online seen': idle.maxOnlineSeen,
        'back to 0': idle.backToZero,
      },
    ]);
  }
  if (result.redisVisitors) console.log('Redis memory per online visitor', JSON.stringify(result.redisVisitors));
  console.log(`saved ${file}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    abort(1);
  },
);
