/**
 * Rate limits on every surface of one embedded server, with small budgets so each limit is
 * reached deterministically (budgets refill over an hour: nothing comes back during the test).
 * Each case sends from its own visitor address (TRUST_PROXY=1, X-Forwarded-For), so the
 * per-IP budgets of one case never touch another's.
 *
 * Guards against what was reproduced before limits existed: 3,000 `/track` from one client
 * and IP in 1.5 s all answered 200, and 1,000 wrong-secret read API calls all answered 401.
 */
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, CHROME_UA, post, type RawResponse, reader } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';
import { connectWs, openWs, WsClient } from './support/ws-client.ts';

const ORIGIN = 'https://example.com';
let server: TestServer;
let project: { projectId: string; clientId: string; clientSecret: string };
let visitor = 0;
/** A fresh visitor address per call: its own per-IP budgets. */
const nextIp = () => `198.51.100.${++visitor}`;

beforeAll(async () => {
  server = await startTestServer({
    TRUST_PROXY: '1',
    RATE_LIMIT_BROWSER_EVENTS: '100/1h',
    RATE_LIMIT_SERVER_EVENTS: '400/1h',
    RATE_LIMIT_SOCKET_FRAMES: '20/1h',
    RATE_LIMIT_WS_CONNECTS: '5/1h',
    RATE_LIMIT_LIVE_CONNECTS: '3/1h',
    RATE_LIMIT_AUTH_FAILURES: '10/1h',
    RATE_LIMIT_READ: '20/1h',
  });
  project = await server.createProject('Limits', 'example.com');
});

afterAll(async () => {
  await server?.destroy();
});

function track(ip: string, name: string, extra: Record<string, string> = {}): Promise<RawResponse> {
  return post(
    `${server.url}/track`,
    { type: 'track', payload: { name, properties: { __path: `${ORIGIN}/p` } } },
    { origin: ORIGIN, 'user-agent': CHROME_UA, 'x-forwarded-for': ip, 'openpanel-client-id': project.clientId, ...extra },
  );
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('/track and /batch', () => {
  it('refuses a browser address past its budget with 429, Retry-After and rate_limited; stores only what it accepted', async () => {
    const ip = nextIp();
    const statuses: Record<number, number> = {};
    let refusal: RawResponse | undefined;
    // 300 requests, 20 at a time, from one visitor address (the attack was 3,000 in 1.5 s).
    for (let i = 0; i < 300; i += 20) {
      const rs = await Promise.all(Array.from({ length: 20 }, () => track(ip, 'flood')));
      for (const r of rs) {
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 429) refusal = r;
      }
    }
    expect(statuses[200]).toBe(100);
    expect(statuses[429]).toBe(200);
    expect(refusal!.json).toMatchObject({ error: { code: 'rate_limited' } });
    expect(refusal!.json.error.retryAfterMs).toBeGreaterThan(0);
    expect(Number(refusal!.headers.get('retry-after'))).toBeGreaterThan(0);
    // A browser can read the 429 and its Retry-After.
    expect(refusal!.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(refusal!.headers.get('access-control-expose-headers')).toContain('retry-after');
    // Another visitor of the same site is not affected.
    expect((await track(nextIp(), 'flood')).status).toBe(200);
    const read = reader(server.url, project.projectId, project, server.settle);
    expect(await read.count('flood')).toBe(101);
    expect(await metric('livepanel_rate_limited_total', 'limit="browser-events"')).toBeGreaterThanOrEqual(200);
  });

  it('counts a /batch by its events, at once', async () => {
    const ip = nextIp();
    const headers = { origin: ORIGIN, 'user-agent': CHROME_UA, 'x-forwarded-for': ip, 'openpanel-client-id': project.clientId };
    const batch = (n: number, tag: string) => ({ events: Array.from({ length: n }, (_, i) => ({ id: `${tag}-${i}`, type: 'track', payload: { name: 'b' } })) });
    expect((await post(`${server.url}/batch`, batch(70, `${ip}-a`), headers)).status).toBe(200);
    const refused = await post(`${server.url}/batch`, batch(40, `${ip}-b`), headers);
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe('rate_limited');
    expect((await post(`${server.url}/batch`, batch(30, `${ip}-c`), headers)).status).toBe(200);
  });

  it('counts secret-authorised clients per client, at their own (higher) rate, whatever their address', async () => {
    const server2 = await admin<{ clientId: string; clientSecret: string }>(server.dataDir, 'create-client', { project: project.projectId, type: 'write' });
    const headers = (ip: string) => ({ 'x-forwarded-for': ip, 'openpanel-client-id': server2.clientId, 'openpanel-client-secret': server2.clientSecret });
    const batch = (n: number) => ({ events: Array.from({ length: n }, () => ({ type: 'track', payload: { name: 'srv' } })) });
    // 300 events from one address: past the browser budget (100) but within the server one (400).
    for (let i = 0; i < 3; i++) expect((await post(`${server.url}/batch`, batch(100), headers(nextIp()))).status).toBe(200);
    expect((await post(`${server.url}/batch`, batch(100), headers(nextIp()))).status).toBe(200);
    const over = await post(`${server.url}/batch`, batch(100), headers(nextIp()));
    expect(over.status).toBe(429);
    expect(over.json.error.message).toMatch(/client/);
  });
});

describe('failed authentication', () => {
  it('answers 429 instead of 401 once an address failed too often, on ingest and the read API alike', async () => {
    const ip = nextIp();
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await fetch(`${server.url}/api/v1/projects/${project.projectId}/events/count`, {
        headers: { 'openpanel-client-id': project.clientId, 'openpanel-client-secret': `wrong-${i}`, 'x-forwarded-for': ip },
      });
      codes.push(((await r.json()) as { error: { code: string } }).error.code);
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('bad_secret'));
    expect(new Set(codes.slice(10))).toEqual(new Set(['rate_limited']));
    // The same address is refused before authenticating anywhere — even with valid credentials.
    expect((await track(ip, 'after-failures')).status).toBe(429);
    const ws = await connectWs(server.url, { clientId: project.clientId }, { origin: ORIGIN, 'x-forwarded-for': ip });
    expect(ws).toMatchObject({ status: 429 });
    // Other addresses are not.
    expect((await track(nextIp(), 'after-failures')).status).toBe(200);
  });
});

describe('read API', () => {
  it('limits requests per client', async () => {
    const reads = await admin<{ clientId: string; clientSecret: string }>(server.dataDir, 'create-client', { project: project.projectId, type: 'read' });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await fetch(`${server.url}/api/v1/projects/${project.projectId}/events?limit=1`, {
        headers: { 'openpanel-client-id': reads.clientId, 'openpanel-client-secret': reads.clientSecret, 'x-forwarded-for': nextIp() },
      });
      statuses.push(r.status);
      if (r.status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429, 429]);
  });
});

describe('/ws', () => {
  const open = (ip: string) => openWs(server.url, { clientId: project.clientId }, { origin: ORIGIN, 'user-agent': CHROME_UA, 'x-forwarded-for': ip });

  it('refuses upgrades past the per-address budget with 429 and Retry-After', async () => {
    const ip = nextIp();
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await connectWs(server.url, { clientId: project.clientId }, { origin: ORIGIN, 'x-forwarded-for': ip }));
    const opened = answers.filter((a) => a instanceof WsClient) as WsClient[];
    expect(opened).toHaveLength(5);
    const refused = answers.filter((a) => !(a instanceof WsClient));
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    expect(Number((refused[0] as { headers: Record<string, string> }).headers['retry-after'])).toBeGreaterThan(0);
    await Promise.all(opened.map((c) => c.close()));
  });

  it('answers a batch past the event budget with a rate_limited error frame naming its seq, and keeps the socket', async () => {
    const c = await open(nextIp());
    const events = (n: number, seq: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `ws-${seq}-${i}-${visitor}`, type: 'track', payload: { name: 'w' } }));
    expect(await c.batch(1, events(90, 1))).toMatchObject({ type: 'ack', seq: 1, accepted: 90 });
    const refused = await c.batch(2, events(20, 2));
    expect(refused).toMatchObject({ type: 'error', seq: 2, code: 'rate_limited' });
    expect((refused as { retryAfterMs?: number }).retryAfterMs).toBeGreaterThan(0);
    expect(c.open).toBe(true);
    expect(await c.batch(3, events(10, 3))).toMatchObject({ type: 'ack', seq: 3, accepted: 10 });
    await c.close();
  });

  it('limits frames per socket (heartbeats and garbage count too)', async () => {
    const c = await open(nextIp());
    for (let i = 0; i < 20; i++) c.send({ type: 'heartbeat' });
    const refused = await c.batch(7, [{ id: `f-${visitor}`, type: 'track', payload: { name: 'f' } }]);
    expect(refused).toMatchObject({ type: 'error', seq: 7, code: 'rate_limited' });
    c.socket.send('not json at all');
    expect(await c.next()).toMatchObject({ type: 'error', code: 'rate_limited' });
    await c.close();
  });

  it('refuses a secret in the URL (it would end up in proxy logs)', async () => {
    const r = await connectWs(server.url, { clientId: project.clientId, secret: project.clientSecret }, { 'x-forwarded-for': nextIp() });
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'invalid_body' } } });
    expect((r as { body: { error: { message: string } } }).body.error.message).toMatch(/header/);
    const ok = await openWs(server.url, { clientId: project.clientId }, { 'openpanel-client-secret': project.clientSecret, 'x-forwarded-for': nextIp() });
    await ok.close();
  });
});

describe('dashboards (socket.io)', () => {
  it('refuses handshakes past the per-address budget with connect_error rate_limited', async () => {
    const ip = nextIp();
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = ioClient(server.url, {
        transports: ['websocket'],
        reconnection: false,
        extraHeaders: { 'x-forwarded-for': ip },
        auth: { clientId: project.clientId, clientSecret: project.clientSecret, projectId: project.projectId },
      });
      results.push(
        await new Promise<string>((resolve) => {
          s.on('connect', () => resolve('connected'));
          s.on('connect_error', (err) => resolve((err as Error & { data?: { code: string; retryAfterMs?: number } }).data?.code ?? err.message));
        }),
      );
      s.close();
    }
    expect(results).toEqual(['connected', 'connected', 'connected', 'rate_limited', 'rate_limited']);
  });
});

describe('per-project overrides', () => {
  it('raises one project’s budget with set-rate-limits, and back to the default', async () => {
    const ip = nextIp();
    for (let i = 0; i < 100; i++) await track(ip, 'override');
    expect((await track(ip, 'override')).status).toBe(429);
    const set = await admin<{ rateLimits: Record<string, string> }>(server.dataDir, 'set-rate-limits', {
      project: project.projectId,
      limits: ['browser-events=100000/1h', 'read=off'],
    });
    expect(set.rateLimits).toEqual({ 'browser-events': '100000/1h', read: 'off' });
    expect((await track(ip, 'override')).status).toBe(200);
    const back = await admin<{ rateLimits: Record<string, string> }>(server.dataDir, 'set-rate-limits', {
      project: project.projectId,
      limits: ['browser-events=default', 'read=default'],
    });
    expect(back.rateLimits).toEqual({});
  });

  it('refuses limits that do not exist or do not parse', async () => {
    await expect(admin(server.dataDir, 'set-rate-limits', { project: project.projectId, limits: ['ws-connects=1/1s'] })).rejects.toThrow(/400/);
    await expect(admin(server.dataDir, 'set-rate-limits', { project: project.projectId, limits: ['read=lots'] })).rejects.toThrow(/400/);
    await expect(admin(server.dataDir, 'set-rate-limits', { project: 'nope', limits: ['read=off'] })).rejects.toThrow(/404/);
  });
});
