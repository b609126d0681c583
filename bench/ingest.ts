/**
 * `npm run bench:ingest` — ingest throughput and latency, load generator on the same machine.
 *
 *   --shape embedded      one process, PGlite + chDB, in-process queue (issue #2's target)
 *   --shape distributed   two `ingest` processes + one `worker,web` process on the local Redis
 *                         and PostgreSQL, events in chDB; plus the one-job-per-event baseline
 *   --shape both          (default) both, in one run
 *
 *   --limits off          (default) RATE_LIMITS=off, as every benchmark runs
 *   --limits on           rate limits checked on every request, with budgets too large to
 *                         refuse anything: compare with `off` for what the checks cost
 *
 * Each shape runs `/track` (one event per request, keep-alive, --connections) and `/ws`
 * (batches of 50, --sockets each with --window batches in flight) for --seconds each, then
 * reports events/s acknowledged and stored, ack latency p50/p99, CPU and peak RSS per process,
 * and stored == acknowledged. Distributed runs also sample Redis memory and queue depth.
 * Results are printed and saved under bench/results/.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type NodeProcess, startLocalCluster, startNode } from '../server/cluster/local-cluster.ts';
import { bullmqPrefix } from '../server/engines/queue.bullmq.ts';
import { createMetadata } from '../server/store/metadata.ts';
import { openMetadataDb } from '../server/store/postgres.ts';
import { QUEUES } from '../shared/jobs.ts';
import { createTestDatabase } from '../tests/support/postgres.ts';
import { deletePrefix, runBaseline } from './baseline.ts';
import { type Creds, trackLoad, wsLoad } from './load.ts';
import { countStored, createProject, sampleProcesses, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    shape: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '30' },
    connections: { type: 'string', default: '500' },
    sockets: { type: 'string', default: '8' },
    window: { type: 'string', default: '16' },
    'baseline-events': { type: 'string', default: '3000' },
    limits: { type: 'string', default: 'off' },
  },
});
/** Rate limits: off, or on with budgets no benchmark reaches (the checks run, nothing is refused). */
const LIMITS_ENV: Record<string, string> =
  args.limits === 'on'
    ? Object.fromEntries(
        ['BROWSER_EVENTS', 'SERVER_EVENTS', 'SOCKET_FRAMES', 'SERVER_SOCKET_FRAMES', 'READ', 'WS_CONNECTS', 'LIVE_CONNECTS', 'AUTH_FAILURES'].map((n) => [
          `RATE_LIMIT_${n}`,
          '1000000000/1s',
        ]),
      )
    : { RATE_LIMITS: 'off' };
const SECONDS = Number(args.seconds);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const freePort = () => 20000 + Math.floor(Math.random() * 20000);

/** Waits until `name` stops growing (the queue drained) and returns the stored count. */
async function storedWhenDrained(url: string, creds: Creds, name: string, expected: number) {
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + 180_000;
  for (;;) {
    const n = await countStored(url, creds, name);
    if (n >= expected) return n;
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 5000 || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Target {
  ingestUrls: string[];
  readUrl: string;
  creds: Creds;
  pids: Record<string, number>;
  sampleRedis?: () => { stop(): Promise<Array<{ t: number; jobs: number; redisMb: number }>> };
}

async function runPhases(t: Target) {
  const phases = [];
  for (const kind of ['track', 'ws'] as const) {
    const name = `bench_${kind}_${randomBytes(3).toString('hex')}`;
    const sampler = sampleProcesses(t.pids);
    const redis = t.sampleRedis?.();
    const t0 = performance.now();
    const load =
      kind === 'track'
        ? await trackLoad({ urls: t.ingestUrls, creds: t.creds, seconds: SECONDS, connections: Number(args.connections), name })
        : await wsLoad({ urls: t.ingestUrls, creds: t.creds, seconds: SECONDS, sockets: Number(args.sockets), window: Number(args.window), name });
    const stored = await storedWhenDrained(t.readUrl, t.creds, name, load.acked);
    const storedSeconds = (performance.now() - t0) / 1000;
    const processes = sampler.done();
    phases.push({
      transport: kind === 'track' ? `POST /track (${args.connections} connections)` : `WS /ws (${args.sockets} sockets x ${args.window} batches of 50)`,
      ...load,
      ackedPerSecond: Math.round(load.acked / load.seconds),
      stored,
      storedPerSecond: Math.round(stored / storedSeconds),
      storedEqualsAcked: stored === load.acked,
      processes,
      ...(redis ? { redisAndQueue: await redis.stop() } : {}),
    });
    console.log(phases.at(-1));
  }
  return phases;
}

async function embedded() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-'));
  const node = await startNode('livepanel', { PORT: String(freePort()), DATA_DIR: dataDir, TRUST_PROXY: '1', LOG_LEVEL: 'warn', ...LIMITS_ENV });
  try {
    const creds = await createProject(dataDir);
    console.log(`\n== embedded shape on ${node.url}, ${SECONDS}s per phase`);
    return await runPhases({ ingestUrls: [node.url], readUrl: node.url, creds, pids: { livepanel: node.child.pid! } });
  } finally {
    await node.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function distributed() {
  const db = await createTestDatabase();
  const prefix = `lpbench:${randomBytes(4).toString('hex')}:`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-cluster-'));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let nodes: NodeProcess[] = [];
  try {
    const base = freePort();
    const cluster = await startLocalCluster({
      redisUrl: REDIS_URL,
      redisPrefix: prefix,
      databaseUrl: db.url,
      dataDir,
      ingestPorts: [base, base + 1],
      workerPort: base + 2,
      env: { TRUST_PROXY: '1', LOG_LEVEL: 'warn', ...LIMITS_ENV },
    });
    nodes = [...cluster.ingest, cluster.worker];
    const meta = await openMetadataDb({ kind: 'postgres', url: db.url });
    const creds = await createMetadata(meta.db).createProject({ name: 'bench', domain: 'bench.example' });
    await meta.close();
    console.log(`\n== distributed shape: ingest ${cluster.ingest.map((n) => n.url).join(' ')}, worker+web ${cluster.worker.url}, ${SECONDS}s per phase`);
    const queue = new Queue(QUEUES.events, { connection: redis, prefix: bullmqPrefix(prefix) });
    const sampleRedis = () => {
      const samples: Array<{ t: number; jobs: number; redisMb: number }> = [];
      const t0 = Date.now();
      const timer = setInterval(async () => {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
        const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
        samples.push({ t: Math.round((Date.now() - t0) / 1000), jobs: Object.values(counts).reduce((a, b) => a + b, 0), redisMb: Math.round(used / 2 ** 20) });
      }, 1000);
      return {
        async stop() {
          clearInterval(timer);
          return samples;
        },
      };
    };
    const pids = Object.fromEntries(nodes.map((n) => [n.name, n.child.pid!]));
    const phases = await runPhases({ ingestUrls: cluster.ingest.map((n) => n.url), readUrl: cluster.worker.url, creds, pids, sampleRedis });
    await queue.close();
    await cluster.stop();
    nodes = [];
    console.log('\n== baseline: one BullMQ job per event vs batched jobs, same rows, chDB');
    const baseline = await runBaseline({ redisUrl: REDIS_URL, prefix: `${prefix}baseline:`, events: Number(args['baseline-events']) });
    console.log(baseline);
    return { phases, baseline };
  } finally {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    await deletePrefix(redis, prefix);
    redis.disconnect();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function summary(shape: string, phases: Awaited<ReturnType<typeof runPhases>>) {
  return phases.map((r) => ({
    shape,
    transport: r.transport.split(' (')[0],
    'acked/s': r.ackedPerSecond,
    'stored/s': r.storedPerSecond,
    'p50 ms': r.latencyMs.p50,
    'p99 ms': r.latencyMs.p99,
    'CPU cores': Object.values(r.processes)
      .reduce((a, p) => a + p.cpuCores, 0)
      .toFixed(2),
    'peak RSS MB': Object.values(r.processes).reduce((a, p) => a + p.peakRssMb, 0),
    'stored == acked': r.storedEqualsAcked,
  }));
}

async function main() {
  const shape = args.shape!;
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    seconds: SECONDS,
    rateLimits: args.limits,
  };
  const rows = [];
  if (shape === 'embedded' || shape === 'both') {
    const phases = await embedded();
    result.embedded = phases;
    rows.push(...summary('embedded', phases));
  }
  if (shape === 'distributed' || shape === 'both') {
    const d = await distributed();
    result.distributed = d;
    rows.push(...summary('distributed', d.phases));
  }
  const file = saveResults(`ingest-${shape}${args.limits === 'on' ? '-limits-on' : ''}`, result);
  console.log('');
  console.table(rows);
  const b = (result.distributed as { baseline?: { ratio: number; perEvent: { storedPerSecond: number }; batched: { storedPerSecond: number } } } | undefined)
    ?.baseline;
  if (b) console.log(`batching gain: ${b.batched.storedPerSecond} vs ${b.perEvent.storedPerSecond} events/s stored = ${b.ratio}x`);
  console.log(`saved ${file}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
