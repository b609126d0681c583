/**
 * What the machine allows right now, measured in the same run as the shapes so ratios to it
 * survive a noisy machine: a bare uWS server doing the same JSON parse (bench/bare-uws.ts),
 * driven by the same load generators as Livepanel (the same `/track` generator, wrk or
 * autocannon), and chDB's insert rate through the writer (bench/chdb-ceiling.ts). Each runs in
 * its own process, as the servers do.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { type Creds, type Loadgen, trackRun, trackRunWrk, wsLoad } from './load.ts';
import { ROOT } from './support.ts';

export interface Ceilings {
  /** Bare uWS `POST /track`: requests/s. */
  bareTrack: number;
  /** The `/track` generator's CPU in that run: milliseconds per 1,000 requests, and cores. */
  bareTrackLoadgenCpuMsPer1k: number;
  bareTrackLoadgenCores: number;
  /** Bare uWS `/ws`, batches of 50 acked on parse: events/s. */
  bareWs: number;
  /** chDB inserts of 20k event rows through the writer: rows/s. */
  chdbRowsPerSecond: number;
}

const BARE_CREDS: Creds = { projectId: 'bare', clientId: 'bare', clientSecret: 'bare' };

function spawnScript(script: string, args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', script), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
}

interface CeilingOptions {
  seconds: number;
  connections: number;
  sockets: number;
  window: number;
  loadgen: Loadgen;
}

async function bareUws(o: CeilingOptions) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawnScript('bare-uws.ts', [String(port)]);
  const url = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 30_000;
    while (
      !(await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('bare uWS server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const target = { urls: [url], creds: BARE_CREDS, connections: o.connections, name: 'bare', visitors: 0 };
    const track = o.loadgen === 'wrk' ? await trackRunWrk(target, o.seconds) : await trackRun(target, { duration: o.seconds });
    const ws = await wsLoad({ urls: [url], creds: BARE_CREDS, seconds: o.seconds, sockets: o.sockets, window: o.window, name: 'bare' });
    return {
      bareTrack: Math.round(track.acked / track.seconds),
      bareTrackLoadgenCpuMsPer1k: track.loadgenCpu.msPer1k,
      bareTrackLoadgenCores: track.loadgenCpu.cores,
      bareWs: Math.round(ws.acked / ws.seconds),
    };
  } finally {
    child.kill('SIGKILL');
  }
}

async function chdbCeiling(): Promise<number> {
  const child = spawnScript('chdb-ceiling.ts', ['20000', '6']);
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`chdb-ceiling exited with ${code}: ${out}`);
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { rowsPerSecond: number }).rowsPerSecond;
}

export async function measureCeilings(o: CeilingOptions): Promise<Ceilings> {
  const bare = await bareUws(o);
  const chdbRowsPerSecond = await chdbCeiling();
  const c = { ...bare, chdbRowsPerSecond };
  console.log(
    `ceilings now: bare uWS /track ${c.bareTrack} req/s (${o.loadgen}: ${c.bareTrackLoadgenCpuMsPer1k} CPU ms per 1k requests, ${c.bareTrackLoadgenCores} cores), /ws ${c.bareWs} events/s; chDB insert ${c.chdbRowsPerSecond} rows/s`,
  );
  return c;
}

export function meanCeilings(a: Ceilings, b: Ceilings): Ceilings {
  const m = (x: number, y: number) => Math.round((x + y) / 2);
  const m2 = (x: number, y: number) => Math.round(((x + y) / 2) * 100) / 100;
  return {
    bareTrack: m(a.bareTrack, b.bareTrack),
    bareTrackLoadgenCpuMsPer1k: m2(a.bareTrackLoadgenCpuMsPer1k, b.bareTrackLoadgenCpuMsPer1k),
    bareTrackLoadgenCores: m2(a.bareTrackLoadgenCores, b.bareTrackLoadgenCores),
    bareWs: m(a.bareWs, b.bareWs),
    chdbRowsPerSecond: m(a.chdbRowsPerSecond, b.chdbRowsPerSecond),
  };
}

export const ratio = (x: number, of: number) => (of > 0 ? Math.round((x / of) * 100) / 100 : 0);
