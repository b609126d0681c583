/**
 * `npx tsx bench/memory-phases.ts` — where the embedded server's memory goes, phase by phase:
 * one process serves `/track` (a new visitor per request) and then `/ws` (batches of 50), as
 * `bench:ingest` runs them, and at each phase's end and at each phase's peak RSS this prints
 * what /metrics says (V8 heap used and total, external memory, open sessions, queue depth) and
 * what /proc/<pid>/smaps says (glibc's main heap, other anonymous memory, libchdb, other files).
 *
 *   --seconds 30        per phase
 *   --track-requests N  instead of --seconds, `/track` sends exactly N requests (N new visitors,
 *                       from autocannon), so runs of different code hold the same state
 *   --connections 50    `/track` connections
 *   --phases track,ws   which phases, in order (one process for all)
 *   --idle 5            seconds to wait after each phase (load off) before sampling again
 *   --snapshot          write a V8 heap snapshot at the end of each phase (SIGUSR2; slow, and
 *                       it disturbs what follows: for finding what is held, not for figures)
 *   --root DIR          run the server from another checkout (before/after)
 *   --env K=V,K=V       extra environment for the server
 *
 * Also prints the server's CPU per 1,000 acknowledged events of each phase (the load, then
 * --idle seconds in which the queue drains).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startNode } from '../server/cluster/local-cluster.ts';
import { pickLoadgen, trackLoad, trackRun, wsLoad } from './load.ts';
import { createProject, procStats, ROOT, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    'track-requests': { type: 'string' },
    connections: { type: 'string', default: '50' },
    phases: { type: 'string', default: 'track,ws' },
    idle: { type: 'string', default: '5' },
    snapshot: { type: 'boolean', default: false },
    root: { type: 'string' },
    env: { type: 'string', default: '' },
  },
});
const MB = 2 ** 20;
const mb = (x: number) => Math.round(x / MB);

/** Resident memory of `pid` by kind of mapping, from /proc/<pid>/smaps (MB). */
function smapsBreakdown(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const file = head[1]!;
      name =
        file === '' ? 'anonymous' : file.startsWith('[') ? file : file.includes('libchdb') ? 'libchdb' : file.includes('/node') ? 'node binary' : 'other files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[name] = (out[name] ?? 0) + Number(rss[1]) * 1024;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, mb(v)]));
}

/** The memory figures of /metrics (MB), and the open sessions and queue depth. */
async function metricsSample(url: string): Promise<Record<string, number>> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const get = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    heapUsedMb: mb(get('nodejs_heap_size_used_bytes')),
    heapTotalMb: mb(get('nodejs_heap_size_total_bytes')),
    externalMb: mb(get('nodejs_external_memory_bytes')),
    sessionsOpen: get('livepanel_sessions_open'),
    queueDepth: get('livepanel_queue_depth'),
  };
}

async function sample(url: string, pid: number) {
  return { rssMb: mb(procStats(pid).rssBytes), ...(await metricsSample(url)), smaps: smapsBreakdown(pid) };
}

const extraEnv = Object.fromEntries(
  args.env
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-mem-'));
const snapDir = path.join(ROOT, 'bench', 'results', 'heap');
if (args.snapshot) mkdirSync(snapDir, { recursive: true });
const node = await startNode(
  'livepanel',
  { PORT: String(20000 + Math.floor(Math.random() * 20000)), DATA_DIR: dataDir, TRUST_PROXY: '1', LOG_LEVEL: 'warn', RATE_LIMITS: 'off', ...extraEnv },
  {
    root: args.root ? path.resolve(args.root) : ROOT,
    nodeArgs: args.snapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`] : [],
  },
);
const pid = node.child.pid!;

/** Has the server write a heap snapshot and waits until the file stops growing. */
async function heapSnapshot(label: string) {
  const before = new Set(readdirSync(snapDir));
  process.kill(pid, 'SIGUSR2');
  let size = -1;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    const fresh = readdirSync(snapDir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (!fresh) continue;
    const now = statSync(path.join(snapDir, fresh)).size;
    if (now === size) return console.log(`heap snapshot after ${label}: ${path.join(snapDir, fresh)}`);
    size = now;
  }
}
const phases: Record<string, unknown> = {};
try {
  const creds = await createProject(dataDir);
  phases.idle = await sample(node.url, pid);
  console.log('idle', phases.idle);
  for (const kind of args.phases.split(',')) {
    const name = `mem_${kind}_${Date.now()}`;
    let peak = { rssMb: 0 } as Awaited<ReturnType<typeof sample>>;
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const rss = mb(procStats(pid).rssBytes);
        if (rss > peak.rssMb) peak = await sample(node.url, pid);
      } catch {
      } finally {
        busy = false;
      }
    }, 500);
    const seconds = Number(args.seconds);
    const cpu0 = procStats(pid).cpuSeconds;
    const load =
      kind === 'track' && args['track-requests']
        ? await trackRun({ urls: [node.url], creds, connections: Number(args.connections), name, visitors: 0 }, { amount: Number(args['track-requests']) })
        : kind === 'track'
          ? await trackLoad({ urls: [node.url], creds, seconds, connections: Number(args.connections), name, loadgen: pickLoadgen(undefined), visitors: 0 })
          : await wsLoad({ urls: [node.url], creds, seconds, sockets: 8, window: 16, name });
    clearInterval(timer);
    const end = await sample(node.url, pid);
    await new Promise((r) => setTimeout(r, Number(args.idle) * 1000));
    const after = await sample(node.url, pid);
    const cpuMsPer1k = Math.round(((procStats(pid).cpuSeconds - cpu0) / load.acked) * 1e6);
    phases[kind] = { acked: load.acked, ackedPerSecond: Math.round(load.acked / load.seconds), cpuMsPer1k, peak, end, afterIdle: after };
    console.log(kind, JSON.stringify(phases[kind], null, 1));
    if (args.snapshot) await heapSnapshot(kind);
  }
  console.log(
    `saved ${saveResults('memory-phases', { date: new Date().toISOString(), loadAverage: os.loadavg(), root: args.root ?? null, env: extraEnv, phases })}`,
  );
} finally {
  await node.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
