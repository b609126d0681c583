/**
 * `/track` load from wrk (the Debian package, `apt-get install wrk`) running bench/track.lua:
 * the same requests as the autocannon generator in bench/load.ts for a fraction of its CPU,
 * so on a small machine the server, not the generator, sets the rate.
 *
 * wrk runs for a duration and drops the requests still in flight when it stops: the server
 * may store those events without their answer being counted. The script counts the requests
 * it built and the answers it got, so the run reports how many went unanswered — stored must
 * then lie between acknowledged and acknowledged + unanswered. One wrk process, one thread per
 * ingest node (the connections split evenly over them), one latency histogram for all.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const SCRIPT = path.join(import.meta.dirname, 'track.lua');

/** Whether a `wrk` binary is on the PATH. */
export function wrkInstalled(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/** What bench/track.lua's done() prints, after `LIVEPANEL `. */
interface WrkReport {
  durationUs: number;
  /** Requests built by request(): every one sent or being sent (plus the one wrk builds to check the script). */
  sent: number;
  /** Answers received, of any status. */
  answered: number;
  ok: number;
  other: number;
  errors: { connect: number; read: number; write: number; timeout: number };
  latencyUs: { p50: number; p99: number; max: number };
  /** CPU time of the whole wrk process (every thread), from os.clock() at the end. */
  cpuSeconds: number;
}

export async function wrkTrackRun(o: {
  urls: string[];
  clientId: string;
  name: string;
  origin: string;
  userAgent: string;
  connections: number;
  seconds: number;
  /** Visitors the requests come from in turn; 0 (default): a new visitor per request. */
  visitors?: number;
}) {
  const nodes = o.urls.map((u) => new URL(u));
  if (nodes.some((u) => u.hostname !== nodes[0]!.hostname)) throw new Error('wrk: every ingest URL must be on the same host');
  const threads = nodes.length;
  // wrk gives each thread connections / threads (rounded down).
  const connections = Math.max(threads, o.connections - (o.connections % threads));
  const wrkArgs = ['-t', threads, '-c', connections, '-d', `${Math.max(1, Math.round(o.seconds))}s`, '--timeout', '10s', '-s', SCRIPT, `${o.urls[0]}/track`];
  // The script's own arguments follow `--`; setup() cannot see them, hence the environment.
  const scriptArgs = ['--', o.clientId, o.name, o.origin, o.userAgent];
  const child = spawn('wrk', [...wrkArgs, ...scriptArgs].map(String), {
    env: {
      ...process.env,
      LIVEPANEL_WRK_PORTS: nodes.map((u) => u.port).join(' '),
      LIVEPANEL_WRK_THREADS: String(threads),
      LIVEPANEL_WRK_VISITORS: String(o.visitors ?? 0),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith('LIVEPANEL '));
  if (code !== 0 || !line) throw new Error(`wrk exited with ${code}: ${err || out}`);
  const r = JSON.parse(line.slice('LIVEPANEL '.length)) as WrkReport;
  const seconds = r.durationUs / 1e6;
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    loadgen: 'wrk' as const,
    connections,
    seconds: Math.round(seconds * 10) / 10,
    acked: r.ok,
    non2xx: r.other,
    errors: r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout,
    unanswered: r.sent - r.answered,
    latencyMs: { p50: ms(r.latencyUs.p50), p99: ms(r.latencyUs.p99), max: ms(r.latencyUs.max) },
    loadgenCpu: loadgenCpu(r.cpuSeconds, r.answered, seconds),
  };
}

/** A load generator's CPU: seconds, milliseconds per 1,000 answers, and cores (1.0 = one core busy throughout). */
export function loadgenCpu(cpuSeconds: number, answers: number, wallSeconds: number) {
  return {
    seconds: Math.round(cpuSeconds * 100) / 100,
    msPer1k: answers > 0 ? Math.round((cpuSeconds / answers) * 1e6 * 10) / 10 : 0,
    cores: wallSeconds > 0 ? Math.round((cpuSeconds / wallSeconds) * 100) / 100 : 0,
  };
}
