/**
 * Benchmark plumbing: start Livepanel processes as a user would (`tsx server/main.ts`),
 * sample their CPU and memory from /proc, create a project through the admin CLI path, and
 * save results under bench/results/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readDataLock } from '../server/data-lock.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');
const TICKS = 100; // USER_HZ on Linux

export interface Proc {
  child: ChildProcess;
  url: string;
  stop(): Promise<number | null>;
}

/** Starts one Livepanel process and waits until /healthz answers 200. */
export async function startProcess(env: Record<string, string>, label = 'livepanel'): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`${label} did not become healthy:\n${output}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/** CPU seconds (user+system) and resident memory of a process, from /proc. */
export function procStats(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS;
  const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  return { cpuSeconds, rssBytes: rssPages * 4096 };
}

/** Samples a process every 250 ms; `done()` returns CPU used (as a share of one core) and peak RSS. */
export function sampleProcess(pid: number) {
  const start = procStats(pid);
  const t0 = performance.now();
  let peak = start.rssBytes;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, procStats(pid).rssBytes);
    } catch {}
  }, 250);
  return {
    done() {
      clearInterval(timer);
      const end = procStats(pid);
      const wall = (performance.now() - t0) / 1000;
      return { cpuCores: (end.cpuSeconds - start.cpuSeconds) / wall, peakRssMb: Math.round(Math.max(peak, end.rssBytes) / 2 ** 20) };
    },
  };
}

/** Creates a project through the running server's admin route (as `npm run admin` does). */
export async function createProject(url: string, dataDir: string) {
  const token = readDataLock(dataDir)?.adminToken ?? '';
  const res = await fetch(`${url}/api/admin/create-project`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-livepanel-admin-token': token },
    body: JSON.stringify({ name: 'bench', domain: 'bench.example' }),
  });
  if (!res.ok) throw new Error(`create-project: ${res.status} ${await res.text()}`);
  return (await res.json()) as { projectId: string; clientId: string; clientSecret: string };
}

export async function countStored(url: string, creds: { projectId: string; clientId: string; clientSecret: string }, name: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/projects/${creds.projectId}/events/count?name=${encodeURIComponent(name)}`, {
    headers: { 'openpanel-client-id': creds.clientId, 'openpanel-client-secret': creds.clientSecret },
  });
  if (!res.ok) throw new Error(`count: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { count: number }).count;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function saveResults(name: string, data: unknown): string {
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
