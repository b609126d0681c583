/**
 * `tsx bench/sessions-redis.ts` — CPU per hit of the Redis session store's `touchMany` as the
 * distributed `/ws` path drives it: batches of 50 hits, each batch from one device (an SDK
 * socket), `--devices` devices in turn. Runs its own `redis-server` (no persistence, a free
 * port) so the Redis figure is this store's alone, not the shared server's other users':
 * reported are µs of CPU per hit in this process (building the call, ioredis, the reply)
 * and in Redis (the script).
 *
 *   --batches N   calls (default 20,000)
 *   --batch N     hits per call (default 50)
 *   --devices N   devices taking turns (default 8, as bench:ingest's /ws sockets)
 *   --root DIR    another checkout's store (a before/after in alternation)
 *
 * Saves bench/results/sessions-redis-<time>.json.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { blankSession, type SessionStore } from '../server/engines/sessions.ts';
import { saveResults } from './support.ts';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '50' },
    devices: { type: 'string', default: '8' },
    root: { type: 'string' },
  },
});
const ROOT = path.resolve(args.root ?? path.join(import.meta.dirname, '..'));
const { createRedisSessionStore } = (await import(path.join(ROOT, 'server/engines/sessions.redis.ts'))) as {
  createRedisSessionStore: (o: { redis: Redis; prefix: string; timeoutMs: number }) => SessionStore;
};
const BATCHES = Number(args.batches);
const BATCH = Number(args.batch);
const DEVICES = Number(args.devices);

const port = 30000 + Math.floor(Math.random() * 20000);
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 2 });
redis.on('error', () => {}); // refused until the server listens; retried below
for (let i = 0; ; i++) {
  try {
    await redis.connect();
    break;
  } catch (err) {
    if (i > 50) throw err;
    redis.disconnect();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Redis' own CPU seconds (user + system), from INFO. */
async function redisCpu(): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

try {
  const store = createRedisSessionStore({ redis, prefix: 'bench:', timeoutMs: 30 * 60_000 });
  const t0 = Date.now();
  const seed = (deviceId: string, at: number, i: number) =>
    blankSession({
      id: `s-${deviceId}-${at}`,
      projectId: 'p1',
      deviceId,
      startedAt: at,
      lastSeenAt: at,
      eventCount: 1,
      entryPath: `/w/${i}`,
      entryOrigin: 'https://bench.test',
      exitPath: `/w/${i}`,
      exitOrigin: 'https://bench.test',
      country: 'GB',
      region: 'ENG',
      city: 'London',
      os: 'Linux',
      browser: 'Chrome',
      browserVersion: '120.0.0.0',
      device: 'desktop',
    });
  const run = async (from: number, to: number) => {
    for (let b = from; b < to; b++) {
      const deviceId = `device-${b % DEVICES}`;
      const items = Array.from({ length: BATCH }, (_, i) => {
        const at = t0 + b * BATCH + i;
        return {
          deviceId,
          hit: { at, path: `/w/${i}`, origin: 'https://bench.test', profileId: '', isScreenView: false, revenue: 0 },
          seed: () => seed(deviceId, at, i),
        };
      });
      await store.touchMany('p1', items);
    }
  };
  await run(0, Math.min(1000, BATCHES)); // warm-up: scripts loaded, sessions open, code optimised
  const cpu0 = process.cpuUsage();
  const r0 = await redisCpu();
  const w0 = performance.now();
  await run(0, BATCHES);
  const wall = (performance.now() - w0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const redisSeconds = (await redisCpu()) - r0;
  const hits = BATCHES * BATCH;
  const result = {
    root: ROOT,
    batches: BATCHES,
    batch: BATCH,
    devices: DEVICES,
    hitsPerSecond: Math.round(hits / wall),
    clientUsPerHit: Math.round(((cpu.user + cpu.system) / hits) * 100) / 100,
    redisUsPerHit: Math.round(((redisSeconds * 1e6) / hits) * 100) / 100,
    loadAverage: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100),
  };
  console.log(result);
  saveResults('sessions-redis', result);
} finally {
  redis.disconnect();
  server.kill('SIGKILL');
}
