/**
 * Backfill without a seam (embedded shape): events stream in continuously while dashboards
 * connect at random moments and subscribe to tiles; each tile opens with the store's answer up
 * to its watermark and continues from ticks. Once the stream stops, every dashboard's totals
 * must equal what the query model answers for the same events — nothing missed in the gap
 * between backfill and ticks, nothing counted on both sides. The live funnel (page view, then
 * signup, in the same visit) must be exact too, with visits whose page view came before a
 * dashboard's watermark and whose signup came after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDashboard, type Dashboard, type TileView, watchTiles } from '../server/live/live.fixtures.ts';
import type { QueryResponse } from '../shared/query.ts';
import { CHROME_UA, post, waitUntil } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: { clientId: string; clientSecret: string };
const dashboards: Dashboard[] = [];
const views: TileView[] = [];
let since: number;
let sent = 0;

const headers = (c: { clientId: string; clientSecret: string }) => ({ 'openpanel-client-id': c.clientId, 'openpanel-client-secret': c.clientSecret });
const PATHS = ['/', '/pricing', '/docs', '/launch'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TILES = () => [
  { id: 'events', spec: { kind: 'total', metric: 'events', since } },
  { id: 'signups', spec: { kind: 'total', metric: 'events', since, filters: [['is', 'event:name', ['signup']]] } },
  { id: 'pages', spec: { kind: 'top', metric: 'pageviews', dimension: 'event:path', since, limit: 10 } },
  { id: 'visits', spec: { kind: 'total', metric: 'sessions', since } },
  {
    id: 'funnel',
    spec: { kind: 'funnel', steps: [{ filters: [['is', 'event:name', ['screen_view']]] }, { filters: [['is', 'event:name', ['signup']]] }], since },
  },
];
/** Per visitor: when its first page view was acknowledged, when its first signup after it was sent. */
const visitors = new Map<string, { viewed?: number; signupSent?: number }>();

async function query(body: object): Promise<QueryResponse> {
  const r = await post(
    `${server.url}/api/v1/query`,
    { project_id: project.projectId, date_range: [new Date(since).toISOString(), new Date(Date.now() + 120_000).toISOString()], ...body },
    headers(read),
  );
  expect(r.status, r.text).toBe(200);
  return r.json;
}

beforeAll(async () => {
  server = await startTestServer({ QUERY_CACHE_LIVE_TTL_MS: '0', FLUSH_INTERVAL_MS: '200' });
  project = await server.createProject('Launch', 'launch.example.com');
  read = await server.createClient(project.projectId, 'read');
  since = Date.now() - 1000;

  // The stream: a request every ~20 ms from 40 visitors, page views and some signups.
  let streaming = true;
  const stream = (async () => {
    let i = 0;
    while (streaming) {
      const events = Array.from({ length: 3 }, (_, k) => {
        const v = (i * 3 + k) % 40;
        const name = (i + k) % 7 === 0 ? 'signup' : 'screen_view';
        return {
          type: 'track',
          payload: { name, properties: { __deviceId: `v${v}`, __userAgent: CHROME_UA, __path: `https://launch.example.com${PATHS[(i + k) % 4]}` } },
        };
      });
      const sentAt = Date.now();
      const r = await post(`${server.url}/batch`, { events }, headers(project));
      expect(r.status, r.text).toBe(200);
      sent += events.length;
      for (const e of events) {
        const v = visitors.get(e.payload.properties.__deviceId) ?? {};
        visitors.set(e.payload.properties.__deviceId, v);
        if (e.payload.name === 'screen_view') v.viewed ??= Date.now();
        else if (v.viewed !== undefined) v.signupSent ??= sentAt;
      }
      i++;
      await sleep(20);
    }
  })();

  // Dashboards open at random moments while the stream runs.
  for (let d = 0; d < 6; d++) {
    await sleep(300 + Math.random() * 1200);
    const dash = await connectDashboard(server.url, { ...read, projectId: project.projectId });
    dashboards.push(dash);
    views.push(await watchTiles(dash, project.projectId, TILES()));
  }
  await sleep(1500);
  streaming = false;
  await stream;
  for (const v of views) await v.backfilled(60_000);
  await server.settle();
}, 180_000);

afterAll(async () => {
  for (const d of dashboards) d.close();
  await server?.destroy();
});

describe('backfill + ticks = store', () => {
  it('every dashboard that opened mid-stream ends with the stored totals', async () => {
    expect(sent).toBeGreaterThan(200);
    const [events, signups, visits] = await Promise.all([
      query({ metrics: ['events'] }),
      query({ metrics: ['events'], filters: [['is', 'event:name', ['signup']]] }),
      query({ metrics: ['sessions'] }),
    ]);
    const pages = await query({ metrics: ['pageviews'], dimensions: ['event:path'] });
    const byPath = Object.fromEntries(pages.results.map((r) => [r.dimensions[0], r.metrics[0]]));
    expect(events.results[0]!.metrics[0]).toBe(sent);
    // Ticks of the last events may still be on their way: wait for them, then compare exactly.
    for (const [i, v] of views.entries()) {
      await waitUntil(() => v.value('events') === sent, 30_000).catch(() => {});
      expect(v.value('events'), `dashboard ${i}: events`).toBe(sent);
      expect(v.value('signups'), `dashboard ${i}: signups`).toBe(signups.results[0]!.metrics[0]);
      expect(v.value('visits'), `dashboard ${i}: visits`).toBe(visits.results[0]!.metrics[0]);
      expect(v.value('pages'), `dashboard ${i}: pages`).toEqual(byPath);
    }
    // The dashboards opened at different moments: their watermarks differ, so the seam moved.
    expect(new Set(views.map((v) => v.accepted.get('events')!.watermark)).size).toBeGreaterThan(1);
  });

  it('the live funnel is exact across the watermark', async () => {
    // The stream's own answer: every visitor viewed a page (one visit each); those who signed up after it did both steps.
    const want = [[...visitors.values()].filter((v) => v.viewed !== undefined).length, [...visitors.values()].filter((v) => v.signupSent !== undefined).length];
    expect(want[1]).toBeGreaterThan(0);
    // Some visits straddle a watermark: page view acknowledged before it, signup sent after it.
    const straddle = views.some((view) => {
      const W = view.accepted.get('funnel')!.watermark!;
      return [...visitors.values()].some((v) => v.viewed! < W && (v.signupSent ?? 0) > W);
    });
    expect(straddle).toBe(true);
    for (const [i, v] of views.entries()) {
      await waitUntil(() => JSON.stringify(v.value('funnel')) === JSON.stringify(want), 30_000).catch(() => {});
      expect(v.value('funnel'), `dashboard ${i}: funnel`).toEqual(want);
    }
    // A dashboard opened after the stream: the store's answer alone (its backfill) says the same.
    const late = await connectDashboard(server.url, { ...read, projectId: project.projectId });
    dashboards.push(late);
    const view = await watchTiles(late, project.projectId, TILES());
    await view.backfilled(60_000);
    expect(view.value('funnel'), 'store').toEqual(want);
  });
});
