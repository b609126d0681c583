/**
 * The fault harness: the distributed shape on real processes — two `ingest` nodes and one
 * `worker,web` node on a private redis-server (AOF, `appendfsync always`) and a fresh
 * PostgreSQL database — with SDK-like clients streaming events over `/ws` (resending every
 * unacknowledged batch with the same ids after an error or a reconnect) while, at a random
 * moment of each round, one fault strikes: an ingest node SIGKILLed (and started again), the
 * worker SIGKILLed (and started again), or Redis killed and restarted. After each round the
 * stream stops, every batch ends up acknowledged, and the events stored must be exactly the
 * events acknowledged: the same count, every id distinct.
 *
 * Used by `tests/cluster/fault.int.test.ts` (a few rounds in CI) and `npm run fault -- --rounds N`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type NodeProcess, startNode } from '../../server/cluster/local-cluster.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';
import { browserUa, createProject, freePorts, type Project, ResendingSocket, sleep, visitorIp, waitFor } from './harness.ts';

export const FAULTS = ['kill-ingest', 'kill-worker', 'restart-redis'] as const;
export type Fault = (typeof FAULTS)[number];

export interface RoundResult {
  round: number;
  fault: Fault;
  /** When the fault struck, ms after the round's stream began. */
  faultAtMs: number;
  acked: number;
  stored: number;
  distinct: number;
  /** ms from the end of the stream until stored reached acked. */
  settleMs: number;
}

export interface FaultRig {
  runRound(round: number, fault: Fault, log?: (line: string) => void): Promise<RoundResult>;
  close(): Promise<void>;
}

const CLIENTS = 4;
const BATCH = 20;

export async function startFaultRig(opts: { seed?: number; echo?: boolean } = {}): Promise<FaultRig> {
  let seed = opts.seed ?? Date.now();
  const random = () => {
    // mulberry32: reproducible rounds from one seed
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const cleanups: Array<() => Promise<unknown>> = [];
  let redis: RedisServer | undefined;
  let db: TestDatabase | undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-fault-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  try {
    redis = await startRedisServer({ appendonly: true });
    cleanups.push(() => redis!.destroy());
    db = await createTestDatabase();
    cleanups.push(() => db!.drop());
    const [p1, p2, pw] = await freePorts(3);
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'lp:',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      TRUST_PROXY: '1',
      FLUSH_INTERVAL_MS: '200',
      RATE_LIMITS: 'off',
      LOG_LEVEL: 'error',
    };
    const start = {
      worker: () => startNode('worker', { ...env, ROLE: 'worker,web', PORT: String(pw) }, { echo: opts.echo }),
      ingest: (i: number) => startNode(`ingest-${i + 1}`, { ...env, ROLE: 'ingest', PORT: String(i === 0 ? p1 : p2) }, { echo: opts.echo }),
    };
    const nodes: { worker: NodeProcess; ingest: NodeProcess[] } = { worker: await start.worker(), ingest: [] };
    nodes.ingest = await Promise.all([start.ingest(0), start.ingest(1)]);
    cleanups.push(async () => {
      await Promise.all(nodes.ingest.map((n) => n.stop('SIGKILL')));
      await nodes.worker.stop('SIGKILL');
    });
    const project: Project = await createProject(db.url, 'Fault test');
    const urls = () => nodes.ingest.map((n) => n.url);

    async function kill(node: NodeProcess): Promise<void> {
      await node.stop('SIGKILL');
    }

    async function strike(fault: Fault, log: (line: string) => void): Promise<void> {
      if (fault === 'kill-ingest') {
        const i = random() < 0.5 ? 0 : 1;
        log(`SIGKILL ingest-${i + 1}`);
        await kill(nodes.ingest[i]!);
        await sleep(200 + random() * 800);
        nodes.ingest[i] = await start.ingest(i);
      } else if (fault === 'kill-worker') {
        log('SIGKILL worker');
        await kill(nodes.worker);
        await sleep(200 + random() * 800);
        nodes.worker = await start.worker();
      } else {
        log('Redis crash (SIGKILL) and restart');
        await redis!.stop('crash');
        await sleep(200 + random() * 1500);
        await redis!.start();
      }
    }

    /** `count` and distinct ids of the round's events, through the read API of the web node. */
    async function storedOf(name: string): Promise<{ count: number; distinct: number }> {
      const res = await fetch(`${nodes.worker.url}/api/v1/projects/${project.projectId}/events/count?name=${name}&distinct=id`, {
        headers: { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`count: ${res.status}`);
      return (await res.json()) as { count: number; distinct: number };
    }

    return {
      async runRound(round, fault, log = () => {}) {
        const name = `fault_r${round}`;
        const clients = Array.from(
          { length: CLIENTS },
          (_, i) =>
            new ResendingSocket({
              nodeUrls: urls,
              project,
              visitor: { ua: browserUa(round * 10 + i), ip: visitorIp(7, round * 10 + i) },
              name,
              label: `r${round}c${i}`,
              startNode: i % 2,
            }),
        );
        await Promise.all(clients.map((c) => c.connect()));
        const streamMs = 3000 + random() * 3000;
        const faultAtMs = Math.round(300 + random() * (streamMs - 600));
        const began = Date.now();
        let streaming = true;
        const pump = async (c: ResendingSocket) => {
          while (streaming) {
            await c.window(8);
            c.sendBatch(BATCH);
            await sleep(30 + random() * 40);
          }
        };
        const pumping = Promise.all(clients.map(pump));
        await sleep(faultAtMs);
        await strike(fault, log);
        const left = streamMs - (Date.now() - began);
        if (left > 0) await sleep(left);
        streaming = false;
        await pumping;
        await Promise.all(clients.map((c) => c.settled(120_000)));
        for (const c of clients) c.close();
        const acked = new Set(clients.flatMap((c) => [...c.acked]));
        const sent = new Set(clients.flatMap((c) => [...c.sent]));
        if (acked.size !== sent.size) throw new Error(`round ${round}: ${sent.size - acked.size} batches never acknowledged`);
        const settleStart = Date.now();
        let last = { count: 0, distinct: 0 };
        await waitFor(
          async () => {
            last = await storedOf(name);
            return last.count >= acked.size;
          },
          180_000,
          () => `round ${round} (${fault}): stored ${last.count} of ${acked.size} acknowledged`,
          500,
        ).catch((err) => {
          throw new Error(`${(err as Error).message}`);
        });
        // A moment more: a second insert of the same rows would land now.
        await sleep(1000);
        last = await storedOf(name);
        const result = { round, fault, faultAtMs, acked: acked.size, stored: last.count, distinct: last.distinct, settleMs: Date.now() - settleStart };
        log(JSON.stringify(result));
        return result;
      },
      async close() {
        for (const fn of cleanups.reverse()) await fn().catch(() => {});
      },
    };
  } catch (err) {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    throw err;
  }
}
