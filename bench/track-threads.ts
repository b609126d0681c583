/**
 * `tsx bench/track-threads.ts` — CPU per `/track` request of each thread of the embedded
 * server, the main (ingest) thread apart: starts `server/main.ts` from a checkout, drives
 * `POST /track` with wrk and bench/track.lua (one new visitor per request, keep-alive connections) and reads each
 * thread's CPU time from /proc before and after. The main thread's figure is what the ingest
 * event loop spends per request, uWS, the log's hand-offs and garbage collection included;
 * the in-process `bench/track-path.ts` measures only the work behind uWS.
 *
 *   --root DIR          the checkout to run (default this one): alternate two for a before/after
 *   --seconds N         measured wrk run (default 10), after the warm-up
 *   --warmup N          seconds of warm-up (default 2); the measured run's visitors follow the
 *                       warm-up's (new ones stay new), so a long warm-up measures a server whose
 *                       session store and caches are full, as past 100,000 visitors in bench:ingest
 *   --connections N     wrk connections (default 50)
 *   --visitors N        requests from N visitors in turn (default 0: a new visitor per request)
 *
 * Prints µs of CPU per request per thread name and for the process, requests/s and wrk's p99;
 * saves bench/results/track-threads-<time>.json. Needs wrk (Linux: reads /proc).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startNode } from '../server/cluster/local-cluster.ts';
import { createProject, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    root: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    visitors: { type: 'string', default: '0' },
  },
});
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const SECONDS = Number(args.seconds);

const SCRIPT = path.join(import.meta.dirname, 'track.lua');
const ORIGIN = 'https://bench.example';
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/** CPU clock ticks (user + system) per thread name; the main thread is `main`. */
function threadTicks(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let raw: string;
    try {
      raw = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = tid === String(pid) ? 'main' : raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    out[name] = (out[name] ?? 0) + Number(f[11]) + Number(f[12]);
  }
  return out;
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-threads-'));
const port = 20000 + Math.floor(Math.random() * 20000);
// Started as bench:ingest starts it (server/cluster/local-cluster.ts: MALLOC_ARENA_MAX as `npm start`).
const node = await startNode('livepanel', { PORT: String(port), DATA_DIR: dataDir, TRUST_PROXY: '1', RATE_LIMITS: 'off' }, { root: ROOT, timeoutMs: 120_000 });
const { url } = node;
const pid = node.child.pid!;
try {
  const creds = await createProject(dataDir);
  // bench/track.lua, as bench:ingest drives /track (--visitors as there), one JSON report line.
  const wrk = (seconds: number, first = 0) => {
    const env = { ...process.env, LIVEPANEL_WRK_VISITORS: args.visitors, LIVEPANEL_WRK_FIRST: String(first) };
    const out = execFileSync(
      'wrk',
      ['-t1', '-c', args.connections!, '-d', `${seconds}s`, '-s', SCRIPT, `${url}/track`, '--', creds.clientId, 'bench_threads', ORIGIN, UA],
      { env },
    );
    const line = out
      .toString()
      .split('\n')
      .find((l) => l.startsWith('LIVEPANEL '));
    if (!line) throw new Error(`wrk printed no report:\n${out}`);
    return JSON.parse(line.slice('LIVEPANEL '.length)) as { sent: number; answered: number; ok: number; other: number; latencyUs: { p99: number } };
  };
  const warmup = wrk(Number(args.warmup));
  const before = threadTicks(pid);
  const report = wrk(SECONDS, warmup.sent);
  const after = threadTicks(pid);
  const requests = report.answered;
  const perRequest: Record<string, number> = {};
  let total = 0;
  for (const [name, ticks] of Object.entries(after)) {
    const spent = ticks - (before[name] ?? 0);
    total += spent;
    if (spent > 0) perRequest[name] = Math.round((spent * TICK_US * 10) / requests) / 10;
  }
  const result = {
    date: new Date().toISOString(),
    root: ROOT,
    connections: Number(args.connections),
    visitors: Number(args.visitors),
    seconds: SECONDS,
    warmupRequests: warmup.sent,
    requests,
    non2xx: report.other,
    requestsPerSecond: Math.round(requests / SECONDS),
    p99Ms: report.latencyUs.p99 / 1000,
    mainThreadBusy: Math.round((((after.main ?? 0) - (before.main ?? 0)) * TICK_US) / (SECONDS * 1e4)) / 100,
    cpuUsPerRequest: { process: Math.round((total * TICK_US * 10) / requests) / 10, ...perRequest },
    loadAverage: os.loadavg(),
  };
  console.log(result);
  console.log(`saved ${saveResults('track-threads', result)}`);
} finally {
  await node.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
