/**
 * `tsx bench/track-threads.ts` — CPU per `/track` request of each thread of the embedded
 * server, the main (ingest) thread apart: starts `server/main.ts` from a checkout, drives
 * `POST /track` with wrk (one new visitor per request, keep-alive connections) and reads each
 * thread's CPU time from /proc before and after. The main thread's figure is what the ingest
 * event loop spends per request, uWS, the log's hand-offs and garbage collection included;
 * the in-process `bench/track-path.ts` measures only the work behind uWS.
 *
 *   --root DIR          the checkout to run (default this one): alternate two for a before/after
 *   --seconds N         measured wrk run (default 10), after a 2 s warm-up
 *   --connections N     wrk connections (default 50)
 *
 * Prints µs of CPU per request per thread name and for the process, requests/s and wrk's p99;
 * saves bench/results/track-threads-<time>.json. Needs wrk (Linux: reads /proc).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createProject, saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: { root: { type: 'string' }, seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } },
});
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const SECONDS = Number(args.seconds);

// wrk's LuaJIT has no bit operators: the address is built with math.floor.
const LUA = `
local n = 0
request = function()
  n = n + 1
  local body = '{"type":"track","payload":{"name":"bench_threads","properties":{"__path":"https://bench.example/p/' .. (n % 50) .. '","n":' .. n .. '}}}'
  local h = {}
  h["content-type"] = "application/json"
  h["openpanel-client-id"] = CLIENT_ID
  h["origin"] = "https://bench.example"
  h["user-agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
  h["x-forwarded-for"] = "81." .. (math.floor(n / 65536) % 256) .. "." .. (math.floor(n / 256) % 256) .. "." .. (n % 256)
  return wrk.format("POST", "/track", h, body)
end
`;

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
const url = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
  cwd: ROOT,
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, TRUST_PROXY: '1', LOG_LEVEL: 'warn', RATE_LIMITS: 'off' },
  stdio: ['pipe', 'ignore', 'inherit'],
});
try {
  const deadline = Date.now() + 120_000;
  while (
    !(await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  const creds = await createProject(dataDir);
  const script = path.join(dataDir, 'track.lua');
  writeFileSync(script, `CLIENT_ID = ${JSON.stringify(creds.clientId)}\n${LUA}`);
  const wrk = (seconds: number) => execFileSync('wrk', ['-t1', '-c', args.connections!, '-d', `${seconds}s`, '--latency', '-s', script, url]).toString();
  wrk(2);
  const before = threadTicks(child.pid!);
  const out = wrk(SECONDS);
  const after = threadTicks(child.pid!);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
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
    seconds: SECONDS,
    requests,
    non2xx,
    requestsPerSecond: Math.round(requests / SECONDS),
    p99: /99%\s+(\S+)/.exec(out)?.[1],
    mainThreadBusy: Math.round((((after.main ?? 0) - (before.main ?? 0)) * TICK_US) / (SECONDS * 1e4)) / 100,
    cpuUsPerRequest: { process: Math.round((total * TICK_US * 10) / requests) / 10, ...perRequest },
    loadAverage: os.loadavg(),
  };
  console.log(result);
  console.log(`saved ${saveResults('track-threads', result)}`);
} finally {
  child.kill('SIGTERM');
  if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
