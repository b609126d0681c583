/**
 * Bad input on `POST /track` and `POST /batch`, end to end: every refusal answers its
 * documented status, a stable error code and message; none of it is stored; the process
 * keeps serving; and valid events sent at the same time — concurrently, or in the same
 * batch beside invalid ones — are stored. Also CORS, bots, clock skew and server-side events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, CHROME_UA, chMs, GOOGLEBOT_UA, post, type RawResponse, type Reader, reader } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let read: Reader;
let track: string;
let batch: string;
/** Headers of a server SDK holding the root client's secret, forwarding a browser agent. */
let secret: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  project = await server.createProject('Bad input', 'example.com');
  read = reader(server.url, project.projectId, project, server.settle);
  track = `${server.url}/track`;
  batch = `${server.url}/batch`;
  secret = { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret, 'user-agent': CHROME_UA };
});

afterAll(async () => {
  await server?.destroy();
});

const ev = (name: string, properties: Record<string, unknown> = {}) => ({ type: 'track', payload: { name, properties } });
const error = (code: string, message: string) => ({ error: { code, message } });

/** Asserts status and error body, and that the answer is JSON. */
function refused(r: RawResponse, status: number, code: string, message: string) {
  expect({ status: r.status, body: r.json }).toMatchObject({ status, body: error(code, message) });
  expect(r.headers.get('content-type')).toBe('application/json');
}

function deepProps(levels: number): Record<string, unknown> {
  let p: Record<string, unknown> = { leaf: 'x' };
  for (let i = 1; i < levels; i++) p = { n: p };
  return p;
}
const manyProps = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

describe('each bad request answers its status, code and message, and stores nothing', () => {
  let disabled: { clientId: string; clientSecret: string };
  let noOrigins: { clientId: string; clientSecret: string };
  let readOnly: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    disabled = await server.createClient(project.projectId, 'write');
    await admin(server.dataDir, 'disable-client', { client: disabled.clientId });
    noOrigins = await server.createClient(project.projectId, 'write');
    readOnly = await server.createClient(project.projectId, 'read');
  });

  // [label, endpoint, body, headers (secret by default), status, code, message]
  type Case = [string, 'track' | 'batch', unknown, Record<string, string> | undefined, number, string, string];
  const invalidEvent = 'Event does not match the protocol';
  const cases = (): Case[] => [
    ['malformed JSON', 'track', '{"type":"track","payload":{"name":"bad"', undefined, 400, 'invalid_json', 'Body is not valid JSON'],
    ['malformed JSON', 'batch', '{"events":[', undefined, 400, 'invalid_json', 'Body is not valid JSON'],
    ['empty body', 'track', '', undefined, 400, 'invalid_json', 'Body is not valid JSON'],
    [
      'invalid UTF-8',
      'track',
      Buffer.from('{"type":"track","payload":{"name":"bad\xff"}}', 'latin1'),
      undefined,
      400,
      'invalid_utf8',
      'Body is not valid UTF-8',
    ],
    [
      'invalid UTF-8',
      'batch',
      Buffer.from('{"events":[{"type":"track","payload":{"name":"bad\xfe"}}]}', 'latin1'),
      undefined,
      400,
      'invalid_utf8',
      'Body is not valid UTF-8',
    ],
    ['wrong types', 'track', { type: 'track', payload: { name: 42, properties: 'x' } }, undefined, 400, 'invalid_event', invalidEvent],
    ['missing name', 'track', { type: 'track', payload: { properties: { a: 1 } } }, undefined, 400, 'invalid_event', invalidEvent],
    ['missing payload', 'track', { type: 'track' }, undefined, 400, 'invalid_event', invalidEvent],
    ['identify without profileId', 'track', { type: 'identify', payload: { email: 'bad@example.com' } }, undefined, 400, 'invalid_event', invalidEvent],
    ['unknown type alias', 'track', { type: 'alias', payload: { profileId: 'bad', alias: 'bad2' } }, undefined, 400, 'invalid_event', invalidEvent],
    ['JSON null', 'track', 'null', undefined, 400, 'invalid_event', invalidEvent],
    ['events not a list', 'batch', { events: 'bad' }, undefined, 400, 'invalid_body', 'Expected {"events":[…]} with 1 to 1000 events'],
    ['no events', 'batch', { events: [] }, undefined, 400, 'invalid_body', 'Expected {"events":[…]} with 1 to 1000 events'],
    [
      '1001 events',
      'batch',
      { events: Array.from({ length: 1001 }, () => ev('bad')) },
      undefined,
      400,
      'invalid_body',
      'Expected {"events":[…]} with 1 to 1000 events',
    ],
    ['too deep', 'track', ev('bad', deepProps(9)), undefined, 400, 'too_deep', 'Properties nest deeper than 8 levels (at "n.n.n.n.n.n.n.n")'],
    ['too many properties', 'track', ev('bad', manyProps(501)), undefined, 400, 'too_many_properties', 'More than 500 properties once flattened'],
    ['no client id', 'track', ev('bad'), { 'user-agent': CHROME_UA }, 401, 'missing_client_id', 'Send the client id in the openpanel-client-id header'],
    [
      'no client id',
      'batch',
      { events: [ev('bad')] },
      { 'user-agent': CHROME_UA },
      401,
      'missing_client_id',
      'Send the client id in the openpanel-client-id header',
    ],
    ['unknown client id', 'track', ev('bad'), { 'openpanel-client-id': '0b7e3c1a-5d2f-4e8b-9a6c-1f2e3d4c5b6a' }, 401, 'unknown_client', 'Unknown client id'],
    [
      'unknown client id',
      'batch',
      { events: [ev('bad')] },
      { 'openpanel-client-id': '0b7e3c1a-5d2f-4e8b-9a6c-1f2e3d4c5b6a' },
      401,
      'unknown_client',
      'Unknown client id',
    ],
    ['non-UUID client id', 'track', ev('bad'), { 'openpanel-client-id': 'my-client' }, 401, 'unknown_client', 'Unknown client id'],
    [
      'disabled client',
      'track',
      ev('bad'),
      { 'openpanel-client-id': disabled.clientId, 'openpanel-client-secret': disabled.clientSecret },
      401,
      'client_disabled',
      'This client is disabled',
    ],
    [
      'disabled client',
      'batch',
      { events: [ev('bad')] },
      { 'openpanel-client-id': disabled.clientId, origin: 'https://example.com' },
      401,
      'client_disabled',
      'This client is disabled',
    ],
    [
      'wrong origin',
      'track',
      ev('bad'),
      { 'openpanel-client-id': project.clientId, origin: 'https://evil.example.org', 'user-agent': CHROME_UA },
      401,
      'origin_not_allowed',
      'Origin https://evil.example.org is not allowed for this client',
    ],
    [
      'no origin, no secret',
      'track',
      ev('bad'),
      { 'openpanel-client-id': project.clientId, 'user-agent': CHROME_UA },
      401,
      'origin_not_allowed',
      'Origin (none) is not allowed for this client',
    ],
    [
      'secret required',
      'track',
      ev('bad'),
      { 'openpanel-client-id': noOrigins.clientId, origin: 'https://example.com', 'user-agent': CHROME_UA },
      401,
      'secret_required',
      'This client has no allowed origins: send its secret',
    ],
    [
      'bad secret',
      'track',
      ev('bad'),
      { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': 'sec_guess' },
      401,
      'bad_secret',
      'Client secret does not match',
    ],
    [
      'bad secret',
      'batch',
      { events: [ev('bad')] },
      { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': 'sec_guess' },
      401,
      'bad_secret',
      'Client secret does not match',
    ],
    [
      'bad secret in the body',
      'track',
      { ...ev('bad'), clientId: project.clientId, clientSecret: 'sec_guess' },
      { 'user-agent': CHROME_UA },
      401,
      'bad_secret',
      'Client secret does not match',
    ],
    // 401 rather than 403: OpenPanel's SDK retries every status but 401 three times.
    [
      'read client writing',
      'track',
      ev('bad'),
      { 'openpanel-client-id': readOnly.clientId, 'openpanel-client-secret': readOnly.clientSecret },
      401,
      'forbidden',
      'A read client cannot send events',
    ],
    [
      'read client writing',
      'batch',
      { events: [ev('bad')] },
      { 'openpanel-client-id': readOnly.clientId, 'openpanel-client-secret': readOnly.clientSecret },
      401,
      'forbidden',
      'A read client cannot send events',
    ],
    // MAX_EVENT_BYTES (64 KiB): one event over it is refused even though the body limit is 1 MiB.
    ['event over MAX_EVENT_BYTES', 'track', ev('bad', { blob: 'x'.repeat(70_000) }), undefined, 413, 'payload_too_large', 'Event larger than 65536 bytes'],
    ['oversized body', 'track', ev('bad', { blob: 'x'.repeat(1024 * 1024) }), undefined, 413, 'payload_too_large', 'Body larger than 1048576 bytes'],
    [
      'oversized body',
      'batch',
      { events: [ev('bad', { blob: 'x'.repeat(1024 * 1024) })] },
      undefined,
      413,
      'payload_too_large',
      'Body larger than 1048576 bytes',
    ],
  ];

  it('answers every case, while valid events sent at the same time are all stored', async () => {
    const all = cases();
    const valid = Array.from({ length: 40 }, (_, i) => ev('good_concurrent', { i }));
    const [answers, goods] = await Promise.all([
      Promise.all(all.map(([, endpoint, body, headers]) => post(endpoint === 'track' ? track : batch, body, headers ?? secret))),
      Promise.all(valid.map((body) => post(track, body, secret))),
    ]);
    all.forEach(([label, endpoint, , , status, code, message], i) => {
      const r = answers[i]!;
      expect({ case: `${label} (${endpoint})`, status: r.status, body: r.json }).toMatchObject({ status, body: error(code, message) });
    });
    expect(goods.map((g) => g.status)).toEqual(valid.map(() => 200));
    expect(await read.countDistinct('good_concurrent')).toEqual({ count: 40, distinct: 40 });
    expect(await read.count('bad')).toBe(0);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('lists which fields are wrong', async () => {
    const r = await post(track, { type: 'track', payload: { name: 42, properties: 'x' } }, secret);
    refused(r, 400, 'invalid_event', invalidEvent);
    expect(r.json.error.issues.map((i: { path: string }) => i.path)).toEqual(['payload.name', 'payload.properties']);
  });

  it('refuses a body over the limit that declares no length (chunked) too', async () => {
    const chunks = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"type":"track","payload":{"name":"bad","properties":{"blob":"'));
        for (let i = 0; i < 17; i++) c.enqueue(new TextEncoder().encode('x'.repeat(64 * 1024)));
        c.enqueue(new TextEncoder().encode('"}}}'));
        c.close();
      },
    });
    const res = await fetch(track, { method: 'POST', headers: { 'content-type': 'application/json', ...secret }, body: chunks, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(error('payload_too_large', 'Body larger than 1048576 bytes'));
    expect(await read.count('bad')).toBe(0);
  });
});

describe('/batch with valid and invalid events side by side', () => {
  it('stores the valid ones and reports the others by index', async () => {
    const r = await post(
      batch,
      {
        events: [
          { id: 'b-0', ...ev('good_batch', { i: 0 }) },
          { id: 'b-1', type: 'track', payload: {} },
          { id: 'b-2', ...ev('good_batch', { i: 2 }) },
          { id: 'b-3', type: 'alias', payload: { profileId: 'x', alias: 'y' } },
          { id: 'b-4', ...ev('bad', deepProps(9)) },
          { id: 'b-5', ...ev('bad', manyProps(501)) },
          { id: '', ...ev('bad') },
          { id: 'b-7', ...ev('bad_bot', { __userAgent: GOOGLEBOT_UA }) },
          { id: 'b-8', type: 'identify', payload: { profileId: 'batch-user', firstName: 'Bo' } },
          'not an event',
          { id: 'b-10', ...ev('bad', { blob: 'x'.repeat(70_000) }) },
        ],
      },
      secret,
    );
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      accepted: 3,
      rejected: [
        { index: 1, code: 'invalid_event', message: 'Event does not match the protocol' },
        { index: 3, code: 'invalid_event', message: 'Event does not match the protocol' },
        { index: 4, code: 'too_deep', message: 'Properties nest deeper than 8 levels (at "n.n.n.n.n.n.n.n")' },
        { index: 5, code: 'too_many_properties', message: 'More than 500 properties once flattened' },
        { index: 6, code: 'invalid_event', message: 'Event id must be a string of 1 to 64 characters' },
        { index: 9, code: 'invalid_event', message: 'Event does not match the protocol' },
        { index: 10, code: 'payload_too_large', message: 'Event larger than 65536 bytes' },
      ],
      dropped: [{ index: 7, reason: 'bot' }],
    });
    expect(await read.count('good_batch')).toBe(2);
    expect(await read.count('bad_bot')).toBe(0);
    expect((await read.profile('batch-user')).first_name).toBe('Bo');
  });

  it('answers 400 when nothing in the batch was valid, and still reports each event', async () => {
    const r = await post(batch, { events: [{ type: 'track', payload: {} }, { type: 'nope' }] }, secret);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      accepted: 0,
      rejected: [
        { index: 0, code: 'invalid_event', message: 'Event does not match the protocol' },
        { index: 1, code: 'invalid_event', message: 'Event does not match the protocol' },
      ],
      dropped: [],
    });
  });
});

describe('CORS', () => {
  it('answers the preflight with 204, the allow headers and a max-age', async () => {
    const asked = 'content-type,openpanel-client-id,openpanel-sdk-name,openpanel-sdk-version';
    const res = await fetch(track, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': asked },
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe(asked);
    expect(res.headers.get('access-control-max-age')).toBe('86400');
    expect(res.headers.get('vary')).toBe('Origin');

    const b = await fetch(batch, { method: 'OPTIONS', headers: { origin: 'https://example.com', 'access-control-request-method': 'POST' } });
    expect(b.status).toBe(204);
    expect(b.headers.get('access-control-allow-headers')).toBe(
      'content-type, openpanel-client-id, openpanel-client-secret, openpanel-sdk-name, openpanel-sdk-version',
    );
  });

  it('puts Access-Control-Allow-Origin on successes and on refusals', async () => {
    const browser = { 'openpanel-client-id': project.clientId, origin: 'https://www.example.com', 'user-agent': CHROME_UA };
    const ok = await post(track, ev('good_cors'), browser);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(ok.headers.get('vary')).toBe('Origin');
    const no = await post(track, ev('bad'), { ...browser, origin: 'https://evil.example.org' });
    refused(no, 401, 'origin_not_allowed', 'Origin https://evil.example.org is not allowed for this client');
    expect(no.headers.get('access-control-allow-origin')).toBe('https://evil.example.org');
    const bad = await post(track, '{', browser);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    const batchOk = await post(batch, { events: [ev('good_cors')] }, browser);
    expect(batchOk.status).toBe(200);
    expect(batchOk.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(await read.count('good_cors')).toBe(2);
  });
});

describe('bots, clocks and server-side events', () => {
  it('answers a crawler 202 and stores nothing', async () => {
    const fromPage = await post(track, ev('bad_bot'), { 'openpanel-client-id': project.clientId, origin: 'https://example.com', 'user-agent': GOOGLEBOT_UA });
    expect(fromPage.status).toBe(202);
    expect(fromPage.json).toEqual({ dropped: 'bot' });
    // A backend forwarding a crawler's agent is checked the same way.
    const forwarded = await post(track, ev('bad_bot', { __userAgent: GOOGLEBOT_UA }), secret);
    expect(forwarded.status).toBe(202);
    expect(await read.count('bad_bot')).toBe(0);
  });

  it('replaces a client time more than a minute ahead, and keeps past and slightly-ahead ones', async () => {
    const before = Date.now();
    const ahead = new Date(before + 3_600_000).toISOString();
    const past = '2026-01-15T08:30:00.250Z';
    const slightlyAhead = new Date(before + 20_000);
    const send = (name: string, ts: string) => post(track, ev(name, { __timestamp: ts }), secret);
    expect((await send('clock_future', ahead)).status).toBe(200);
    expect((await send('clock_past', past)).status).toBe(200);
    expect((await send('clock_skewed', slightlyAhead.toISOString())).status).toBe(200);
    const after = Date.now();
    const events = await read.events(200);
    const at = (name: string) => chMs(events.find((e) => e.name === name)!.created_at);
    expect(at('clock_future')).toBeGreaterThanOrEqual(before);
    expect(at('clock_future')).toBeLessThanOrEqual(after);
    expect(at('clock_past')).toBe(Date.parse(past));
    expect(at('clock_skewed')).toBe(slightlyAhead.getTime());
  });

  it('ignores __ip and __userAgent from a browser client: only the secret may say who the visitor is', async () => {
    const browser = { 'openpanel-client-id': project.clientId, origin: 'https://example.com', 'user-agent': CHROME_UA };
    const r = await post(track, ev('good_forged', { __ip: '8.8.8.8', __userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)' }), browser);
    expect(r.status).toBe(200);
    const e = (await read.events(200)).find((x) => x.name === 'good_forged')!;
    // 127.0.0.1 is not public: no place. The request's own agent: Chrome on Windows.
    expect(e).toMatchObject({ country: '', city: '', latitude: null, os: 'Windows', browser: 'Chrome', properties: {} });
  });

  it('gives server-side events (a bare `node` agent) no session', async () => {
    const server_ = { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': project.clientSecret, 'user-agent': 'node' };
    const r = await post(track, { type: 'track', payload: { name: 'server_job', profileId: 'srv-user', properties: { job: 'nightly' } } }, server_);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ deviceId: 'srv-user', sessionId: '' });
    const anon = await post(track, ev('server_job'), server_);
    expect(anon.json.sessionId).toBe('');
    const events = (await read.events(200)).filter((e) => e.device_id === 'srv-user' || e.name === 'server_job');
    expect(events.map((e) => e.name).sort()).toEqual(['server_job', 'server_job']); // no session_start
    for (const e of events) {
      expect(e).toMatchObject({ session_id: '', device: 'server', os: '', browser: '', country: '', city: '', latitude: null });
    }
    expect(events.find((e) => e.profile_id === 'srv-user')?.device_id).toBe('srv-user');
  });
});

describe('credentials in the body', () => {
  it('accepts clientId and clientSecret in the body, as some OpenPanel setups send them', async () => {
    const r = await post(track, { ...ev('good_body_auth'), clientId: project.clientId, clientSecret: project.clientSecret }, { 'user-agent': CHROME_UA });
    expect(r.status).toBe(200);
    expect(await read.count('good_body_auth')).toBe(1);
  });
});

describe('read API refusals', () => {
  it('answers each refusal with its status and code', async () => {
    const writer = await server.createClient(project.projectId, 'write', ['https://example.com']);
    const other = await server.createProject('Other', 'other.example.com');
    const get = async (path: string, headers: Record<string, string>) => {
      const res = await fetch(`${server.url}/api/v1/projects/${project.projectId}${path}`, { headers });
      return { status: res.status, body: await res.json() };
    };
    const creds = (c: { clientId: string; clientSecret: string }) => ({ 'openpanel-client-id': c.clientId, 'openpanel-client-secret': c.clientSecret });
    expect(await get('/events/count', { 'openpanel-client-id': project.clientId })).toEqual({
      status: 401,
      body: error('bad_secret', 'Reading needs the client id and secret'),
    });
    expect(await get('/events/count', creds(writer))).toEqual({ status: 403, body: error('forbidden', 'A write client cannot read') });
    expect(await get('/events/count', creds(other))).toEqual({ status: 403, body: error('forbidden', 'This client belongs to another project') });
    expect(await get('/events?limit=0', creds(project))).toMatchObject({ status: 400, body: { error: { code: 'invalid_body' } } });
    expect(await get('/events/count?distinct=name', creds(project))).toMatchObject({ status: 400, body: { error: { code: 'invalid_body' } } });
    expect(await get('/profiles/%E0%A4%A', creds(project))).toEqual({ status: 400, body: error('invalid_body', 'Malformed percent-escape in the path') });
    expect(await get('/groups/none', creds(project))).toEqual({ status: 404, body: error('not_found', 'No group "none" in this project') });
  });
});

describe('after all of it', () => {
  it('stored exactly the valid events, and still serves', async () => {
    const events = await read.events(1000);
    expect(events.filter((e) => e.name.startsWith('bad'))).toEqual([]);
    const counted = new Map<string, number>();
    for (const e of events) counted.set(e.name, (counted.get(e.name) ?? 0) + 1);
    counted.delete('session_start');
    expect(Object.fromEntries(counted)).toEqual({
      good_concurrent: 40,
      good_batch: 2,
      good_cors: 2,
      clock_future: 1,
      clock_past: 1,
      clock_skewed: 1,
      server_job: 2,
      good_body_auth: 1,
      good_forged: 1,
    });
    const r = await post(track, ev('still_serving'), secret);
    expect(r.status).toBe(200);
  });
});
