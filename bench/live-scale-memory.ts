/**
 * The memory phases of `bench/live-scale.ts`: idle SDK sockets (the server's RSS growth per
 * socket, and `online` counting the devices and going back to 0) and Redis memory per online
 * visitor (the Redis Visitors engine's keys).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createRedisVisitors } from '../server/engines/visitors.redis.ts';
import { deleteKeys } from '../tests/support/redis.ts';
import { type Creds, until } from './live-dashboards.ts';
import { ORIGIN } from './live-load.ts';
import { dashboard } from './live-scale-dashboards.ts';
import { procStats } from './support.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number) => Math.round(x * 10) / 10;

export interface IdleOptions {
  /** Sockets to open (two per device). */
  idle: number;
  /** Child processes opening them. */
  procs: number;
  /** Loopback source addresses they spread over (127.0.0.2 …). */
  addresses: number;
  /** The server process whose RSS is measured. */
  serverPid: number;
  /** Where the child processes are registered while they run (the bench's watchdog kills them). */
  children: Set<ChildProcess>;
}

/** Opens `idle` SDK sockets, then reports the server's RSS growth per socket and whether `online` counted the devices. */
export async function idleSockets(url: string, writer: Creds, reader: Creds, o: IdleOptions) {
  const IDLE = o.idle;
  if (IDLE <= 0) return null;
  const children = o.children;
  const watcher = await dashboard(url, reader, { prefix: '\0' });
  await until(() => watcher.online.at(-1) === 0, 15_000, 50);
  await sleep(5000); // the fresh process settles (JIT, first allocations)
  /** Median of 7 RSS samples over 3 s: a garbage collection in between moves a single sample by tens of MB. */
  const rss = async () => {
    const xs: number[] = [];
    for (let i = 0; i < 7; i++) {
      xs.push(procStats(o.serverPid).rssBytes);
      await sleep(500);
    }
    return xs.sort((a, b) => a - b)[3]!;
  };
  const before = await rss();
  const addresses = Array.from({ length: o.addresses }, (_, i) => `127.0.0.${i + 2}`);
  const per = Math.ceil(IDLE / o.procs);
  const opened0 = performance.now();
  const procs = Array.from({ length: o.procs }, (_, k) => {
    const child = fork(path.join(HERE, 'live-idle-client.ts'), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    const ready = new Promise<{ opened: number; failed: number; errors: string[]; devices: number[] }>((resolve) =>
      child.once('message', (m) => resolve(m as never)),
    );
    const count = Math.max(0, Math.min(per, IDLE - k * per));
    child.send({ job: { url: url.replace(/^http/, 'ws'), clientId: writer.clientId, from: k * per, count, addresses, origin: ORIGIN, tabs: 2 } });
    return { child, ready };
  });
  const results = await Promise.all(procs.map((p) => p.ready));
  const opened = results.reduce((s, r) => s + r.opened, 0);
  const openSeconds = round((performance.now() - opened0) / 1000);
  // Devices with at least one socket open (when the descriptor limit refused some, not every pair is complete).
  const devices = new Set(results.flatMap((r) => r.devices)).size;
  const reached = await until(() => watcher.online.at(-1) === devices, 30_000, 50);
  await sleep(2000); // let allocation settle
  const after = await rss();
  const maxSeen = Math.max(...watcher.online);
  for (const p of procs) p.child.send({ close: true });
  await Promise.all(procs.map((p) => new Promise((r) => p.child.once('exit', r))));
  for (const p of procs) children.delete(p.child);
  const backToZero = await until(() => watcher.online.at(-1) === 0, 30_000, 50);
  watcher.socket.close();
  return {
    requested: IDLE,
    opened,
    failed: results.reduce((s, r) => s + r.failed, 0),
    errors: [...new Set(results.flatMap((r) => r.errors))],
    sourceAddresses: addresses,
    openSeconds,
    devices,
    onlineReachedDevices: reached,
    maxOnlineSeen: maxSeen,
    backToZero,
    serverRssMb: { before: Math.round(before / 2 ** 20), after: Math.round(after / 2 ** 20) },
    /** RSS growth per open socket; 0 or below: lost in the process's own noise (garbage collections). */
    rssPerSocketKb: opened ? round((after - before) / opened / 1024) : null,
  };
}

/** Puts `REDIS_VISITORS` devices online through the Redis Visitors engine (own key prefix) and reads its keys' MEMORY USAGE. */
export async function redisPerVisitor(redisUrl: string, REDIS_VISITORS: number) {
  if (REDIS_VISITORS <= 0) return null;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  const prefix = `lpbench:${randomBytes(4).toString('hex')}:`;
  try {
    const v = createRedisVisitors({ redis, prefix, ttlMs: 60_000 });
    const project = 'bench-project-0000000000000000';
    const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    await v.reset('bench-node-1', []); // registers the node: the store refuses deltas from a node it does not know
    for (let i = 0; i < REDIS_VISITORS; i += 5000) {
      await v.change(
        'bench-node-1',
        Array.from(
          { length: Math.min(5000, REDIS_VISITORS - i) },
          (_, k) => [project, `d-${(i + k).toString(36).padStart(8, '0')}-c0ffee-4a1b-9e2d`, 1] as [string, string, number],
        ),
      );
    }
    const online = await v.online(project);
    const keys = [`${prefix}vis:on:${project}`, `${prefix}vis:node:bench-node-1`];
    const usage = (await Promise.all(keys.map((k) => redis.memory('USAGE', k, 'SAMPLES', 0)))) as number[];
    const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    return {
      visitors: REDIS_VISITORS,
      online,
      deviceIdBytes: 36,
      keyBytes: Object.fromEntries(keys.map((k, i) => [k.slice(prefix.length), usage[i]])),
      bytesPerVisitor: Math.round(usage.reduce((s, u) => s + (u ?? 0), 0) / REDIS_VISITORS),
      usedMemoryGrowthPerVisitor: Math.round((after - before) / REDIS_VISITORS),
    };
  } finally {
    await deleteKeys(redis, prefix).catch(() => {});
    redis.disconnect();
  }
}
