/**
 * Benchmark plumbing: sample processes' CPU and memory from /proc, create a project through
 * the admin route (as `npm run admin` does), count stored events, save results under
 * bench/results/. Processes are started with server/cluster/local-cluster.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../server/cluster/local-cluster.ts';
import { adminEndpoint } from '../server/data-lock.ts';

export { ROOT };

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user+system) of a /proc `stat` file: a process's (all its threads) or one thread's. */
function statCpuSeconds(file: string): number {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/**
 * CPU seconds (user+system) and resident memory of a process, from /proc; `mainCpuSeconds` is
 * its main thread's alone (the rest is its other threads': in the embedded server the insert
 * thread and chDB's threads, besides libuv's pool and V8's helpers).
 */
export function procStats(pid: number): { cpuSeconds: number; mainCpuSeconds: number; rssBytes: number } {
  const cpuSeconds = statCpuSeconds(`/proc/${pid}/stat`);
  const mainCpuSeconds = statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
  const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  return { cpuSeconds, mainCpuSeconds, rssBytes: rssPages * 4096 };
}

/**
 * Samples processes every 250 ms; `done()` returns, per name, the CPU used (in cores: 1.0 is
 * one core busy the whole time) and the peak RSS.
 */
export function sampleProcesses(pids: Record<string, number>) {
  const t0 = performance.now();
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procStats(pid)]));
  const peak: Record<string, number> = Object.fromEntries(Object.entries(start).map(([k, s]) => [k, s.rssBytes]));
  const timer = setInterval(() => {
    for (const [k, pid] of Object.entries(pids)) {
      try {
        peak[k] = Math.max(peak[k]!, procStats(pid).rssBytes);
      } catch {}
    }
  }, 250);
  return {
    done() {
      clearInterval(timer);
      const wall = (performance.now() - t0) / 1000;
      return Object.fromEntries(
        Object.entries(pids).map(([k, pid]) => {
          const end = procStats(pid);
          return [
            k,
            {
              cpuSeconds: Math.round((end.cpuSeconds - start[k]!.cpuSeconds) * 100) / 100,
              offMainCpuSeconds: Math.round((end.cpuSeconds - end.mainCpuSeconds - (start[k]!.cpuSeconds - start[k]!.mainCpuSeconds)) * 100) / 100,
              cpuCores: Math.round(((end.cpuSeconds - start[k]!.cpuSeconds) / wall) * 100) / 100,
              peakRssMb: Math.round(Math.max(peak[k]!, end.rssBytes) / 2 ** 20),
            },
          ];
        }),
      );
    },
  };
}

/** Runs an admin command on the server holding `dataDir`, through its loopback admin listener (as `npm run admin` does). */
export async function adminCommand<T>(dataDir: string, command: string, body: unknown): Promise<T> {
  const endpoint = adminEndpoint(dataDir);
  if (!endpoint) throw new Error(`no admin listener for ${dataDir}`);
  const res = await fetch(`${endpoint.url}/api/admin/${command}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-livepanel-admin-token': endpoint.token },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${command}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Creates a project on the server holding `dataDir`. */
export async function createProject(dataDir: string) {
  return adminCommand<{ projectId: string; clientId: string; clientSecret: string }>(dataDir, 'create-project', { name: 'bench', domain: 'bench.example' });
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

/** Sampling interval of `--profile` (µs): coarse enough to keep a run's profile a few MB. */
const PROFILE_INTERVAL_US = 2000;
const profileDir = (stamp: string) => path.join(ROOT, 'bench', 'results', 'profiles', stamp);

/** Node flags that make a Livepanel process write a CPU profile when it exits (none when not profiling). */
export function profileArgs(on: boolean | undefined, shape: string, stamp: string): string[] {
  if (!on) return [];
  const dir = path.join(profileDir(stamp), shape);
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${PROFILE_INTERVAL_US}`];
}

/** Renames the profiles the exited processes `pids` wrote to `<name>.cpuprofile`; returns name → file. */
export function saveProfiles(shape: string, stamp: string, pids: Record<string, number>): Record<string, string> {
  const dir = path.join(profileDir(stamp), shape);
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const [name, pid] of Object.entries(pids)) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread; the others
    // are the embedded shape's insert thread (kept as `<name>.thread<N>`, the largest of them)
    // and tsx's module-loader threads (dropped).
    const files = readdirSync(dir).filter((x) => x.includes(`.${pid}.`) && x.endsWith('.cpuprofile'));
    const others = files.filter((f) => !f.includes(`.${pid}.0.`)).sort((a, b) => statSync(path.join(dir, b)).size - statSync(path.join(dir, a)).size);
    for (const f of files) {
      if (f.includes(`.${pid}.0.`)) {
        out[name] = path.join(dir, `${name}.cpuprofile`);
        renameSync(path.join(dir, f), out[name]);
      } else if (f === others[0] && statSync(path.join(dir, f)).size > 1 << 20) {
        const file = path.join(dir, `${name}.thread${f.split('.')[4]}.cpuprofile`);
        out[`${name}.thread${f.split('.')[4]}`] = file;
        renameSync(path.join(dir, f), file);
      } else rmSync(path.join(dir, f));
    }
  }
  return out;
}
