/**
 * Boards through the dashboard API on a real server (PGlite): create, list, read, change
 * (with the version check), delete; a viewer reads but cannot change; hostile layouts answer
 * 400 with the offending field; a share link of a board reads that board (its password's
 * grant required) and nothing else; a share cannot point at another project's board.
 * Guards against: layouts stored unvalidated, lost updates between two editors, viewers
 * editing, share links reading boards they do not share.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Board } from '../shared/boards.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

const PASSWORD = 'boards test password';
let lp: TestServer;

interface Session {
  cookie: string;
  csrf: string;
}
let owner: Session;
let viewer: Session;
let projectId: string;
let otherProjectId: string;

async function call(method: string, path: string, opts: { session?: Session; headers?: Record<string, string>; body?: unknown } = {}) {
  const headers: Record<string, string> = { origin: lp.url, ...(opts.headers ?? {}) };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.session) {
    headers.cookie = opts.session.cookie;
    headers['x-livepanel-csrf'] = opts.session.csrf;
  }
  const res = await fetch(`${lp.url}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function signIn(email: string): Promise<Session> {
  const res = await fetch(`${lp.url}/api/auth/sign-in`, {
    method: 'POST',
    headers: { origin: lp.url, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { csrfToken: string };
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: body.csrfToken };
}

const LAYOUT = {
  tiles: [
    {
      id: 'signups',
      type: 'number',
      title: 'Signups',
      metric: 'events',
      filters: [['is', 'event:name', ['signup']]],
      since: { kind: 'time', time: '09:00' },
      goal: 1000,
      unit: 'signups',
      w: 2,
    },
    { id: 'rate', type: 'sparkline', minutes: 30 },
    { id: 'pages', type: 'top', dimension: 'event:path', limit: 5 },
    { id: 'map', type: 'map', w: 2, h: 2 },
    { id: 'feed', type: 'feed' },
    {
      id: 'funnel',
      type: 'funnel',
      steps: [
        { label: 'Visit', filters: [['is', 'event:name', ['screen_view']]] },
        { label: 'Signup', filters: [['is', 'event:name', ['signup']]] },
      ],
    },
    { id: 'who', type: 'visitors' },
  ],
};

beforeAll(async () => {
  lp = await startTestServer({ RATE_LIMITS: 'off' });
  await lp.admin('create-user', { email: 'owner@example.com', password: PASSWORD });
  owner = await signIn('owner@example.com');
  const me = await call('GET', '/api/auth/me', { session: owner });
  const orgId = me.body.orgs[0].orgId as string;
  await lp.admin('create-user', { email: 'viewer@example.com', password: PASSWORD, org: orgId, role: 'viewer' });
  viewer = await signIn('viewer@example.com');
  projectId = (await call('POST', `/api/v1/orgs/${orgId}/projects`, { session: owner, body: { name: 'Launch', domain: 'launch.example' } })).body.projectId;
  otherProjectId = (await call('POST', `/api/v1/orgs/${orgId}/projects`, { session: owner, body: { name: 'Other', domain: 'other.example' } })).body.projectId;
}, 120_000);

afterAll(async () => {
  await lp?.destroy();
});

describe('boards API', () => {
  it('creates, lists, reads, changes with a version check and deletes a board', async () => {
    const created = await call('POST', `/api/v1/projects/${projectId}/boards`, { session: owner, body: { name: 'Launch day', layout: LAYOUT } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const b = created.body as Board;
    expect(b.name).toBe('Launch day');
    expect(b.version).toBe(1);
    expect(b.layout.tiles.map((t) => t.type)).toEqual(['number', 'sparkline', 'top', 'map', 'feed', 'funnel', 'visitors']);
    // Defaults are filled in and stored.
    expect(b.layout.tiles[1]).toMatchObject({ metric: 'events', filters: [], w: 1, h: 1, title: '' });
    expect(b.layout.highlights).toBe(true);

    const list = await call('GET', `/api/v1/projects/${projectId}/boards`, { session: viewer });
    expect(list.status).toBe(200);
    expect(list.body.data.map((x: Board) => x.id)).toContain(b.id);
    expect((await call('GET', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: viewer })).body).toEqual(b);

    const renamed = await call('PATCH', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: owner, body: { name: 'Launch', version: 1 } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Launch', version: 2 });
    expect(renamed.body.layout).toEqual(b.layout);

    // A second editor still holding version 1 cannot overwrite the change.
    const stale = await call('PATCH', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: owner, body: { layout: { tiles: [] }, version: 1 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('conflict');
    expect((await call('GET', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: owner })).body.layout.tiles).toHaveLength(7);

    // The board is the project's only: another project's path does not find it.
    expect((await call('GET', `/api/v1/projects/${otherProjectId}/boards/${b.id}`, { session: owner })).status).toBe(404);

    expect((await call('DELETE', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: owner })).status).toBe(200);
    expect((await call('GET', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: owner })).status).toBe(404);
    expect((await call('DELETE', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: owner })).status).toBe(404);
  });

  it('lets a viewer read but not create, change or delete', async () => {
    const b = (await call('POST', `/api/v1/projects/${projectId}/boards`, { session: owner, body: { name: 'Ops' } })).body as Board;
    expect(b.layout).toEqual({ tiles: [], highlights: true });
    expect((await call('GET', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: viewer })).status).toBe(200);
    expect((await call('POST', `/api/v1/projects/${projectId}/boards`, { session: viewer, body: { name: 'Mine' } })).status).toBe(403);
    expect((await call('PATCH', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: viewer, body: { name: 'Mine' } })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: viewer })).status).toBe(403);
    expect((await call('GET', `/api/v1/projects/${projectId}/boards`)).status).toBe(401);
  });

  it('answers hostile bodies with 400 and the offending field, never storing them', async () => {
    const bad: Array<[unknown, string]> = [
      ['{not json', 'invalid_json'],
      [{ name: '' }, 'invalid_body'],
      [{ name: 'x'.repeat(101) }, 'invalid_body'],
      [{ name: 'x', layout: { tiles: [{ id: 'a', type: 'nope' }] } }, 'invalid_body'],
      [{ name: 'x', layout: { tiles: [{ id: 'a', type: 'number', since: { kind: 'time', time: '25:00' } }] } }, 'invalid_body'],
      [{ name: 'x', layout: { tiles: [{ id: 'a', type: 'top', dimension: 'nope:nope' }] } }, 'invalid_body'],
      [
        {
          name: 'x',
          layout: {
            tiles: [
              { id: 'a', type: 'feed' },
              { id: 'a', type: 'map' },
            ],
          },
        },
        'invalid_body',
      ],
      [{ name: 'x', layout: { tiles: [{ id: 'a', type: 'sparkline', filters: [['matches', 'event:name', ['(a+)+$']]] }] } }, 'invalid_body'],
      [{ name: 'x', layout: { tiles: Array.from({ length: 25 }, (_, i) => ({ id: `t${i}`, type: 'feed' })) } }, 'invalid_body'],
      [{ name: 'x', layout: { tiles: [{ id: '../../etc', type: 'feed' }] } }, 'invalid_body'],
      [{ name: 'x', layout: { tiles: [], extra: 1 } }, 'invalid_body'],
      [{ name: 'x', layout: { tiles: [{ id: 'a', type: 'number', since: { kind: 'time', time: '09:00' }, goal: -1 }] } }, 'invalid_body'],
    ];
    const before = (await call('GET', `/api/v1/projects/${projectId}/boards`, { session: owner })).body.data.length;
    for (const [body, code] of bad) {
      const r = await call('POST', `/api/v1/projects/${projectId}/boards`, { session: owner, body });
      expect(r.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(r.body.error.code).toBe(code);
    }
    expect((await call('PATCH', `/api/v1/projects/${projectId}/boards/not-a-uuid`, { session: owner, body: { name: 'x' } })).status).toBe(404);
    expect((await call('GET', `/api/v1/projects/${projectId}/boards`, { session: owner })).body.data.length).toBe(before);
  });

  it('shares a board: the link reads that board only, with its password grant', async () => {
    const b = (await call('POST', `/api/v1/projects/${projectId}/boards`, { session: owner, body: { name: 'TV', layout: LAYOUT } })).body as Board;
    const other = (await call('POST', `/api/v1/projects/${otherProjectId}/boards`, { session: owner, body: { name: 'Elsewhere' } })).body as Board;
    // A share must name a board of its own project.
    const wrong = await call('POST', `/api/v1/projects/${projectId}/shares`, { session: owner, body: { name: 'x', target: { kind: 'board', id: other.id } } });
    expect(wrong.status).toBe(400);

    const share = await call('POST', `/api/v1/projects/${projectId}/shares`, {
      session: owner,
      body: { name: 'Office TV', target: { kind: 'board', id: b.id } },
    });
    expect(share.status).toBe(201);
    expect(share.body.tvUrl).toMatch(/\/share\/lpsh_[^?]+\?tv=1$/);
    const read = await call('GET', `/api/share/${share.body.token}/board`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(b);
    // The board's API stays closed to the share's token.
    expect((await call('GET', `/api/v1/projects/${projectId}/boards/${b.id}`, { headers: { 'x-livepanel-share': share.body.token } })).status).toBe(403);

    const realtime = await call('POST', `/api/v1/projects/${projectId}/shares`, { session: owner, body: { name: 'RT', target: { kind: 'realtime' } } });
    expect((await call('GET', `/api/share/${realtime.body.token}/board`)).status).toBe(404);

    const locked = await call('POST', `/api/v1/projects/${projectId}/shares`, {
      session: owner,
      body: { name: 'Locked', target: { kind: 'board', id: b.id }, password: 'a board password' },
    });
    expect((await call('GET', `/api/share/${locked.body.token}/board`)).body.error.code).toBe('password_required');
    const { grant } = (await call('POST', `/api/share/${locked.body.token}/unlock`, { body: { password: 'a board password' } })).body;
    expect((await call('GET', `/api/share/${locked.body.token}/board`, { headers: { 'x-livepanel-share-grant': grant } })).status).toBe(200);

    // Revoked: gone. Board deleted: the link says so.
    await call('DELETE', `/api/v1/projects/${projectId}/shares/${realtime.body.share.id}`, { session: owner });
    await call('DELETE', `/api/v1/projects/${projectId}/boards/${b.id}`, { session: owner });
    const after = await call('GET', `/api/share/${share.body.token}/board`);
    expect(after.status).toBe(404);
    expect(after.body.error.message).toMatch(/deleted/);
    expect((await call('GET', '/api/share/lpsh_nope/board')).status).toBe(404);
  });
});
