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
 *   --ceilings on|off     (default on) measure, in the same run, before and after the shapes,
 *                         what the machine allows right now: a bare uWS server doing the same
 *                         JSON parse (bench/bare-uws.ts, `/track` and `/ws` driven exactly as
 *                         Livepanel is) and chDB's insert rate through the writer
 *                         (bench/chdb-ceiling.ts); each shape's figures are printed as ratios
 *                         of them, which hold up on a noisy machine where absolutes do not
 *   --profile             run every Livepanel process with `--cpu-prof`; profiles are saved
 *                         under bench/results/profiles/ and the busiest process of each shape
 *                         is summarized (bench/profile-summary.ts)
 *   --phases track,ws     which phases to run (default both)
 *   --loadgen wrk|autocannon
 *                         the `/track` generator (default wrk when installed, else autocannon):
 *                         wrk (bench/track.lua) runs for --seconds and reports the requests it
 *                         left unanswered when it stopped, so stored is checked to lie between
 *                         acknowledged and acknowledged + unanswered; autocannon runs in this
 *                         process, probes the rate for 3 s, then sends rate × seconds requests
 *                         and waits for every answer, so stored == acknowledged exactly. Either
 *                         way the generator's own CPU per 1,000 requests is reported
 *   --visitors N          `/track` requests come from N visitors in turn, each returning every N
 *                         requests (their sessions and device ids cached, as a site's regulars
 *                         are); default 0, a new visitor per request (every request starts a
 *                         session: the costliest case)
 *   --baseline-events N   events of the one-job-per-event baseline (default 3000; 0 skips it)
 *   --root DIR            run the Livepanel processes from another checkout (e.g. main, for a
 *                         before/after in one run); the load, ceilings and report stay this one's
 *
 * Each shape runs `/track` (one event per request, keep-alive, --connections) and `/ws`
 * (batches of 50, --sockets each with --window batches in flight) for --seconds each, then
 * reports events/s acknowledged and stored, ack latency p50/p99, CPU and peak RSS per process,
 * the load generator's CPU, and stored against acknowledged. Distributed runs also sample
 * Redis memory and queue depth, and report Redis' CPU per 1,000 events apart (not in the
 * processes' figure; the server is shared, so its other users count too). Results are printed
 * and saved under bench/results/.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { type Ceilings, meanCeilings, measureCeilings, ratio } from './ceilings.ts';
import { type Creds, pickLoadgen, trackLoad, wsLoad } from './load.ts';
import { printProfile, summarizeProfile } from './profile-summary.ts';
import { countStored, createProject, profileArgs, ROOT, sampleProcesses, saveProfiles, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    shape: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '30' },
    connections: { type: 'string', default: '500' },
    sockets: { type: 'string', default: '8' },
    window: { type: 'string', default: '16' },
    'baseline-events': { type: 'string', default: '3000' },
    limits: { type: 'string', default: 'off' },
    ceilings: { type: 'string', default: 'on' },
    phases: { type: 'string', default: 'track,ws' },
    loadgen: { type: 'string' },
    visitors: { type: 'string', default: '0' },
    profile: { type: 'boolean', default: false },
    root: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  const doc = /\/\*\*([\s\S]*?)\*\//.exec(readFileSync(import.meta.filename, 'utf8'))?.[1] ?? '';
  console.log(doc.replace(/^ \* ?/gm, '').trim());
  process.exit(0);
}
const SERVER_ROOT = args.root ? path.resolve(args.root) : ROOT;
const PROFILE_STAMP = new Date().toISOString().replace(/[:.]/g, '-');
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
const LOADGEN = pickLoadgen(args.loadgen);
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
  sampleRedis?: () => { stop(): Promise<{ samples: Array<{ t: number; jobs: number; redisMb: number }>; cpuSeconds: number }> };
}

async function runPhases(t: Target) {
  const phases = [];
  for (const kind of (['track', 'ws'] as const).filter((k) => args.phases!.split(',').includes(k))) {
    const name = `bench_${kind}_${randomBytes(3).toString('hex')}`;
    const sampler = sampleProcesses(t.pids);
    const redis = t.sampleRedis?.();
    const t0 = performance.now();
    const load =
      kind === 'track'
        ? await trackLoad({
            urls: t.ingestUrls,
            creds: t.creds,
            seconds: SECONDS,
            connections: Number(args.connections),
            name,
            loadgen: LOADGEN,
            visitors: Number(args.visitors),
          })
        : await wsLoad({ urls: t.ingestUrls, creds: t.creds, seconds: SECONDS, sockets: Number(args.sockets), window: Number(args.window), name });
    const stored = await storedWhenDrained(t.readUrl, t.creds, name, load.acked + load.unanswered);
    const storedSeconds = (performance.now() - t0) / 1000;
    const processes = sampler.done();
    const redisSampled = await redis?.stop();
    // CPU the Livepanel processes spent per 1000 stored events (load generator excluded): on a
    // machine shared with other work, throughput follows the CPU share a run gets, this does not.
    const cpuSeconds = Object.values(processes).reduce((a, p) => a + p.cpuSeconds, 0);
    // The same without the processes' main threads: in the embedded shape, what storing costs
    // (the insert thread and chDB's threads) apart from the ingest event loop.
    const offMainCpuSeconds = Object.values(processes).reduce((a, p) => a + p.offMainCpuSeconds, 0);
    phases.push({
      transport: kind === 'track' ? `POST /track (${args.connections} connections)` : `WS /ws (${args.sockets} sockets x ${args.window} batches of 50)`,
      ...load,
      ackedPerSecond: Math.round(load.acked / load.seconds),
      stored,
      storedPerSecond: Math.round(stored / storedSeconds),
      storedEqualsAcked: stored === load.acked,
      storedCheck: storedCheck(stored, load.acked, load.unanswered),
      cpuMsPer1k: stored > 0 ? Math.round((cpuSeconds / stored) * 1e6) : 0,
      offMainCpuMsPer1k: stored > 0 ? Math.round((offMainCpuSeconds / stored) * 1e6) : 0,
      processes,
      // Redis is not one of the processes above, yet the distributed shape's scripts and jobs
      // cost it CPU per event; the server is shared, so other users' commands count here too.
      ...(redisSampled ? { redisCpuMsPer1k: stored > 0 ? Math.round((redisSampled.cpuSeconds / stored) * 1e6) : 0, redisAndQueue: redisSampled.samples } : {}),
    });
    console.log(phases.at(-1));
  }
  return phases;
}

async function embedded() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-'));
  const started = performance.now();
  const node = await startNode(
    'livepanel',
    { PORT: String(freePort()), DATA_DIR: dataDir, TRUST_PROXY: '1', LOG_LEVEL: 'warn', ...LIMITS_ENV },
    { root: SERVER_ROOT, nodeArgs: profileArgs(args.profile, 'embedded', PROFILE_STAMP) },
  );
  const startup = startupMs(started);
  const pids = { livepanel: node.child.pid! };
  try {
    const creds = await createProject(dataDir);
    console.log(`\n== embedded shape on ${node.url}, ${SECONDS}s per phase`);
    return await runPhases({ ingestUrls: [node.url], readUrl: node.url, creds, pids });
  } finally {
    await node.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (args.profile) profiles.embedded = { files: saveProfiles('embedded', PROFILE_STAMP, pids), startupMs: startup };
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
    const started = performance.now();
    const cluster = await startLocalCluster({
      redisUrl: REDIS_URL,
      redisPrefix: prefix,
      databaseUrl: db.url,
      dataDir,
      ingestPorts: [base, base + 1],
      workerPort: base + 2,
      env: { TRUST_PROXY: '1', LOG_LEVEL: 'warn', ...LIMITS_ENV },
      root: SERVER_ROOT,
      nodeArgs: profileArgs(args.profile, 'distributed', PROFILE_STAMP),
    });
    nodes = [...cluster.ingest, cluster.worker];
    const startup = startupMs(started);
    const meta = await openMetadataDb({ kind: 'postgres', url: db.url });
    const creds = await createMetadata(meta.db).createProject({ name: 'bench', domain: 'bench.example' });
    await meta.close();
    console.log(`\n== distributed shape: ingest ${cluster.ingest.map((n) => n.url).join(' ')}, worker+web ${cluster.worker.url}, ${SECONDS}s per phase`);
    const queue = new Queue(QUEUES.events, { connection: redis, prefix: bullmqPrefix(prefix) });
    /** Redis' own CPU seconds (user + system, all its threads), from INFO. */
    const redisCpu = async () => {
      const info = await redis.info('cpu');
      return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
    };
    const sampleRedis = () => {
      const samples: Array<{ t: number; jobs: number; redisMb: number }> = [];
      const t0 = Date.now();
      const cpu0 = redisCpu();
      const timer = setInterval(async () => {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
        const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
        samples.push({ t: Math.round((Date.now() - t0) / 1000), jobs: Object.values(counts).reduce((a, b) => a + b, 0), redisMb: Math.round(used / 2 ** 20) });
      }, 1000);
      return {
        async stop() {
          clearInterval(timer);
          return { samples, cpuSeconds: (await redisCpu()) - (await cpu0) };
        },
      };
    };
    const pids = Object.fromEntries(nodes.map((n) => [n.name, n.child.pid!]));
    const phases = await runPhases({ ingestUrls: cluster.ingest.map((n) => n.url), readUrl: cluster.worker.url, creds, pids, sampleRedis });
    await queue.close();
    await cluster.stop();
    nodes = [];
    if (args.profile) profiles.distributed = { files: saveProfiles('distributed', PROFILE_STAMP, pids), startupMs: startup };
    if (Number(args['baseline-events']) <= 0) return { phases };
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

/**
 * Stored against acknowledged: `equal`, or — when the generator stopped with requests in
 * flight (wrk) — `+k of ≤ n unanswered`, the events whose answers were never read; anything
 * else is an error: LOST (acknowledged, not stored) or EXTRA (more than were ever sent).
 */
function storedCheck(stored: number, acked: number, unanswered: number): string {
  if (stored === acked) return 'equal';
  if (stored < acked) return `LOST ${acked - stored}`;
  if (stored - acked > unanswered) return `EXTRA ${stored - acked - unanswered}`;
  return `+${stored - acked} of ≤ ${unanswered} unanswered`;
}

/** Per shape: its processes' profiles, and how long they took to start (left out of the summaries). */
const profiles: Record<string, { files: Record<string, string>; startupMs: number }> = {};
const startupMs = (since: number) => Math.round(performance.now() - since);

/**
 * Each phase's figures, with its ratios to the ceilings: `/track` acked/s over the bare uWS
 * server's `/track` rate; `/ws` stored/s over chDB's insert rate.
 */
function summary(shape: string, phases: Awaited<ReturnType<typeof runPhases>>, c?: Ceilings) {
  return phases.map((r) => ({
    shape,
    transport: r.transport.split(' (')[0],
    'acked/s': r.ackedPerSecond,
    // /ws against the bare server is kept in the JSON only: parsing a frame and acking it is
    // nearly free, so that ratio says little; /ws is held against chDB's insert rate instead.
    'acked / bare uWS': c && r.transport.startsWith('POST') ? ratio(r.ackedPerSecond, c.bareTrack) : '',
    'stored/s': r.storedPerSecond,
    'stored / chDB': c && !r.transport.startsWith('POST') ? ratio(r.storedPerSecond, c.chdbRowsPerSecond) : '',
    'p50 ms': r.latencyMs.p50,
    'p99 ms': r.latencyMs.p99,
    'CPU cores': Object.values(r.processes)
      .reduce((a, p) => a + p.cpuCores, 0)
      .toFixed(2),
    'peak RSS MB': Object.values(r.processes).reduce((a, p) => a + p.peakRssMb, 0),
    'CPU ms / 1k events': r.cpuMsPer1k,
    'off main thread': r.offMainCpuMsPer1k,
    // Not in the figure before it: the shared Redis server's CPU over the phase, per 1k events.
    'Redis CPU ms / 1k': 'redisCpuMsPer1k' in r ? r.redisCpuMsPer1k : '',
    // The load generator's own CPU, beside the server's: the share of the machine it took.
    loadgen: r.loadgen,
    'loadgen CPU ms / 1k': r.loadgenCpu.msPer1k,
    'loadgen cores': r.loadgenCpu.cores,
    'stored vs acked': r.storedCheck,
  }));
}

async function main() {
  const shape = args.shape!;
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    seconds: SECONDS,
    rateLimits: args.limits,
    loadgen: LOADGEN,
    visitors: Number(args.visitors),
  };
  if (args.root) result.serverRoot = SERVER_ROOT;
  console.log(
    `/track load from ${LOADGEN}${LOADGEN === 'autocannon' && args.loadgen === undefined ? ' (no wrk on the PATH)' : ''}, ${Number(args.visitors) > 0 ? `${args.visitors} visitors in turn` : 'a new visitor per request'}`,
  );
  const ceilingOpts = {
    seconds: Math.min(SECONDS, 10),
    connections: Number(args.connections),
    sockets: Number(args.sockets),
    window: Number(args.window),
    loadgen: LOADGEN,
  };
  const before = args.ceilings === 'on' ? await measureCeilings(ceilingOpts) : undefined;
  const shapes: Array<[string, Awaited<ReturnType<typeof runPhases>>]> = [];
  if (shape === 'embedded' || shape === 'both') {
    const phases = await embedded();
    result.embedded = phases;
    shapes.push(['embedded', phases]);
  }
  if (shape === 'distributed' || shape === 'both') {
    const d = await distributed();
    result.distributed = d;
    shapes.push(['distributed', d.phases]);
  }
  const after = args.ceilings === 'on' ? await measureCeilings(ceilingOpts) : undefined;
  const ceilings = before && after ? meanCeilings(before, after) : undefined;
  if (ceilings) result.ceilings = { before, after, mean: ceilings };
  const rows = shapes.flatMap(([name, phases]) => summary(name, phases, ceilings));
  result.summary = rows;
  result.loadAverage = os.loadavg();
  if (args.profile) {
    const summaries: Record<string, unknown> = {};
    for (const [name, { files, startupMs: skip }] of Object.entries(profiles)) {
      // The busiest process of the shape: the one that used the most CPU over its phases.
      const cpu = (proc: string) =>
        (shapes.find(([n]) => n === name)?.[1] ?? []).reduce(
          (a, ph) => a + ((ph.processes as Record<string, { cpuSeconds: number }>)[proc]?.cpuSeconds ?? 0),
          0,
        );
      const all = Object.entries(files).map(([proc, f]) => ({ proc, cpuSeconds: cpu(proc), s: summarizeProfile(f, 15, skip) }));
      all.sort((a, b) => b.cpuSeconds - a.cpuSeconds);
      for (const { proc, s } of all.slice(0, 1)) {
        console.log(`\n${name}: busiest process ${proc} (${all[0]!.cpuSeconds.toFixed(1)} CPU s in the phases)`);
        printProfile(s);
      }
      summaries[name] = all.map(({ proc, s }) => ({ proc, ...s }));
    }
    result.profiles = summaries;
  }
  const file = saveResults(`ingest-${shape}${args.limits === 'on' ? '-limits-on' : ''}`, result);
  console.log('');
  if (ceilings) {
    console.log(
      `ceilings (mean of before/after): bare uWS /track ${ceilings.bareTrack} req/s (${LOADGEN}: ${ceilings.bareTrackLoadgenCpuMsPer1k} CPU ms per 1k requests, ${ceilings.bareTrackLoadgenCores} cores), bare uWS /ws ${ceilings.bareWs} events/s, chDB insert ${ceilings.chdbRowsPerSecond} rows/s`,
    );
  }
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
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
