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
 * --idle (see README "Live channel" for raising it).
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { type LocalCluster, type NodeProcess, startLocalCluster, startNode } from '../server/cluster/local-cluster.ts';
import { createRedisVisitors } from '../server/engines/visitors.redis.ts';
import { createMetadata } from '../server/store/metadata.ts';
import { openMetadataDb } from '../server/store/postgres.ts';
import { type ClientToServerEvents, LIVE_TICK_LIMITS, type LiveTick, type ServerToClientEvents } from '../shared/live.ts';
import { REALTIME_PAGE_TILES } from '../shared/live-tiles.ts';
import { freePorts } from '../tests/cluster/harness.ts';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { deleteKeys } from '../tests/support/redis.ts';
import { type Creds, stats, until } from './live-dashboards.ts';
import { ORIGIN, type SentEvent, wsLoad } from './live-load.ts';
import { adminCommand, createProject, procStats, sampleProcesses, saveResults } from './support.ts';

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
const HERE = path.dirname(fileURLToPath(import.meta.url));

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

// ---------------------------------------------------------------- dashboards

interface Dash {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  ticks: Array<{ receivedAt: number; tick: LiveTick }>;
  online: number[];
  bytes: number;
  shown: number;
}

let phasePrefix = '\0';

async function dashboard(url: string, auth: Creds): Promise<Dash> {
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
    for (const name in tick.events) if (name.startsWith(phasePrefix)) d.shown += tick.events[name]!;
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
function analyse(prefix: string, dashes: Dash[], sent: SentEvent[]) {
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
    latencyMs: stats(latency, TARGET_MS),
    /** The live channel's share: event acknowledged to its SDK (durable) → tick received by the dashboard. */
    ackToDashboardMs: stats(afterAck, TARGET_MS),
    /** Event sent → its batch acknowledged (durable): the ingest path's share of the latency. */
    ackMs: stats(
      acked.map((e) => e.ackedAt! - e.sentAt),
      TARGET_MS,
    ),
  };
}

/** The servers' own event → tick histogram (`/metrics`, summed over `urls`): cumulative bucket counts by upper bound (s). */
async function serverHistogram(urls: string[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(/^livepanel_live_event_to_tick_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      out.set(le, (out.get(le) ?? 0) + Number(m[2]));
    }
  }
  return out;
}

/** Where a rate phase runs: the nodes SDK sockets and dashboards connect to (round robin), and the server processes measured. */
interface Target {
  shape: string;
  ingestUrls: string[];
  dashboardUrls: string[];
  processes: Record<string, number>;
}

/** Percentile upper bounds (ms) from the difference of two cumulative histograms. */
function histogramPercentiles(a: Map<number, number>, b: Map<number, number>) {
  const les = [...b.keys()].sort((x, y) => x - y);
  const total = (b.get(Infinity) ?? 0) - (a.get(Infinity) ?? 0);
  const at = (p: number) => {
    for (const le of les) if ((b.get(le) ?? 0) - (a.get(le) ?? 0) >= p * total) return le === Infinity ? 'over 5000' : `≤ ${Math.round(le * 1000)}`;
    return null;
  };
  return { batches: total, p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
}

async function ratePhases(target: Target, writer: Creds, reader: Creds) {
  const dashes: Dash[] = [];
  const urls = target.dashboardUrls;
  for (let i = 0; i < DASHBOARDS; i += 20)
    dashes.push(...(await Promise.all(Array.from({ length: Math.min(20, DASHBOARDS - i) }, (_, k) => dashboard(urls[(i + k) % urls.length]!, reader)))));
  await sleep(4000); // backfills answered, presence settled
  const out = [];
  try {
    for (const rate of RATES) {
      const prefix = `lv_${randomBytes(2).toString('hex')}_`;
      phasePrefix = prefix;
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
      const a = analyse(prefix, dashes, load.sent);
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
    phasePrefix = '\0';
    for (const d of dashes) d.socket.close();
  }
  return out;
}

// ---------------------------------------------------------------- idle sockets

async function idleSockets(url: string, writer: Creds, reader: Creds) {
  if (IDLE <= 0) return null;
  const watcher = await dashboard(url, reader);
  await until(() => watcher.online.at(-1) === 0, 15_000, 50);
  await sleep(5000); // the fresh process settles (JIT, first allocations)
  /** Median of 7 RSS samples over 3 s: a garbage collection in between moves a single sample by tens of MB. */
  const rss = async () => {
    const xs: number[] = [];
    for (let i = 0; i < 7; i++) {
      xs.push(procStats(node!.child.pid!).rssBytes);
      await sleep(500);
    }
    return xs.sort((a, b) => a - b)[3]!;
  };
  const before = await rss();
  const addresses = Array.from({ length: IDLE_ADDRESSES }, (_, i) => `127.0.0.${i + 2}`);
  const per = Math.ceil(IDLE / IDLE_PROCS);
  const opened0 = performance.now();
  const procs = Array.from({ length: IDLE_PROCS }, (_, k) => {
    const child = fork(path.join(HERE, 'live-idle-client.ts'), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    const ready = new Promise<{ opened: number; failed: number; errors: string[]; devices: number[] }>((resolve) =>
      child.once('message', (m) => resolve(m as never)),
    );
    const count = Math.max(0, Math.min(per, IDLE - k * per));
    child.send({ job: { url: url.replace(/^http/, 'ws'), clientId: writer.clientId, from: k * per, count, addresses, origin: ORIGIN, tabs: 2 } });
    return { child, ready };
  });
  const results = await Promise.all(procs.map((p) => p.ready));
  const opened = results.reduce((s, r) => s + r.opened, 0);
  const openSeconds = round((performance.now() - opened0) / 1000);
  // Devices with at least one socket open (when the descriptor limit refused some, not every pair is complete).
  const devices = new Set(results.flatMap((r) => r.devices)).size;
  const reached = await until(() => watcher.online.at(-1) === devices, 30_000, 50);
  await sleep(2000); // let allocation settle
  const after = await rss();
  const maxSeen = Math.max(...watcher.online);
  for (const p of procs) p.child.send({ close: true });
  await Promise.all(procs.map((p) => new Promise((r) => p.child.once('exit', r))));
  for (const p of procs) children.delete(p.child);
  const backToZero = await until(() => watcher.online.at(-1) === 0, 30_000, 50);
  watcher.socket.close();
  return {
    requested: IDLE,
    opened,
    failed: results.reduce((s, r) => s + r.failed, 0),
    errors: [...new Set(results.flatMap((r) => r.errors))],
    sourceAddresses: addresses,
    openSeconds,
    devices,
    onlineReachedDevices: reached,
    maxOnlineSeen: maxSeen,
    backToZero,
    serverRssMb: { before: Math.round(before / 2 ** 20), after: Math.round(after / 2 ** 20) },
    /** RSS growth per open socket; 0 or below: lost in the process's own noise (garbage collections). */
    rssPerSocketKb: opened ? round((after - before) / opened / 1024) : null,
  };
}

// ---------------------------------------------------------------- Redis memory per visitor

async function redisPerVisitor() {
  if (REDIS_VISITORS <= 0) return null;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const prefix = `lpbench:${randomBytes(4).toString('hex')}:`;
  try {
    const v = createRedisVisitors({ redis, prefix, ttlMs: 60_000 });
    const project = 'bench-project-0000000000000000';
    const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    for (let i = 0; i < REDIS_VISITORS; i += 5000) {
      await v.change(
        'bench-node-1',
        Array.from(
          { length: Math.min(5000, REDIS_VISITORS - i) },
          (_, k) => [project, `d-${(i + k).toString(36).padStart(8, '0')}-c0ffee-4a1b-9e2d`, 1] as [string, string, number],
        ),
      );
    }
    const online = await v.online(project);
    const keys = [`${prefix}vis:on:${project}`, `${prefix}vis:node:bench-node-1`];
    const usage = (await Promise.all(keys.map((k) => redis.memory('USAGE', k, 'SAMPLES', 0)))) as number[];
    const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    return {
      visitors: REDIS_VISITORS,
      online,
      deviceIdBytes: 36,
      keyBytes: Object.fromEntries(keys.map((k, i) => [k.slice(prefix.length), usage[i]])),
      bytesPerVisitor: Math.round(usage.reduce((s, u) => s + (u ?? 0), 0) / REDIS_VISITORS),
      usedMemoryGrowthPerVisitor: Math.round((after - before) / REDIS_VISITORS),
    };
  } finally {
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
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
    result.idle = await idleSockets(node.url, writer, reader);
    console.log(JSON.stringify(result.idle));
  } finally {
    await node?.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
  result.redisVisitors = await redisPerVisitor().catch((err) => ({ error: String(err) }));
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
