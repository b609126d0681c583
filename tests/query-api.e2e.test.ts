/**
 * The query API on a real Livepanel: visits sent through `/batch` as a server forwarding its
 * visitors would (past timestamps, browser agents, IPs), closed by the session reaper, then
 * read back with `POST /api/v1/query`: answers, auth (missing, wrong, write client, another
 * project's client), invalid queries as `400 invalid_query` with issues, the per-client rate
 * limit, the OpenAPI document, the row-level lists, and the export streaming every event as
 * NDJSON and CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryResponse } from '../shared/query.ts';
import type { EventRow } from '../shared/rows.ts';
import { CHROME_UA, IPHONE_UA, post, waitUntil } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: { clientId: string; clientSecret: string };
const DAY = Date.UTC(2024, 4, 1); // 1 May 2024
const BULK = 12_000;

const headers = (c: { clientId: string; clientSecret: string }) => ({ 'openpanel-client-id': c.clientId, 'openpanel-client-secret': c.clientSecret });
const query = (body: unknown, c = read) => post(`${server.url}/api/v1/query`, body, headers(c));
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies with toEqual/toMatchObject
const getJson = async (url: string): Promise<any> => (await fetch(url, { headers: headers(read) })).json();

/** A visit: a screen view per path, `at` minutes after 1 May 00:00 UTC, one second apart. */
function visit(device: string, at: number, paths: string[], opts: { ua?: string; ip?: string; referrer?: string; extra?: object[] } = {}) {
  const base = DAY + at * 60_000;
  const props = (i: number, path: string) => ({
    __timestamp: new Date(base + i * 1000).toISOString(),
    __path: `https://shop.example.com${path}`,
    __deviceId: device,
    __userAgent: opts.ua ?? CHROME_UA,
    __ip: opts.ip ?? '8.8.8.8',
    ...(i === 0 && opts.referrer ? { __referrer: opts.referrer } : {}),
  });
  return [...paths.map((path, i) => ({ type: 'track', payload: { name: 'screen_view', properties: props(i, path) } })), ...(opts.extra ?? [])];
}

async function send(events: unknown[]) {
  for (let i = 0; i < events.length; i += 1000) {
    const r = await post(`${server.url}/batch`, { events: events.slice(i, i + 1000) }, headers(project));
    expect(r.status, r.text).toBe(200);
    expect(r.json.accepted).toBe(Math.min(1000, events.length - i));
  }
}

beforeAll(async () => {
  server = await startTestServer({ SESSION_REAP_INTERVAL_MS: '200', QUERY_RATE_LIMIT: '60' });
  project = await server.createProject('Shop', 'shop.example.com');
  read = await server.createClient(project.projectId, 'read');
  await send([
    ...visit('dev-a', 600, ['/', '/pricing'], { referrer: 'https://www.google.com/search?q=x' }),
    ...visit('dev-b', 660, ['/'], { ua: IPHONE_UA }),
    ...visit('dev-a', 1200, ['/docs']),
  ]);
  // The reaper closes the visits (their last events are long past the 30-minute timeout).
  await waitUntil(async () => {
    await server.settle();
    const r = await fetch(`${server.url}/api/v1/projects/${project.projectId}/sessions`, { headers: headers(read) });
    return ((await r.json()) as { data: unknown[] }).data.length === 3;
  }, 30_000);
  // Bulk events for the export, on 2 May, as one server-side stream (no sessions).
  const bulk = Array.from({ length: BULK }, (_, i) => ({
    type: 'track',
    payload: {
      name: i % 3 ? 'tick' : 'tock',
      properties: { __timestamp: new Date(DAY + 86_400_000 + i * 5000).toISOString(), n: i, note: i === 7 ? 'a "quoted", multi\nline' : '' },
    },
  }));
  await send(bulk);
  await server.settle();
}, 120_000);

afterAll(async () => {
  await server?.destroy();
});

describe('POST /api/v1/query', () => {
  it('answers the query model', async () => {
    const r = await query({
      project_id: project.projectId,
      date_range: ['2024-05-01', '2024-05-01'],
      metrics: ['visitors', 'sessions', 'pageviews', 'bounce_rate'],
      compare: 'previous_period',
    });
    expect(r.status, r.text).toBe(200);
    const body = r.json as QueryResponse;
    // dev-a twice (two visits, 9.5 hours apart), dev-b once; dev-b's single view bounced, and dev-a's second visit.
    expect(body.results).toEqual([
      { dimensions: [], metrics: [2, 3, 4, 66.67], comparison: { dimensions: [], metrics: [0, 0, 0, null], change: [null, null, null, null] } },
    ]);
    expect(body.meta).toMatchObject({ timezone: 'UTC', cached: false, date_range: ['2024-05-01T00:00:00.000Z', '2024-05-02T00:00:00.000Z'] });
    const again = await query({
      project_id: project.projectId,
      date_range: ['2024-05-01', '2024-05-01'],
      metrics: ['visitors', 'sessions', 'pageviews', 'bounce_rate'],
      compare: 'previous_period',
    });
    expect(again.json.meta.cached).toBe(true);
  });

  it('breaks down by enriched dimensions', async () => {
    const r = await query({
      project_id: project.projectId,
      date_range: ['2024-05-01', '2024-05-01'],
      metrics: ['visitors'],
      dimensions: ['device:type', 'session:referrer_name'],
    });
    expect(r.json.results.map((x: { dimensions: string[]; metrics: number[] }) => [...x.dimensions, x.metrics[0]])).toEqual([
      ['desktop', '', 1],
      ['desktop', 'Google', 1],
      ['mobile', '', 1],
    ]);
  });

  it('refuses invalid queries with 400 invalid_query and the issues', async () => {
    const r = await query({ project_id: project.projectId, date_range: 'fortnight', metrics: ['visitors', 'nope'] });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_query');
    expect(r.json.error.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['date_range', 'metrics.1']));
    const semantic = await query({ project_id: project.projectId, date_range: '7d', metrics: ['conversion_rate'] });
    expect(semantic.status).toBe(400);
    expect(semantic.json.error).toMatchObject({ code: 'invalid_query', message: expect.stringMatching(/goal/) });
    expect((await query('{"project_id":')).status).toBe(400);
    expect((await query({ date_range: '7d', metrics: ['visitors'] })).json.error.code).toBe('invalid_query');
  });

  it('needs a read or root client of the project', async () => {
    const q = { project_id: project.projectId, date_range: '7d', metrics: ['visitors'] };
    expect((await post(`${server.url}/api/v1/query`, q)).status).toBe(401);
    expect((await query(q, { clientId: read.clientId, clientSecret: 'sec_wrong' })).status).toBe(401);
    const write = await server.createClient(project.projectId, 'write');
    expect((await query(q, write)).json.error.code).toBe('forbidden');
    const other = await server.createProject('Other', 'other.example.com');
    const cross = await query(q, other);
    expect(cross.status).toBe(403);
    expect(cross.json.error.code).toBe('forbidden');
    // An outsider learns nothing about the query: authorisation comes first.
    expect((await query({ ...q, metrics: ['nope'] }, other)).status).toBe(403);
  });

  it('rate-limits each client', async () => {
    const client = await server.createClient(project.projectId, 'read');
    const q = { project_id: project.projectId, date_range: '7d', metrics: ['visitors'] };
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await query(q, client)).status);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    const limited = await query(q, client);
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another client's budget is its own.
    expect((await query(q)).status).toBe(200);
  });
});

describe('row-level reads', () => {
  it('lists sessions and one session’s timeline, and property keys', async () => {
    const base = `${server.url}/api/v1/projects/${project.projectId}`;
    const sessions = (await getJson(`${base}/sessions`)).data;
    expect(sessions).toHaveLength(3);
    const first = sessions.find((s: { entry_path: string; exit_path: string }) => s.exit_path === '/pricing');
    const one = (await getJson(`${base}/sessions/${first.id}`)).data;
    expect(one.session.id).toBe(first.id);
    expect(one.events.map((e: EventRow) => `${e.name} ${e.path}`)).toEqual([
      'session_start /',
      'screen_view /',
      'screen_view /pricing',
      'session_end /pricing',
    ]);
    const missing = await fetch(`${base}/sessions/nope`, { headers: headers(read) });
    expect(missing.status).toBe(404);
    const keys = (await getJson(`${base}/property-keys?from=2024-05-02&to=2024-05-03&name=tick`)).data;
    expect(keys.map((k: { key: string }) => k.key)).toEqual(['n', 'note']);
  });
});

describe('GET /api/v1/openapi.json', () => {
  it('describes the API with schemas generated from the validators', async () => {
    const doc = await getJson(`${server.url}/api/v1/openapi.json`);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/api/v1/query'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Query' });
    expect(doc.components.schemas.Query.properties.metrics.items.anyOf[0].enum).toContain('bounce_rate');
    expect(doc.components.schemas.Query.properties.filters.items).toEqual({ $ref: '#/components/schemas/FilterTree' });
  });
});

describe('export', () => {
  const url = (q: string) => `${server.url}/api/v1/projects/${project.projectId}/export/events?${q}`;

  it('streams every event of the range as NDJSON, oldest first', async () => {
    const res = await fetch(url('from=2024-05-02&to=2024-05-02'), { headers: headers(read) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const rows = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EventRow);
    expect(rows).toHaveLength(BULK);
    expect(new Set(rows.map((r) => r.id)).size).toBe(BULK);
    expect(rows.map((r) => Number(r.properties.n))).toEqual(Array.from({ length: BULK }, (_, i) => i));
    const ticks = await fetch(url('from=2024-05-02&to=2024-05-03&name=tock'), { headers: headers(read) });
    expect((await ticks.text()).trim().split('\n')).toHaveLength(BULK / 3);
  });

  it('streams CSV when asked, quoting what needs it', async () => {
    const res = await fetch(url('from=2024-05-02T00:00:00Z&to=2024-05-02T00:01:00Z'), { headers: { ...headers(read), accept: 'text/csv' } });
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await res.text();
    const [header] = text.split('\r\n');
    expect(header!.split(',').slice(0, 3)).toEqual(['id', 'project_id', 'name']);
    // 12 events in the first minute (one per 5 s), one of them with a quoted, multi-line note.
    expect(text).toContain('"{""n"":""7"",""note"":""a \\""quoted\\"", multi\\nline""}"');
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(1 + 12);
  });

  it('arrives in pieces, and a client that leaves mid-way stops it without harm', async () => {
    const res = await fetch(url('from=2024-05-02&to=2024-05-02'), { headers: headers(read) });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(first.value!.byteLength).toBeGreaterThan(0);
    await reader.cancel(); // the server stops reading pages; the next export is whole
    const again = await fetch(url('from=2024-05-02&to=2024-05-02'), { headers: headers(read) });
    expect((await again.text()).trim().split('\n')).toHaveLength(BULK);
  });

  it('refuses bad ranges and strangers', async () => {
    expect((await fetch(url('from=2024-05-03&to=2024-05-02'), { headers: headers(read) })).status).toBe(400);
    expect((await fetch(url('from=yesterday'), { headers: headers(read) })).status).toBe(400);
    expect((await fetch(url('from=2024-05-02&to=2024-05-03'))).status).toBe(401);
  });
});
