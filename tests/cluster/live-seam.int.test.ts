/**
 * Backfill without a seam, distributed shape: two `ingest` processes and one `worker,web`
 * process on the shared Redis (own prefix) and PostgreSQL (fresh database). Events stream
 * into both ingest nodes while dashboards connect to random nodes at random moments and
 * subscribe to tiles — a dashboard on an ingest node has no store, so its backfill is answered
 * by the web node through the cluster adapter, and every tile must be aggregated by every
 * ingest node. Once the stream stops, every dashboard's totals must equal what the query
 * model answers: nothing missed between backfill and ticks, nothing counted on both sides.
 * The live funnel (page view, then signup, in one visit) must be exact too, with visitors
 * whose page view reached one ingest node and whose signup reached the other, across the
 * dashboards' watermarks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, type NodeProcess, startNode } from '../../server/cluster/local-cluster.ts';
import { connectDashboard, type Dashboard, type TileView, watchTiles } from '../../server/live/live.fixtures.ts';
import { createMetadata } from '../../server/store/metadata.ts';
import { openMetadataDb } from '../../server/store/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { browserUa, createProject, type Project, sleep, startTestCluster, type TestCluster, track, visitorIp, waitFor } from './harness.ts';

let db: TestDatabase;
let testCluster: TestCluster;
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
  {
    id: 'funnel',
    spec: { kind: 'funnel', steps: [{ filters: [['is', 'event:name', ['screen_view']]] }, { filters: [['is', 'event:name', ['signup']]] }], since },
  },
];
/** Per visitor: when its first page view was acknowledged, when its first signup after it was sent. */
const visitors = new Map<string, { viewed?: number; signupSent?: number }>();
function sent(visitor: string, name: string, sentAt: number, ackedAt: number) {
  const v = visitors.get(visitor) ?? {};
  visitors.set(visitor, v);
  if (name === 'screen_view') v.viewed ??= ackedAt;
  else if (name === 'signup' && v.viewed !== undefined) v.signupSent ??= sentAt;
}

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
  testCluster = await startTestCluster({
    folder: 'lp-live-seam-',
    spare: 1,
    env: { TRUST_PROXY: 'true', LOG_LEVEL: 'warn', QUERY_CACHE_LIVE_TTL_MS: '0', RATE_LIMITS: 'off' },
  });
  ({ cluster, db } = testCluster);
  spare = testCluster.spare[0]!;
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
  await testCluster?.close();
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
        const at = Date.now();
        const r = await track(node.url, A, { ua: browserUa(lane * 10 + (i % 10)), ip: visitorIp(lane, i % 10) }, name);
        if (r.status === 200) {
          accepted++;
          sent(`${lane}/${i % 10}`, name, at, Date.now());
        }
        i++;
        await sleep(10);
      }
    });
    // Funnel visitors: a page view on one ingest node, the signup ~1 s later on the other.
    const funnelLane = (async () => {
      const due: Array<{ k: number; at: number }> = [];
      for (let k = 0; streaming || due.length > 0; k++) {
        const step = async (n: number, name: string) => {
          const at = Date.now();
          const r = await track(cluster.ingest[(n + (name === 'signup' ? 1 : 0)) % 2]!.url, A, { ua: browserUa(100 + n), ip: visitorIp(7, n) }, name);
          if (r.status === 200) {
            accepted++;
            sent(`f/${n}`, name, at, Date.now());
          }
        };
        if (streaming) {
          await step(k, 'screen_view');
          due.push({ k, at: Date.now() + 800 + Math.random() * 1200 });
        }
        while (due.length > 0 && due[0]!.at <= Date.now()) await step(due.shift()!.k, 'signup');
        await sleep(100);
      }
    })();
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
    await Promise.all([...streams, funnelLane]);
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

    // The funnel, from the stream itself: visitors who viewed a page; those who signed up after it.
    const want = [[...visitors.values()].filter((v) => v.viewed !== undefined).length, [...visitors.values()].filter((v) => v.signupSent !== undefined).length];
    expect(want[1]).toBeGreaterThan(5);
    const straddle = views.some((view) => {
      const W = view.accepted.get('funnel')!.watermark!;
      return [...visitors.entries()].some(([k, v]) => k.startsWith('f/') && v.viewed! < W && (v.signupSent ?? 0) > W);
    });
    expect(straddle, 'a visit with its page view before a watermark and its signup after it').toBe(true);
    for (const [i, v] of views.entries()) {
      await waitFor(
        async () => JSON.stringify(v.value('funnel')) === JSON.stringify(want) || undefined,
        30_000,
        () => `dashboard ${i}: funnel ${JSON.stringify(v.value('funnel'))} = ${JSON.stringify(want)}`,
      ).catch(() => {});
      expect(v.value('funnel'), `dashboard ${i}: funnel`).toEqual(want);
    }
    // A dashboard opened after the stream: the store's answer alone (its backfill) says the same.
    const late = await connectDashboard(cluster.worker.url, read);
    dashboards.push(late);
    const view = await watchTiles(late, A.projectId, tiles());
    await view.backfilled(60_000);
    expect(view.value('funnel'), 'store').toEqual(want);
  }, 300_000);

  it('an ingest node that joins later aggregates the tiles already watched', async () => {
    late = await startNode('ingest-late', { ...cluster.env, ROLE: 'ingest', PORT: String(spare), TRUST_PROXY: 'true', LOG_LEVEL: 'warn' });
    const before = views.map((v) => v.value('signups') as number); // + 7 signups below, + 3 from the funnel visits
    const funnelBefore = views.map((v) => v.value('funnel') as number[]);
    for (let i = 0; i < 7; i++) {
      expect((await track(late.url, A, { ua: browserUa(90 + i), ip: visitorIp(9, i) }, 'signup')).status).toBe(200);
    }
    // The new node joins the funnel's progress as it is (it took no rows before): a visit's page
    // view on it and signup on an older node still count at both steps.
    for (let i = 0; i < 3; i++) {
      expect((await track(late.url, A, { ua: browserUa(150 + i), ip: visitorIp(8, i) }, 'screen_view')).status).toBe(200);
      expect((await track(cluster.ingest[i % 2]!.url, A, { ua: browserUa(150 + i), ip: visitorIp(8, i) }, 'signup')).status).toBe(200);
    }
    for (const [i, v] of views.entries()) {
      await waitFor(
        async () => v.value('signups') === before[i]! + 10 || undefined,
        30_000,
        () => `dashboard ${i}: signups ${v.value('signups')} = ${before[i]! + 10}`,
      );
      const want = [funnelBefore[i]![0]! + 3, funnelBefore[i]![1]! + 3];
      await waitFor(
        async () => JSON.stringify(v.value('funnel')) === JSON.stringify(want) || undefined,
        30_000,
        () => `dashboard ${i}: funnel ${JSON.stringify(v.value('funnel'))} = ${JSON.stringify(want)}`,
      );
    }
  }, 120_000);
});
