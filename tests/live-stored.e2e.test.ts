/**
 * Live and stored agree: a dashboard watches the live channel while a known stream of visits
 * arrives over `/batch`; the session reaper closes the visits (their `session_end` events
 * must reach the ticks too); then what the dashboard added up from ticks — the numbers the
 * realtime page shows — must equal what `POST /api/v1/query` answers for the same minutes:
 * events, page views, visits and revenue, page views per path, visits per source and events
 * per country.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDashboard, type Dashboard } from '../server/live/live.fixtures.ts';
import type { LiveTick } from '../shared/live.ts';
import type { QueryResponse } from '../shared/query.ts';
import { CHROME_UA, IPHONE_UA, post, waitUntil } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: { clientId: string; clientSecret: string };
let dashboard: Dashboard;
let from: number;
let to: number;

const headers = (c: { clientId: string; clientSecret: string }) => ({ 'openpanel-client-id': c.clientId, 'openpanel-client-secret': c.clientSecret });

/** 12 visitors: mixed agents, places, sources and paths; every third buys something. */
function stream() {
  const ips = ['8.8.8.8', '1.1.1.1', '81.2.69.160', '2.16.0.1'];
  const refs = ['', 'https://www.google.com/search?q=a', 'https://news.ycombinator.com/item?id=1', 'https://twitter.com/x'];
  const paths = ['/', '/pricing', '/docs', '/blog/launch'];
  const events: unknown[] = [];
  for (let v = 0; v < 12; v++) {
    const common = { __deviceId: `visitor-${v}`, __userAgent: v % 2 ? IPHONE_UA : CHROME_UA, __ip: ips[v % ips.length] };
    for (let p = 0; p <= v % 3; p++) {
      const props = {
        ...common,
        __path: `https://shop.example.com${paths[(v + p) % paths.length]}`,
        ...(p === 0 && refs[v % 4] ? { __referrer: refs[v % 4] } : {}),
      };
      events.push({ type: 'track', payload: { name: 'screen_view', properties: props } });
    }
    if (v % 3 === 0) events.push({ type: 'track', payload: { name: 'purchase', properties: { ...common, __revenue: 1000 + v } } });
  }
  return events;
}

/** What the dashboard has added up from every tick so far. */
function added(ticks: LiveTick[]) {
  const sum = (pick: (t: LiveTick) => Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const t of ticks) for (const [k, n] of Object.entries(pick(t))) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  return {
    totals: sum((t) => t.totals),
    names: sum((t) => t.events),
    pages: sum((t) => t.pages),
    referrers: sum((t) => t.referrers),
    countries: sum((t) => t.countries),
  };
}

async function query(body: object): Promise<QueryResponse> {
  const r = await post(
    `${server.url}/api/v1/query`,
    { project_id: project.projectId, date_range: [new Date(from).toISOString(), new Date(to).toISOString()], ...body },
    headers(read),
  );
  expect(r.status, r.text).toBe(200);
  return r.json;
}
const asMap = (r: QueryResponse) => Object.fromEntries(r.results.filter((x) => x.dimensions[0] !== '').map((x) => [x.dimensions[0], x.metrics[0]]));

beforeAll(async () => {
  server = await startTestServer({ SESSION_TIMEOUT_MS: '2000', SESSION_REAP_INTERVAL_MS: '200', QUERY_CACHE_LIVE_TTL_MS: '0' });
  project = await server.createProject('Shop', 'shop.example.com');
  read = await server.createClient(project.projectId, 'read');
  dashboard = await connectDashboard(server.url, { ...read, projectId: project.projectId });
  from = Date.now() - 1000;
  const r = await post(`${server.url}/batch`, { events: stream() }, headers(project));
  expect(r.json.accepted).toBe(stream().length);
  // Every visit ends (2 s without events) and its session_end reaches the dashboard.
  await waitUntil(() => (added(dashboard.ticks).names.session_end ?? 0) === 12, 60_000);
  await server.settle();
  to = Date.now() + 60_000;
}, 180_000);

afterAll(async () => {
  dashboard?.close();
  await server?.destroy();
});

describe('the realtime totals equal the query model for the same minutes', () => {
  it('totals: events, page views, visits, revenue', async () => {
    const live = added(dashboard.ticks);
    const stored = await query({ metrics: ['events', 'pageviews', 'sessions', 'revenue'] });
    expect([live.totals.events, live.totals.pageviews, live.totals.sessions, live.totals.revenue]).toEqual(stored.results[0]!.metrics);
    // Known by construction: 24 page views + 4 purchases; 12 visits; 1000+1003+1006+1009.
    expect(stored.results[0]!.metrics).toEqual([28, 24, 12, 4018]);
    // Every visit started and ended, and both reached the dashboard.
    expect(live.names).toMatchObject({ session_start: 12, session_end: 12, screen_view: 24, purchase: 4 });
  });

  it('breakdowns: page views by path, visits by source, events by country', async () => {
    const live = added(dashboard.ticks);
    expect(live.pages).toEqual(asMap(await query({ metrics: ['pageviews'], dimensions: ['event:path'] })));
    expect(live.referrers).toEqual(asMap(await query({ metrics: ['sessions'], dimensions: ['session:referrer_name'] })));
    expect(Object.keys(live.referrers)).toHaveLength(3);
    const countries = asMap(await query({ metrics: ['events'], dimensions: ['geo:country'] }));
    expect(live.countries).toEqual(countries);
    expect(Object.keys(countries).length).toBeGreaterThan(1);
  });
});
