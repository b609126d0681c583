/**
 * Share links on the live channel, on a real server (embedded shape): a realtime or board link
 * watches its own view's tiles only, with its fixed filter ANDed into each. Events stream in
 * on and off the filter while a filtered realtime link, a board link and a read client watch;
 * once the stream stops, the filtered link's numbers equal what the query model answers for
 * the same filter. Guards against: a share socket subscribing tiles outside its view; a
 * filtered link receiving anything outside its filter — whole-project tick counters, the raw
 * event sample, other screens' tiles (the feed included), presence; tiles whose live count
 * would not be the query model's answer under the filter being served anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDashboard, type Dashboard, type TileView, watchTiles } from '../server/live/live.fixtures.ts';
import { boardRequests, REALTIME_LAYOUT } from '../shared/board-tiles.ts';
import type { TileFeedEvent, TileRequest } from '../shared/live-tiles.ts';
import type { FilterTree, QueryResponse } from '../shared/query.ts';
import { CHROME_UA, post, waitUntil } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

const PASSWORD = 'share live password';
const PATHS = ['/', '/pricing', '/docs', '/pricing'];
const FILTER: FilterTree[] = [['is', 'event:path', ['/pricing']]];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let lp: TestServer;
let session: { cookie: string; csrf: string };
let projectId: string;
let writer: { clientId: string; clientSecret: string };
let read: { clientId: string; clientSecret: string };
let since: number;
let sent = 0;
const open: Dashboard[] = [];

const clientHeaders = (c: { clientId: string; clientSecret: string }) => ({ 'openpanel-client-id': c.clientId, 'openpanel-client-secret': c.clientSecret });

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${lp.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', origin: lp.url, cookie: session.cookie, 'x-livepanel-csrf': session.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function share(body: object): Promise<string> {
  const r = await call<{ token: string }>('POST', `/api/v1/projects/${projectId}/shares`, body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.token;
}

async function query(body: object): Promise<QueryResponse> {
  const r = await post(
    `${lp.url}/api/v1/query`,
    { project_id: projectId, date_range: [new Date(since).toISOString(), new Date(Date.now() + 120_000).toISOString()], ...body },
    clientHeaders(read),
  );
  expect(r.status, r.text).toBe(200);
  return r.json;
}

async function dashboard(auth: object): Promise<Dashboard> {
  const d = await connectDashboard(lp.url, auth);
  open.push(d);
  return d;
}

const subscribe = (d: Dashboard, tiles: unknown) => d.socket.timeout(10_000).emitWithAck('tiles:subscribe', { projectId, tiles } as never);

/** The realtime page's tiles, as the dashboard asks for them. */
const realtimeTiles = () => boardRequests(REALTIME_LAYOUT, 'UTC', Date.now());

/** Tiles of the realtime page a link with an event-path filter shows (the rest have no exact live count under it). */
const FILTERED_IDS = ['events-per-second', 'events', 'pages', 'countries', 'map', 'feed'];

const BOARD = {
  tiles: [
    { id: 'signups', type: 'number', metric: 'events', filters: [['is', 'event:name', ['signup']]], since: { kind: 'time', time: '00:00' } },
    { id: 'pages', type: 'top', metric: 'pageviews', dimension: 'event:path', limit: 5 },
    { id: 'who', type: 'visitors' },
  ],
};

let filtered: Dashboard;
let filteredView: TileView;
let boardShare: Dashboard;
let boardView: TileView;
let boardLayout: typeof BOARD;
let whole: Dashboard;
let wholeView: TileView;

beforeAll(async () => {
  lp = await startTestServer({ QUERY_CACHE_LIVE_TTL_MS: '0', FLUSH_INTERVAL_MS: '200', RATE_LIMITS: 'off' });
  await lp.admin('create-user', { email: 'owner@example.com', password: PASSWORD });
  const res = await fetch(`${lp.url}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: lp.url },
    body: JSON.stringify({ email: 'owner@example.com', password: PASSWORD }),
  });
  session = { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
  const orgId = (await call<{ orgs: Array<{ orgId: string }> }>('GET', '/api/auth/me')).body.orgs[0]!.orgId;
  projectId = (await call<{ projectId: string }>('POST', `/api/v1/orgs/${orgId}/projects`, { name: 'Shop', domain: 'shop.example.com' })).body.projectId;
  writer = await lp.createClient(projectId, 'write');
  read = await lp.createClient(projectId, 'read');
  const board = await call<{ id: string; layout: typeof BOARD }>('POST', `/api/v1/projects/${projectId}/boards`, { name: 'Launch', layout: BOARD });
  expect(board.status).toBe(201);
  boardLayout = board.body.layout;
  since = Date.now() - 1000;

  // Three screens: a realtime link filtered on /pricing, a board link without a filter, a read client (whole project).
  filtered = await dashboard({ share: await share({ name: 'Pricing TV', target: { kind: 'realtime' }, filter: FILTER }) });
  filteredView = await watchTiles(
    filtered,
    projectId,
    realtimeTiles().filter((t) => FILTERED_IDS.includes(t.id)),
  );
  boardShare = await dashboard({ share: await share({ name: 'Launch TV', target: { kind: 'board', id: board.body.id } }) });
  boardView = await watchTiles(boardShare, projectId, boardRequests(boardLayout as never, 'UTC', Date.now()));
  whole = await dashboard({ ...read, projectId });
  wholeView = await watchTiles(whole, projectId, realtimeTiles());

  // The stream: 30 visitors on four paths, some signups.
  for (let i = 0; i < 40; i++) {
    const events = Array.from({ length: 4 }, (_, k) => {
      const n = i * 4 + k;
      const name = n % 5 === 0 ? 'signup' : 'screen_view';
      return {
        type: 'track',
        payload: { name, properties: { __deviceId: `v${n % 30}`, __userAgent: CHROME_UA, __path: `https://shop.example.com${PATHS[n % 4]}` } },
      };
    });
    const r = await post(`${lp.url}/batch`, { events }, clientHeaders(writer));
    expect(r.status, r.text).toBe(200);
    sent += events.length;
    await sleep(25);
  }
  for (const v of [filteredView, boardView, wholeView]) await v.backfilled(60_000);
  await lp.settle();
}, 180_000);

afterAll(async () => {
  for (const d of open) d.close();
  await lp?.destroy();
});

describe('share links on the live channel', () => {
  it('a filtered realtime link counts what the query model answers for its filter', async () => {
    const [events, pages, pricingViews] = await Promise.all([
      query({ metrics: ['events'], filters: FILTER }),
      query({ metrics: ['pageviews'], dimensions: ['event:path'], filters: FILTER }),
      query({ metrics: ['pageviews'], filters: FILTER }),
    ]);
    const want = events.results[0]!.metrics[0] as number;
    expect(want).toBeGreaterThan(0);
    expect(want).toBeLessThan(sent); // the filter leaves events out
    const perMinute = () => {
      const v = filteredView.value('events') as number | undefined;
      return v ?? 0;
    };
    // Ticks of the last events may still be on their way: wait for them, then compare exactly.
    await waitUntil(() => perMinute() === want, 30_000).catch(() => {});
    expect(perMinute()).toBe(want);
    expect(filteredView.value('pages')).toEqual(Object.fromEntries(pages.results.map((r) => [r.dimensions[0], r.metrics[0]])));
    expect(pricingViews.results[0]!.metrics[0]).toBeGreaterThan(0);
    // The read client sees the whole project on the same tiles.
    await waitUntil(() => wholeView.value('events') === sent, 30_000).catch(() => {});
    expect(wholeView.value('events')).toBe(sent);
  });

  it('nothing outside the filter reaches the filtered link: no whole-project counters, sample, other tiles or presence', async () => {
    const mine = new Set([...filteredView.accepted.values()].map((a) => a.key));
    expect(filtered.ticks.length).toBeGreaterThan(0);
    for (const t of filtered.ticks) {
      expect(Object.keys(t.tiles ?? {}).every((k) => mine.has(k))).toBe(true);
      expect(t).toMatchObject({ events: {}, sessionsStarted: 0, totals: {}, pages: {}, referrers: {}, countries: {}, sample: [], geo: [] });
    }
    expect(filtered.presence).toEqual([]);
    // The feed, live and backfilled: /pricing only, and all of it.
    const feedKey = filteredView.accepted.get('feed')!.key;
    const live = filtered.ticks.flatMap((t) => (t.tiles?.[feedKey] ?? []).flatMap(([, v]) => v as TileFeedEvent[]));
    expect(live.length).toBeGreaterThan(0);
    expect(live.every((e) => e.path === '/pricing')).toBe(true);
    // The whole-project screen's ticks carried other paths on the same instants.
    const wholeFeed = wholeView.accepted.get('feed')!.key;
    expect(whole.ticks.flatMap((t) => (t.tiles?.[wholeFeed] ?? []).flatMap(([, v]) => v as TileFeedEvent[])).some((e) => e.path !== '/pricing')).toBe(true);
  });

  it('a share socket subscribes its view only; tiles its filter cannot count exactly are refused', async () => {
    const all = realtimeTiles();
    const tile = (id: string) => all.find((t) => t.id === id)!;
    // Outside the realtime page: another window, a tile of no page, the page's tile with its own filter changed.
    const outside: TileRequest[] = [
      { id: 'x', spec: { kind: 'total', metric: 'events', since: Date.now() - 60_000 } },
      { id: 'x', spec: { ...tile('pages').spec, limit: 50 } as TileRequest['spec'] },
      { id: 'x', spec: { kind: 'feed', limit: 50, filters: [['is', 'event:path', ['/']]] } },
    ];
    for (const t of outside) expect(await subscribe(filtered, [t])).toMatchObject({ ok: false, code: 'forbidden', index: 0 });
    // Under an event filter: presence and visits by source have no exact live count.
    for (const id of ['visitors.online', 'visitors.active', 'referrers', 'devices', 'campaigns']) {
      expect(await subscribe(filtered, [tile('pages'), tile(id)]), id).toMatchObject({ ok: false, code: 'invalid_query', index: 1 });
    }
    // A board link: its board's tiles, not the realtime page's.
    expect(await subscribe(boardShare, [tile('feed')])).toMatchObject({ ok: false, code: 'forbidden' });
    // The socket keeps serving after refusals.
    expect(await subscribe(filtered, [tile('pages')])).toMatchObject({ ok: true });
    // A signed-in user or API client keeps its freedom.
    expect(await subscribe(whole, outside.slice(0, 1))).toMatchObject({ ok: true });
  });

  it('a board link without a filter gets its board’s numbers and presence, and no other screen’s tiles', async () => {
    const signups = (await query({ metrics: ['events'], filters: [['is', 'event:name', ['signup']]] })).results[0]!.metrics[0] as number;
    await waitUntil(() => boardView.value('signups') === signups, 30_000).catch(() => {});
    expect(boardView.value('signups')).toBe(signups);
    await waitUntil(() => boardShare.presence.length > 0, 10_000);
    const mine = new Set([...boardView.accepted.values()].map((a) => a.key));
    for (const t of boardShare.ticks) {
      expect(Object.keys(t.tiles ?? {}).every((k) => mine.has(k))).toBe(true);
      expect(t.sample).toEqual([]);
    }
  });

  it('a realtime or board link reaches no query API (its view is its live tiles), an overview link does', async () => {
    const ask = (token: string) =>
      post(
        `${lp.url}/api/v1/query`,
        { project_id: projectId, date_range: '7d', metrics: ['visitors'], dimensions: ['profile:id'] },
        { 'x-livepanel-share': token },
      );
    const board = (await call<{ data: Array<{ id: string }> }>('GET', `/api/v1/projects/${projectId}/boards`)).body.data[0]!.id;
    expect((await ask(await share({ name: 'B', target: { kind: 'board', id: board } }))).status).toBe(403);
    expect((await ask(await share({ name: 'R', target: { kind: 'realtime' } }))).status).toBe(403);
    const overview = await share({ name: 'O', target: { kind: 'overview' } });
    expect(
      (await post(`${lp.url}/api/v1/query`, { project_id: projectId, date_range: '7d', metrics: ['visitors'] }, { 'x-livepanel-share': overview })).status,
    ).toBe(200);
  });

  it('a live link’s filter must be one each event can tell', async () => {
    const bad = await call<{ error: { code: string } }>('POST', `/api/v1/projects/${projectId}/shares`, {
      name: 'Plan',
      target: { kind: 'realtime' },
      filter: [['is', 'profile:props:plan', ['pro']]],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_query');
  });
});
