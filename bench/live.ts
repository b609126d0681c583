/**
 * `npm run bench:live` — how long until what a visitor does shows on every watching dashboard
 * (target: under 200 ms), end to end on real processes, load generator and dashboards on the
 * same machine (loopback only).
 *
 *   --shape embedded      one `server/main.ts` process (PGlite + chDB + WAL, temp DATA_DIR)
 *   --shape distributed   two `ingest` processes + one `worker,web` process on the local Redis
 *                         (own key prefix) and PostgreSQL (fresh database)
 *   --shape both          (default) both, in one run
 *
 * Per shape: --dashboards socket.io dashboards (a `read` client) spread over every node that
 * serves the live channel, then two phases of --seconds each at a steady --rate events/s:
 *   track  browser-like `POST /track`, one event per request, visitors spread over the ingest nodes
 *   ws     SDK-like `/ws` sockets (--sockets, spread over the ingest nodes); each sends the events
 *          generated for it as one batch every --ws-flush-ms (the SDK's own batching delay is
 *          not counted: an event's clock starts when its frame is sent)
 *
 * Timing scheme: an event is named `lv_<phase>_n<ingest node>_<slot>`, the slot being the
 * --slot-ms window (default 10 ms) of the moment it was sent. A tick counts events by name,
 * so each dashboard's ticks say how many events of each slot and node it has been shown; the
 * k events of a slot are matched, oldest first, with the first k such counts. Latency = tick
 * received by the dashboard − event sent by the client (both on this process's monotonic
 * clock), so the matching error is below one slot. Every dashboard must be shown every
 * acknowledged event exactly once (`missing` / `extra` say otherwise). In the distributed shape
 * `cross-node` pairs (dashboard on a different node from the one that received the event — the
 * web node's dashboards always are) are reported apart from `same-node` ones.
 *
 * Presence: --presence SDK sockets opened across the ingest nodes; every dashboard's
 * `presence.online` must reach that number (never more) and return to 0 once they close.
 *
 * Prints a table and saves JSON under bench/results/. Bounded: a watchdog kills the processes
 * it started and exits 1 if a run overstays its budget.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { type NodeProcess, startLocalCluster, startNode } from '../server/cluster/local-cluster.ts';
import { createMetadata } from '../server/store/metadata.ts';
import { openMetadataDb } from '../server/store/postgres.ts';
import { freePorts } from '../tests/cluster/harness.ts';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { deleteKeys } from '../tests/support/redis.ts';
import { type Creds, connectDashboard, type Dash, stats, until } from './live-dashboards.ts';
import { type LiveLoadOptions, ORIGIN, type SentEvent, trackLoad, visitorHeaders, wsLoad } from './live-load.ts';
import { adminCommand, createProject, sampleProcesses, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    shape: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '200' },
    dashboards: { type: 'string', default: '20' },
    sockets: { type: 'string', default: '4' },
    'ws-flush-ms': { type: 'string', default: '50' },
    'slot-ms': { type: 'string', default: '10' },
    presence: { type: 'string', default: '20' },
    'drain-ms': { type: 'string', default: '5000' },
  },
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const DASHBOARDS = Number(args.dashboards);
const SOCKETS = Number(args.sockets);
const WS_FLUSH_MS = Number(args['ws-flush-ms']);
const SLOT_MS = Number(args['slot-ms']);
const PRESENCE = Number(args.presence);
const DRAIN_MS = Number(args['drain-ms']);
const TARGET_MS = 200;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

for (const [k, v] of Object.entries({ SECONDS, RATE, DASHBOARDS, SOCKETS, WS_FLUSH_MS, SLOT_MS, PRESENCE, DRAIN_MS })) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bad --${k.toLowerCase()}: ${v}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------- watchdog: stops by itself

const started = new Set<NodeProcess>();
const finalizers = new Set<() => Promise<unknown>>();
const shapes = args.shape === 'both' ? 2 : 1;
const budgetMs = shapes * (120_000 + 2 * (SECONDS * 1000 + DRAIN_MS + 15_000) + 60_000);
const watchdog = setTimeout(() => {
  console.error(`bench:live exceeded its ${Math.round(budgetMs / 1000)} s budget; killing its processes`);
  abort(1);
}, budgetMs);
watchdog.unref();
process.once('SIGINT', () => abort(130));

function abort(code: number) {
  for (const n of started) n.child.kill('SIGKILL');
  const cleanups = Promise.allSettled([...finalizers].map((f) => f()));
  void Promise.race([cleanups, sleep(5000)]).then(() => process.exit(code));
}

const loadOptions: LiveLoadOptions = { rate: RATE, seconds: SECONDS, slotMs: SLOT_MS, wsFlushMs: WS_FLUSH_MS, sockets: SOCKETS };
let phasePrefix = '\0';
const inPhase = (name: string) => name.startsWith(phasePrefix);

// ---------------------------------------------------------------- analysis

/** Matches every dashboard's ticks with the acknowledged events of the phase (see the header). */
function analyse(prefix: string, dashes: Dash[], sent: SentEvent[]) {
  const acked = sent.filter((e) => e.ackedAt !== undefined);
  const bySlot = new Map<string, number[]>();
  for (const e of acked) {
    const q = bySlot.get(e.name);
    if (q) q.push(e.sentAt);
    else bySlot.set(e.name, [e.sentAt]);
  }
  for (const q of bySlot.values()) q.sort((a, b) => a - b);
  const nodeOf = (name: string) => Number(/_n(\d+)_\d+$/.exec(name)![1]);
  const latency = { same: [] as number[], cross: [] as number[] };
  const transit: number[] = [];
  let missing = 0;
  let extra = 0;
  for (const d of dashes) {
    const taken = new Map<string, number>();
    for (const { receivedAt, wall, tick } of d.ticks) {
      let mine = false;
      for (const [name, count] of Object.entries(tick.events)) {
        if (!name.startsWith(prefix)) continue;
        mine = true;
        const q = bySlot.get(name) ?? [];
        const from = taken.get(name) ?? 0;
        const upto = Math.min(q.length, from + count);
        extra += from + count - upto;
        taken.set(name, upto);
        const bucket = nodeOf(name) === d.node ? latency.same : latency.cross;
        for (let i = from; i < upto; i++) bucket.push(receivedAt - q[i]!);
      }
      if (mine) transit.push(wall - tick.at);
    }
    for (const [name, q] of bySlot) missing += q.length - (taken.get(name) ?? 0);
  }
  const ack = acked.map((e) => e.ackedAt! - e.sentAt);
  return {
    events: { sent: sent.length, acked: acked.length },
    deliveries: { expected: acked.length * dashes.length, missing, extra },
    latencyMs: {
      sameNode: latency.same.length ? stats(latency.same, TARGET_MS) : null,
      crossNode: latency.cross.length ? stats(latency.cross, TARGET_MS) : null,
    },
    ackMs: stats(ack, TARGET_MS),
    tickTransitMs: stats(transit, TARGET_MS),
  };
}

// ---------------------------------------------------------------- phases

interface Target {
  shape: 'embedded' | 'distributed';
  /** Ingest node URLs (events go here). */
  ingest: string[];
  /** Every node serving the live channel, ingest nodes first (indexes match `ingest`). */
  live: Array<{ name: string; url: string }>;
  writer: Creds;
  reader: Creds;
  pids: Record<string, number>;
}

async function runShape(t: Target) {
  const dashes = await Promise.all(
    Array.from({ length: DASHBOARDS }, (_, i) => connectDashboard(t.live[i % t.live.length]!.url, i % t.live.length, t.reader, inPhase)),
  );
  try {
    const phases = [];
    for (const transport of ['track', 'ws'] as const) {
      const prefix = `lv_${randomBytes(2).toString('hex')}${transport[0]}_`;
      phasePrefix = prefix;
      for (const d of dashes) {
        d.ticks.length = 0;
        d.shown = 0;
      }
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      const sampler = sampleProcesses(t.pids);
      const t0 = performance.now();
      const load = transport === 'track' ? await trackLoad(t.ingest, t.writer, prefix, loadOptions) : await wsLoad(t.ingest, t.writer, prefix, loadOptions);
      const sendSeconds = (performance.now() - t0) / 1000;
      const acked = load.sent.filter((e) => e.ackedAt !== undefined).length;
      // Wait for the last ticks (every dashboard shown every acknowledged event), at most DRAIN_MS.
      await until(() => dashes.every((d) => d.shown >= acked), DRAIN_MS, 20);
      await sleep(300); // late duplicates would show here
      const processes = sampler.done();
      lag.disable();
      const a = analyse(prefix, dashes, load.sent);
      const phase = {
        transport: transport === 'track' ? 'POST /track' : `WS /ws (${SOCKETS} sockets, a batch every ${WS_FLUSH_MS} ms)`,
        rate: RATE,
        seconds: round(sendSeconds),
        ...a,
        loadFailures: load.failures,
        benchEventLoopLagMs: { p99: round(lag.percentile(99) / 1e6), max: round(lag.max / 1e6) },
        processes,
      };
      console.log(JSON.stringify({ shape: t.shape, ...phase }));
      phases.push(phase);
    }
    phasePrefix = '\0';
    const presence = await presenceCheck(t, dashes);
    console.log(JSON.stringify({ shape: t.shape, presence }));
    return {
      dashboards: DASHBOARDS,
      dashboardsPerNode: Object.fromEntries(t.live.map((n, i) => [n.name, dashes.filter((d) => d.node === i).length])),
      phases,
      presence,
    };
  } finally {
    for (const d of dashes) d.socket.close();
  }
}

/** Opens PRESENCE SDK sockets across the ingest nodes, then closes them; checks every dashboard follows. */
async function presenceCheck(t: Target, dashes: Dash[]) {
  const latest = (d: Dash) => d.presence.at(-1)?.online;
  const settledAtZero = await until(() => dashes.every((d) => latest(d) === 0), 15_000, 20);
  const mark = dashes.map((d) => d.presence.length);
  const opened = performance.now();
  const sockets = await Promise.all(
    Array.from({ length: PRESENCE }, async (_, i) => {
      const url = t.ingest[i % t.ingest.length]!.replace(/^http/, 'ws');
      const ws = new WebSocket(`${url}/ws?clientId=${t.writer.clientId}&deviceId=presence-${randomUUID().slice(0, 8)}`, {
        headers: { origin: ORIGIN, ...visitorHeaders(300 + i) },
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return ws;
    }),
  );
  const allOpen = performance.now();
  const reached = await until(() => dashes.every((d) => latest(d) === PRESENCE), 15_000);
  const reachedAt = dashes.map((d, i) => d.presence.slice(mark[i]).find((p) => p.online === PRESENCE)?.receivedAt);
  const closing = performance.now();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1000);
        }),
    ),
  );
  const back = await until(() => dashes.every((d) => latest(d) === 0), 15_000);
  const backAt = dashes.map((d) => d.presence.at(-1)?.receivedAt);
  const seen = dashes.flatMap((d, i) => d.presence.slice(mark[i]).map((p) => p.online));
  const ms = (xs: Array<number | undefined>, from: number) => {
    const v = xs.filter((x): x is number => x !== undefined).map((x) => x - from);
    return v.length ? stats(v, TARGET_MS) : null;
  };
  return {
    sdkSockets: PRESENCE,
    ingestNodes: t.ingest.length,
    startedAtZero: settledAtZero,
    reachedOnEveryDashboard: reached,
    backToZeroOnEveryDashboard: back,
    maxSeen: Math.max(0, ...seen),
    neverOverCounted: seen.every((n) => n <= PRESENCE),
    /** From the last SDK socket open to each dashboard's push of the full count. */
    reachMs: ms(reachedAt, allOpen),
    /** From asking the sockets to close to each dashboard's push of 0. */
    backToZeroMs: back ? ms(backAt, closing) : null,
    openSocketsMs: round(allOpen - opened),
  };
}

// ---------------------------------------------------------------- shapes

async function embedded() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-live-'));
  const [port] = await freePorts(1);
  const node = await startNode('livepanel', { PORT: String(port), DATA_DIR: dataDir, TRUST_PROXY: '1', LOG_LEVEL: 'warn', RATE_LIMITS: 'off' });
  started.add(node);
  const fin = async () => rmSync(dataDir, { recursive: true, force: true });
  finalizers.add(fin);
  try {
    const writer = await createProject(dataDir);
    const reader = {
      projectId: writer.projectId,
      ...(await adminCommand<{ clientId: string; clientSecret: string }>(dataDir, 'create-client', { project: writer.projectId, type: 'read' })),
    };
    console.log(`\n== embedded shape on ${node.url}: ${DASHBOARDS} dashboards, ${RATE} events/s for ${SECONDS} s per transport`);
    return await runShape({
      shape: 'embedded',
      ingest: [node.url],
      live: [{ name: 'livepanel', url: node.url }],
      writer,
      reader,
      pids: { livepanel: node.child.pid! },
    });
  } finally {
    await node.stop();
    started.delete(node);
    await fin();
    finalizers.delete(fin);
  }
}

async function distributed() {
  const db = await createTestDatabase();
  const prefix = `lpbench:${randomBytes(4).toString('hex')}:`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-live-cluster-'));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const fin = async () => {
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  finalizers.add(fin);
  let nodes: NodeProcess[] = [];
  try {
    const [p1, p2, pw] = await freePorts(3);
    const cluster = await startLocalCluster({
      redisUrl: REDIS_URL,
      redisPrefix: prefix,
      databaseUrl: db.url,
      dataDir,
      ingestPorts: [p1!, p2!],
      workerPort: pw!,
      env: { TRUST_PROXY: '1', LOG_LEVEL: 'warn', RATE_LIMITS: 'off' },
    });
    nodes = [...cluster.ingest, cluster.worker];
    for (const n of nodes) started.add(n);
    const meta = await openMetadataDb({ kind: 'postgres', url: db.url });
    const md = createMetadata(meta.db);
    const writer = await md.createProject({ name: 'bench', domain: 'bench.example' });
    const reader = { projectId: writer.projectId, ...(await md.createClient({ projectId: writer.projectId, type: 'read', origins: [] })) };
    await meta.close();
    console.log(
      `\n== distributed shape: ingest ${cluster.ingest.map((n) => n.url).join(' ')}, worker+web ${cluster.worker.url}: ${DASHBOARDS} dashboards, ${RATE} events/s for ${SECONDS} s per transport`,
    );
    const result = await runShape({
      shape: 'distributed',
      ingest: cluster.ingest.map((n) => n.url),
      live: nodes.map((n) => ({ name: n.name, url: n.url })),
      writer,
      reader,
      pids: Object.fromEntries(nodes.map((n) => [n.name, n.child.pid!])),
    });
    await cluster.stop();
    return result;
  } finally {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    for (const n of nodes) started.delete(n);
    await fin();
    finalizers.delete(fin);
  }
}

// ---------------------------------------------------------------- report

type ShapeResult = Awaited<ReturnType<typeof runShape>>;

function rows(shape: string, r: ShapeResult) {
  return r.phases.flatMap((p) =>
    (
      [
        ['same-node', p.latencyMs.sameNode],
        ['cross-node', p.latencyMs.crossNode],
      ] as const
    )
      .filter(([, s]) => s)
      .map(([where, s]) => ({
        shape,
        transport: p.transport.split(' (')[0],
        dashboard: shape === 'embedded' ? 'one process' : where,
        'events acked': p.events.acked,
        deliveries: s!.samples,
        'missing/extra': `${p.deliveries.missing}/${p.deliveries.extra}`,
        'p50 ms': s!.p50,
        'p95 ms': s!.p95,
        'p99 ms': s!.p99,
        'max ms': s!.max,
        [`< ${TARGET_MS} ms %`]: s!.underTargetPct,
        'ack p50 ms': p.ackMs.p50,
      })),
  );
}

async function main() {
  const shape = args.shape!;
  if (!['embedded', 'distributed', 'both'].includes(shape)) throw new Error(`--shape must be embedded, distributed or both (got ${shape})`);
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    settings: {
      seconds: SECONDS,
      rate: RATE,
      dashboards: DASHBOARDS,
      wsSockets: SOCKETS,
      wsFlushMs: WS_FLUSH_MS,
      slotMs: SLOT_MS,
      presenceSockets: PRESENCE,
      targetMs: TARGET_MS,
    },
  };
  const table = [];
  const presence = [];
  for (const s of ['embedded', 'distributed'] as const) {
    if (shape !== s && shape !== 'both') continue;
    const r = s === 'embedded' ? await embedded() : await distributed();
    result[s] = r;
    table.push(...rows(s, r));
    const p = r.presence;
    presence.push({
      shape: s,
      'SDK sockets': `${p.sdkSockets} over ${p.ingestNodes} node(s)`,
      'reached on all': p.reachedOnEveryDashboard,
      'reach p50/max ms': p.reachMs ? `${p.reachMs.p50}/${p.reachMs.max}` : '-',
      'back to 0 on all': p.backToZeroOnEveryDashboard,
      'to 0 p50/max ms': p.backToZeroMs ? `${p.backToZeroMs.p50}/${p.backToZeroMs.max}` : '-',
      'max seen': p.maxSeen,
    });
  }
  const file = saveResults(`live-${shape}`, result);
  console.log(`\nevent sent by the client → tick containing it received by each dashboard (target < ${TARGET_MS} ms)`);
  console.table(table);
  console.log('presence: SDK sockets open → every dashboard shows them; closed → every dashboard shows 0');
  console.table(presence);
  console.log(`saved ${file}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    abort(1);
  },
);
