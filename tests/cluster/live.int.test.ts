/**
 * The live channel across nodes (ARCHITECTURE §6), on the shared Redis under this run's own
 * prefix: two nodes in this process, each with its own uWS app on its own port, its own Redis
 * connections, the Redis adapter and the Redis Presence engine — what two ingest processes
 * run. (app.ts does not mount the live channel yet; once it does, the same checks belong on
 * server/cluster/local-cluster.ts' real processes.)
 *
 * Guards against: ticks that stay on the node that coalesced them; presence counting only the
 * node a dashboard is on, or keeping a dead node's sockets; adapter connections left open.
 * Prints the record → dashboard latency across nodes (p50/p99); timing is not asserted here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisPresence } from '../../server/engines/presence.redis.ts';
import { connectDashboard, type Dashboard, eventsBatch, type LiveNode, startLiveNode, testClients } from '../../server/live/live.fixtures.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';

const PRESENCE_TTL_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const clients = testClients();
const run = randomBytes(3).toString('hex');
const P = `live-${run}`;
const OTHER = `live-other-${run}`;
const reader = clients.add(P, 'read');
const otherReader = clients.add(OTHER, 'read');
let redis: TestRedis;
let a: LiveNode;
let b: LiveNode;
const nodeIds = { a: `a-${run}`, b: `b-${run}` };
const open: Dashboard[] = [];
const dashboard = async (node: LiveNode, auth: unknown) => {
  const d = await connectDashboard(node.url, auth);
  open.push(d);
  return d;
};

async function startNode(nodeId: string): Promise<LiveNode> {
  const client = await redis.connect(); // one connection per "process"
  return startLiveNode({
    redis: { client, prefix: redis.prefix },
    presence: createRedisPresence({ redis: client, prefix: redis.prefix, ttlMs: PRESENCE_TTL_MS }),
    nodeId,
    heartbeatMs: 300,
    authenticateRead: clients.authenticateRead,
  });
}

beforeAll(async () => {
  redis = await createTestRedis();
  a = await startNode(nodeIds.a);
  b = await startNode(nodeIds.b);
});
afterAll(async () => {
  for (const d of open) d.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.cleanup();
});

const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

describe('live channel across nodes (Redis adapter)', () => {
  it('a dashboard on node A gets the ticks of events recorded on node B (latency measured)', async () => {
    const d = await dashboard(a, reader);
    const N = 200;
    const recordedAt = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const name = `m${i}`;
      recordedAt.set(name, Date.now());
      b.live.record(P, eventsBatch(P, 1, name));
      await sleep(5 + Math.random() * 20); // spread over the tick phase
    }
    await d.tick((t) => `m${N - 1}` in t.events, 3000);
    const fromB = d.ticks.filter((t) => t.node === nodeIds.b);
    expect(fromB.length).toBeGreaterThan(0);
    expect(d.ticks.every((t) => t.projectId === P)).toBe(true);
    // Every event recorded on B is counted exactly once on A's dashboard.
    const seen = new Map<string, number>();
    for (const t of fromB) for (const [name, n] of Object.entries(t.events)) seen.set(name, (seen.get(name) ?? 0) + n);
    expect(seen.size).toBe(N);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    const latency = fromB.flatMap((t) => Object.keys(t.events).map((name) => t.receivedAt - recordedAt.get(name)!)).sort((x, y) => x - y);
    const transit = fromB.map((t) => t.receivedAt - t.at).sort((x, y) => x - y);
    const line = (xs: number[]) => `p50 ${pct(xs, 0.5)} ms, p99 ${pct(xs, 0.99)} ms, max ${xs.at(-1)} ms`;
    console.log(`[live] record on B → dashboard on A, ${latency.length} events in ${fromB.length} ticks: ${line(latency)}`);
    console.log(`[live] tick emitted on B → received on A (Redis hop): ${line(transit)}`);
  });

  it('ticks of one project from both nodes add up; other projects stay out', async () => {
    const dA = await dashboard(a, reader);
    const dB = await dashboard(b, reader);
    const other = await dashboard(b, otherReader);
    a.live.record(P, eventsBatch(P, 3, 'both'));
    b.live.record(P, eventsBatch(P, 4, 'both'));
    for (const d of [dA, dB]) {
      await d.tick((t) => t.node === nodeIds.a && 'both' in t.events);
      await d.tick((t) => t.node === nodeIds.b && 'both' in t.events);
      const total = d.ticks.reduce((sum, t) => sum + (t.events.both ?? 0), 0);
      expect(total).toBe(7);
    }
    await sleep(300);
    expect(other.ticks).toHaveLength(0);
  });

  it('presence sums open SDK sockets over nodes, on every node, and drops a node that leaves or dies', async () => {
    const dA = await dashboard(a, reader);
    const dB = await dashboard(b, reader);
    await Promise.all([dA.online(0), dB.online(0)]);
    a.live.socketsChanged(P, 3);
    b.live.socketsChanged(P, 2);
    await Promise.all([dA.online(5), dB.online(5)]);
    b.live.socketsChanged(P, 1);
    await Promise.all([dA.online(4), dB.online(4)]);

    // A node that died without a goodbye: its report is never repeated and expires after the TTL.
    const ghost = createRedisPresence({ redis: redis.client, prefix: redis.prefix, ttlMs: PRESENCE_TTL_MS });
    await ghost.set(`ghost-${run}`, P, 10);
    await Promise.all([dA.online(14, PRESENCE_TTL_MS + 2000), dB.online(14, PRESENCE_TTL_MS + 2000)]);
    await Promise.all([dA.online(4, PRESENCE_TTL_MS + 2000), dB.online(4, PRESENCE_TTL_MS + 2000)]);

    // A node that leaves cleanly reports 0 at once: the other node's dashboards follow.
    const c = await startNode(`c-${run}`);
    c.live.socketsChanged(P, 6);
    await dA.online(10);
    const stopping = Date.now();
    await c.stop();
    await dA.online(4, 250); // told at once, not at its next heartbeat
    console.log(`[live] presence after a node stops: seen on node A after ${Date.now() - stopping} ms`);
  });

  it('survives losing its adapter connections: local dashboards keep ticking, cross-node resumes', async () => {
    const dA = await dashboard(a, reader);
    const dB = await dashboard(b, reader);
    // Cut node B's pub and sub connections (only ours, by name) as a Redis blip would.
    const list = String(await redis.client.call('CLIENT', 'LIST')).split('\n');
    const ids = list.filter((l) => l.includes(`livepanel-live-`) && l.includes(nodeIds.b)).map((l) => /\bid=(\d+)/.exec(l)![1]!);
    expect(ids).toHaveLength(2);
    for (const id of ids) await redis.client.call('CLIENT', 'KILL', 'ID', id);
    b.live.record(P, eventsBatch(P, 1, 'during-blip'));
    await dB.tick((t) => 'during-blip' in t.events); // its own dashboards never stop
    // ioredis reconnects and resubscribes; then B's ticks reach A again.
    const deadline = Date.now() + 5000;
    let i = 0;
    while (!dA.ticks.some((t) => t.node === nodeIds.b && Object.keys(t.events).some((n) => n.startsWith('after-blip')))) {
      if (Date.now() > deadline) throw new Error('node B never reached node A again');
      b.live.record(P, eventsBatch(P, 1, `after-blip-${i++}`));
      await sleep(100);
    }
    a.live.record(P, eventsBatch(P, 1, 'a-to-b'));
    await dB.tick((t) => 'a-to-b' in t.events); // and B hears A (its sub resubscribed)
  });

  it('closing a node quits the adapter’s Redis connections', async () => {
    const named = async (id: string) => {
      const list = String(await redis.client.call('CLIENT', 'LIST'));
      return list.split('\n').filter((l) => l.includes('livepanel-live-') && l.includes(id));
    };
    const d = await startNode(`d-${run}`);
    expect(await named(`d-${run}`)).toHaveLength(2); // pub + sub
    await d.stop();
    await sleep(100);
    expect(await named(`d-${run}`)).toHaveLength(0);
  });
});
