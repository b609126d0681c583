/**
 * The distributed topology from local processes, for development, the multi-node tests and
 * the benchmark: one `worker,web` process (the only one that opens the chDB folder) and N
 * stateless `ingest` processes, all talking through Redis and PostgreSQL. Each process is the
 * real entry point (`server/main.ts`) started as a user would start it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { MALLOC_ENV } from './malloc-env.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface NodeProcess {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM (graceful drain) and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `server/main.ts` with `env` and waits until its /healthz answers 200. */
export async function startNode(
  name: string,
  env: Record<string, string>,
  opts: {
    echo?: boolean;
    timeoutMs?: number;
    /** Another checkout to run (the benchmark's before/after); default this one. */
    root?: string;
    /** Extra node flags (e.g. `--cpu-prof`, which NODE_OPTIONS may not carry). */
    nodeArgs?: string[];
  } = {},
): Promise<NodeProcess> {
  const port = Number(env.PORT);
  // stdin stays open as a lifeline: the node exits when this process goes away, even if it was
  // SIGKILLed or a test runner gave up on it (die-with-parent.mjs), instead of lingering on its port.
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', '--import', './server/cluster/die-with-parent.mjs', 'server/main.ts'], {
    cwd: opts.root ?? ROOT,
    // glibc's malloc settings as `npm start` sets them (malloc-env.ts).
    env: { ...MALLOC_ENV, ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (d: Buffer) => {
    out += d;
    if (opts.echo) for (const line of String(d).split('\n')) if (line) process.stdout.write(`[${name}] ${line}\n`);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not become healthy:\n${out}`);
    }
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    name,
    child,
    port,
    url,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

export interface ClusterOptions {
  redisUrl: string;
  redisPrefix: string;
  databaseUrl: string;
  dataDir: string;
  ingestPorts: number[];
  workerPort: number;
  env?: Record<string, string>;
  echo?: boolean;
  /** Another checkout to run (see startNode). */
  root?: string;
  /** Extra node flags for every process (see startNode). */
  nodeArgs?: string[];
}

export interface LocalCluster {
  worker: NodeProcess;
  ingest: NodeProcess[];
  /** Env shared by every node (add ROLE and PORT to start another). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Node flags ingest nodes run with, as docker-compose.yml starts them: a 64 MB young generation
 * (V8's default is 16 MB). An ingest node's per-event objects live until the batch is queued
 * and answered — hundreds of milliseconds under load — which outlasts two scavenges of the
 * default size, so they were copied and promoted to the old generation and collected there;
 * with the larger one most die young: 14-16 % less CPU per event on the ingest nodes under
 * `bench:ingest` `/ws` (docs/benchmarks.md), for about 50 MB more memory each.
 */
export const INGEST_NODE_OPTIONS = '--max-semi-space-size=64';

export async function startLocalCluster(o: ClusterOptions): Promise<LocalCluster> {
  const env = { REDIS_URL: o.redisUrl, REDIS_PREFIX: o.redisPrefix, DATABASE_URL: o.databaseUrl, DATA_DIR: o.dataDir, ...o.env };
  // The worker first: it migrates ClickHouse and PostgreSQL before the ingest nodes arrive.
  const worker = await startNode('worker', { ...env, ROLE: 'worker,web', PORT: String(o.workerPort) }, { echo: o.echo, root: o.root, nodeArgs: o.nodeArgs });
  const ingest = await Promise.all(
    o.ingestPorts.map((port, i) =>
      startNode(
        `ingest-${i + 1}`,
        // NODE_OPTIONS already set (for this process or the cluster) comes after, so its flags win.
        {
          ...env,
          ROLE: 'ingest',
          PORT: String(port),
          NODE_OPTIONS: [INGEST_NODE_OPTIONS, o.env?.NODE_OPTIONS ?? process.env.NODE_OPTIONS].filter(Boolean).join(' '),
        },
        { echo: o.echo, root: o.root, nodeArgs: o.nodeArgs },
      ),
    ),
  );
  return {
    worker,
    ingest,
    env,
    async stop() {
      await Promise.all(ingest.map((n) => n.stop()));
      await worker.stop();
    },
  };
}
