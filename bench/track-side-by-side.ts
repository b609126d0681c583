/**
 * `tsx bench/track-side-by-side.ts --root A --root B` — CPU per `/track` request of two
 * checkouts' embedded servers loaded at the same time, each by its own wrk (50 connections,
 * bench/track.lua), so that both see the same machine: on a shared host whose speed drifts
 * by a fifth within minutes, runs one after the other (even alternated) differ by more than
 * a change of a few µs per request, while two servers side by side drift together. Each server
 * gets about half of what the machine has; the figures are CPU time per request of each
 * one's main thread and whole process (from /proc), not throughput.
 *
 *   --root DIR        a checkout to run, twice (the first is printed as A, the second as B)
 *   --seconds N       measured run (default 10), after a 3 s warm-up of both
 *   --rounds N        measured runs, one after the other on the same two servers (default 3)
 *   --visitors N      requests from N visitors in turn (default 4096; 0: a new one per request)
 *   --connections N   wrk connections per server (default 50)
 *
 * Prints, per round, µs per request (main thread, process) and requests/s of both; saves
 * bench/results/track-side-by-side-<time>.json. Needs wrk (Linux: reads /proc).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startNode } from '../server/cluster/local-cluster.ts';
import { createProject, procStats, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    root: { type: 'string', multiple: true },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    visitors: { type: 'string', default: '4096' },
    connections: { type: 'string', default: '50' },
  },
});
const roots = (args.root ?? []).map((r) => path.resolve(r));
if (roots.length !== 2) throw new Error('give two checkouts: --root A --root B');

const SCRIPT = path.join(import.meta.dirname, 'track.lua');
const ORIGIN = 'https://bench.example';
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const run = promisify(execFile);

interface Server {
  root: string;
  url: string;
  pid: number;
  clientId: string;
  dataDir: string;
  stop(): Promise<unknown>;
  sent: number;
}

async function start(root: string): Promise<Server> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-bench-sbs-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const node = await startNode('livepanel', { PORT: String(port), DATA_DIR: dataDir, TRUST_PROXY: '1', RATE_LIMITS: 'off' }, { root, timeoutMs: 120_000 });
  const creds = await createProject(dataDir);
  return { root, url: node.url, pid: node.child.pid!, clientId: creds.clientId, dataDir, stop: () => node.stop(), sent: 0 };
}

/** One wrk run against `s`, its requests numbered on from the previous run's (new visitors stay new). */
async function wrk(s: Server, seconds: number): Promise<{ answered: number; p99Ms: number }> {
  const env = { ...process.env, LIVEPANEL_WRK_VISITORS: args.visitors, LIVEPANEL_WRK_FIRST: String(s.sent) };
  const { stdout } = await run(
    'wrk',
    ['-t1', '-c', args.connections!, '-d', `${seconds}s`, '-s', SCRIPT, `${s.url}/track`, '--', s.clientId, 'bench_sbs', ORIGIN, UA],
    { env },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('LIVEPANEL '));
  if (!line) throw new Error(`wrk printed no report:\n${stdout}`);
  const r = JSON.parse(line.slice('LIVEPANEL '.length)) as { sent: number; answered: number; latencyUs: { p99: number } };
  s.sent += r.sent;
  return { answered: r.answered, p99Ms: r.latencyUs.p99 / 1000 };
}

const servers: Server[] = [];
try {
  for (const root of roots) servers.push(await start(root));
  await Promise.all(servers.map((s) => wrk(s, 3)));
  const rounds: Array<Array<{ mainUs: number; processUs: number; requestsPerSecond: number; p99Ms: number }>> = [];
  for (let round = 0; round < Number(args.rounds); round++) {
    const before = servers.map((s) => procStats(s.pid));
    const reports = await Promise.all(servers.map((s) => wrk(s, Number(args.seconds))));
    const after = servers.map((s) => procStats(s.pid));
    const figures = servers.map((_, i) => {
      const n = reports[i]!.answered;
      return {
        mainUs: Math.round(((after[i]!.mainCpuSeconds - before[i]!.mainCpuSeconds) * 1e7) / n) / 10,
        processUs: Math.round(((after[i]!.cpuSeconds - before[i]!.cpuSeconds) * 1e7) / n) / 10,
        requestsPerSecond: Math.round(n / Number(args.seconds)),
        p99Ms: reports[i]!.p99Ms,
      };
    });
    rounds.push(figures);
    console.log(
      `round ${round + 1}: ${figures.map((f, i) => `${'AB'[i]} main ${f.mainUs} µs, process ${f.processUs} µs, ${f.requestsPerSecond} req/s`).join(' | ')}`,
    );
  }
  const mean = (i: number, k: 'mainUs' | 'processUs') => Math.round((rounds.reduce((a, r) => a + r[i]![k], 0) / rounds.length) * 10) / 10;
  const result = {
    date: new Date().toISOString(),
    roots,
    visitors: Number(args.visitors),
    connections: Number(args.connections),
    seconds: Number(args.seconds),
    rounds,
    meanMainUs: [mean(0, 'mainUs'), mean(1, 'mainUs')],
    meanProcessUs: [mean(0, 'processUs'), mean(1, 'processUs')],
    loadAverage: os.loadavg(),
  };
  console.log(
    `mean: A main ${result.meanMainUs[0]} / process ${result.meanProcessUs[0]} µs, B main ${result.meanMainUs[1]} / process ${result.meanProcessUs[1]} µs`,
  );
  console.log(`saved ${saveResults('track-side-by-side', result)}`);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  for (const s of servers) rmSync(s.dataDir, { recursive: true, force: true });
}
