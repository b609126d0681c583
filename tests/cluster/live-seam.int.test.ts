/**
 * Backfill without a seam, distributed shape: two `ingest` processes and one `worker,web`
 * process on the shared Redis (own prefix) and PostgreSQL (fresh database). Events stream
 * into both ingest nodes while dashboards connect to random nodes at random moments and
 * subscribe to tiles — a dashboard on an ingest node has no store, so its backfill is answered
 * by the web node through the cluster adapter, and every tile must be aggregated by every
 * ingest node. Once the stream stops, every dashboard's totals must equal what the query
 * model answers: nothing missed between backfill and ticks, nothing counted on both sides.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, type NodeProcess, startLocalCluster, startNode } from '../../server/cluster/local-cluster.ts';
import { connectDashboard, type Dashboard, type TileView, watchTiles } from '../../server/live/live.fixtures.ts';
import { createMetadata } from '../../server/store/metadata.ts';
import { openMetadataDb } from '../../server/store/postgres.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { createTestRedis, type TestRedis } from '../support/redis.ts';
import { browserUa, createProject, freePorts, type Project, sleep, track, visitorIp, waitFor } from './harness.ts';

let redis: TestRedis;
let db: TestDatabase;
let dataDir: string;
let cluster: LocalCluster;
let A: Project;
let read: { clientId: string; clientSecret: string; projectId: string };
const dashboards: Dashboard[] = [];
const views: TileView[] = [];
let since: number;
let accepted = 0;
let spare: number;
let late: NodeProcess | undefined;

const tiles = () => [
  { id: 'events', spec: { kind: 'total', metric: 'events', since } },
  { id: 'signups', spec: { kind: 'total', metric: 'events', since, filters: [['is', 'event:name', ['signup']]] } },
  { id: 'visits', spec: { kind: 'total', metric: 'sessions', since } },
];

async function query(body: object): Promise<number> {
  const res = await fetch(`${cluster.worker.url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'openpanel-client-id': read.clientId, 'openpanel-client-secret': read.clientSecret },
    body: JSON.stringify({ project_id: A.projectId, date_range: [new Date(since).toISOString(), new Date(Date.now() + 120_000).toISOString()], ...body }),
  });
  if (!res.ok) throw new Error(`query: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { results: Array<{ metrics: number[] }> }).results[0]?.metrics[0] ?? 0;
}

beforeAll(async () => {
  redis = await createTestRedis();
  db = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'lp-live-seam-'));
  const [p1, p2, pw, p3] = await freePorts(4);
  spare = p3!;
  cluster = await startLocalCluster({
    redisUrl: 'redis://127.0.0.1:6379',
    redisPrefix: redis.prefix,
    databaseUrl: db.url,
    dataDir,
    ingestPorts: [p1!, p2!],
    workerPort: pw!,
    env: { TRUST_PROXY: 'true', LOG_LEVEL: 'warn', QUERY_CACHE_LIVE_TTL_MS: '0', RATE_LIMITS: 'off' },
  });
  A = await createProject(db.url, 'Seam');
  const meta = await openMetadataDb({ kind: 'postgres', url: db.url });
  try {
    read = { projectId: A.projectId, ...(await createMetadata(meta.db).createClient({ projectId: A.projectId, type: 'read', origins: [] })) };
  } finally {
    await meta.close();
  }
  since = Date.now() - 1000;
}, 120_000);

afterAll(async () => {
  for (const d of dashboards) d.close();
  await late?.stop('SIGKILL').catch(() => {});
  if (cluster) await cluster.stop().catch(() => {});
  await redis?.cleanup();
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('live tiles across processes', () => {
  it('dashboards opening on any node mid-stream end with the stored totals', async () => {
    let streaming = true;
    // Two browsers' worth of traffic per ingest node, one event per request.
    const streams = [0, 1, 2, 3].map(async (lane) => {
      let i = 0;
      while (streaming) {
        const node = cluster.ingest[lane % 2]!;
        const name = i % 5 === 0 ? 'signup' : 'screen_view';
        const r = await track(node.url, A, { ua: browserUa(lane * 10 + (i % 10)), ip: visitorIp(lane, i % 10) }, name);
        if (r.status === 200) accepted++;
        i++;
        await sleep(10);
      }
    });
    const nodes = [...cluster.ingest, cluster.worker];
    for (let d = 0; d < 6; d++) {
      await sleep(400 + Math.random() * 1200);
      const node = nodes[d % nodes.length]!;
      const dash = await connectDashboard(node.url, read);
      dashboards.push(dash);
      views.push(await watchTiles(dash, A.projectId, tiles()));
    }
    await sleep(1500);
    streaming = false;
    await Promise.all(streams);
    for (const v of views) await v.backfilled(90_000);

    const stored = await waitFor(
      async () => {
        const n = await query({ metrics: ['events'] });
        return n === accepted ? n : undefined;
      },
      60_000,
      () => `stored events = ${accepted}`,
    );
    expect(stored).toBeGreaterThan(100);
    const signups = await query({ metrics: ['events'], filters: [['is', 'event:name', ['signup']]] });
    const visits = await query({ metrics: ['sessions'] });
    for (const [i, v] of views.entries()) {
      await waitFor(
        async () => v.value('events') === stored || undefined,
        30_000,
        () => `dashboard ${i}: events ${v.value('events')} = ${stored}`,
      ).catch(() => {});
      expect(v.value('events'), `dashboard ${i}: events`).toBe(stored);
      expect(v.value('signups'), `dashboard ${i}: signups`).toBe(signups);
      expect(v.value('visits'), `dashboard ${i}: visits`).toBe(visits);
    }
    expect(new Set(views.map((v) => v.accepted.get('events')!.watermark)).size).toBeGreaterThan(1);
  }, 300_000);

  it('an ingest node that joins later aggregates the tiles already watched', async () => {
    late = await startNode('ingest-late', { ...cluster.env, ROLE: 'ingest', PORT: String(spare), TRUST_PROXY: 'true', LOG_LEVEL: 'warn' });
    const before = views.map((v) => v.value('signups') as number);
    for (let i = 0; i < 7; i++) {
      expect((await track(late.url, A, { ua: browserUa(90 + i), ip: visitorIp(9, i) }, 'signup')).status).toBe(200);
    }
    for (const [i, v] of views.entries()) {
      await waitFor(
        async () => v.value('signups') === before[i]! + 7 || undefined,
        30_000,
        () => `dashboard ${i}: signups ${v.value('signups')} = ${before[i]! + 7}`,
      );
    }
  }, 120_000);
});
