/**
 * Tenant isolation, endpoint by endpoint: two organisations, each with an owner, an admin, a
 * member and a viewer, plus API clients and a share link, against every route the dashboard
 * API declares (`listApiRoutes`). For each route and each principal the expected answer
 * follows from the route's declared access alone: 401 for nobody, 404 for anyone outside the
 * organisation (ids cannot be probed), 403 for a role or kind of credential that may not,
 * 2xx for those who may. Denials are checked before any successful call, on resources that
 * must not change. A route added without a fixture here fails the test.
 * Guards against: a route forgetting its access rule, a handler trusting a path id from
 * another organisation, a role check off by one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listApiRoutes } from '../server/api/api.ts';
import type { RouteSpec } from '../server/api/router.ts';
import { CHROME_UA } from './support/e2e.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

type RoleName = 'owner' | 'admin' | 'member' | 'viewer';
const ROLES: RoleName[] = ['owner', 'admin', 'member', 'viewer'];
const RANK: Record<RoleName, number> = { viewer: 1, member: 2, admin: 3, owner: 4 };
const LEVEL_OF: Record<RoleName, number> = { viewer: 1, member: 2, admin: 3, owner: 3 }; // read, write, admin
const LEVEL_RANK = { read: 1, write: 2, admin: 3 } as const;
const PASSWORD = 'isolation test password';

let lp: TestServer;

interface Session {
  email: string;
  userId: string;
  cookie: string;
  csrf: string;
}

type Principal =
  | { name: string; kind: 'anon' }
  | { name: string; kind: 'user'; org: 'A' | 'B'; role: RoleName; session: Session }
  | { name: string; kind: 'client'; org: 'A' | 'B'; type: 'read' | 'root' | 'write'; id: string; secret: string }
  | { name: string; kind: 'share'; org: 'A' | 'B'; token: string };

interface Org {
  id: string;
  projectId: string;
  owner: Session;
  users: Record<RoleName, Session>;
  readClient: { clientId: string; clientSecret: string };
  rootClient: { clientId: string; clientSecret: string };
  writeClient: { clientId: string; clientSecret: string };
  share: string;
}

const orgs = {} as Record<'A' | 'B', Org>;
let counter = 0;
const unique = (what: string) => `${what}-${++counter}-${Date.now().toString(36)}`;

async function call(method: string, path: string, opts: { session?: Session; headers?: Record<string, string>; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { origin: lp.url, ...(opts.headers ?? {}) };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.session) {
    headers.cookie = opts.session.cookie;
    headers['x-livepanel-csrf'] = opts.session.csrf;
  }
  return fetch(`${lp.url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function signIn(email: string): Promise<Session> {
  const res = await call('POST', '/api/auth/sign-in', { body: { email, password: PASSWORD } });
  const body = await json<{ userId: string; csrfToken: string }>(res.clone(), `sign in ${email}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { email, userId: body.userId, cookie, csrf: body.csrfToken };
}

async function createUser(orgId: string | undefined, role: RoleName | undefined, email = `${unique('user')}@example.com`): Promise<Session> {
  await lp.admin('create-user', { email, password: PASSWORD, ...(orgId ? { org: orgId, role } : {}) });
  return signIn(email);
}

const as = (s: Session) => ({ session: s });

async function makeOrg(name: 'A' | 'B', first: boolean): Promise<Org> {
  let owner: Session;
  let id: string;
  if (first) {
    owner = await createUser(undefined, undefined, `owner-${name.toLowerCase()}@example.com`); // the first user owns the first organisation
    id = (await json<{ orgs: Array<{ orgId: string }> }>(await call('GET', '/api/auth/me', as(owner)), 'me')).orgs[0]!.orgId;
  } else {
    owner = await createUser(orgs.A.id, 'viewer', `owner-${name.toLowerCase()}@example.com`);
    id = (await json<{ id: string }>(await call('POST', '/api/v1/orgs', { ...as(owner), body: { name: `Org ${name}` } }), 'create org')).id;
    // leave A again so this owner belongs to B only
    await json(await call('POST', `/api/v1/orgs/${orgs.A.id}/leave`, as(owner)), 'leave A');
  }
  const users = { owner } as Record<RoleName, Session>;
  for (const role of ['admin', 'member', 'viewer'] as const) users[role] = await createUser(id, role);
  const project = await json<{ projectId: string; clientId: string; clientSecret: string }>(
    await call('POST', `/api/v1/orgs/${id}/projects`, { ...as(owner), body: { name: `Project ${name}`, domain: `${name.toLowerCase()}.example` } }),
    'project',
  );
  const client = async (type: 'read' | 'root') =>
    json<{ clientId: string; clientSecret: string }>(
      await call('POST', `/api/v1/projects/${project.projectId}/clients`, { ...as(owner), body: { name: `${type} client`, type } }),
      `${type} client`,
    );
  const readClient = await client('read');
  const rootClient = await client('root');
  const writeClient = { clientId: project.clientId, clientSecret: project.clientSecret }; // the project's browser client
  const share = await json<{ token: string }>(
    await call('POST', `/api/v1/projects/${project.projectId}/shares`, { ...as(owner), body: { name: 'TV', target: { kind: 'realtime' } } }),
    'share',
  );
  return { id, projectId: project.projectId, owner, users, readClient, rootClient, writeClient, share: share.token };
}

/** A profile and a group in the project, so the read API's single-item routes have something to find. */
async function seedReadData(org: Org): Promise<void> {
  const send = (type: string, payload: unknown) =>
    fetch(`${lp.url}/track`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'openpanel-client-id': org.rootClient.clientId,
        'openpanel-client-secret': org.rootClient.clientSecret,
        'user-agent': CHROME_UA,
      },
      body: JSON.stringify({ type, payload }),
    }).then((r) => expect(r.status).toBe(200));
  await send('identify', { profileId: 'p1', firstName: 'Ann' });
  await send('group', { id: 'g1', type: 'company', name: 'Acme' });
  await send('track', { name: 'hello', profileId: 'p1' });
  await send('track', { name: 'other', profileId: 'p1' });
  await lp.settle();
}

// ---------------------------------------------------------------------------------------------
// Fixtures: for each route, the path (and body) that targets fresh resources of one organisation.

interface Target {
  path: string;
  body?: unknown;
}
type Fixture = (org: Org) => Promise<Target>;

const freshProject = async (org: Org) =>
  (
    await json<{ projectId: string }>(
      await call('POST', `/api/v1/orgs/${org.id}/projects`, { ...as(org.owner), body: { name: unique('p'), domain: 'fresh.example' } }),
      'fresh project',
    )
  ).projectId;
const freshShare = async (org: Org) =>
  (
    await json<{ share: { id: string } }>(
      await call('POST', `/api/v1/projects/${org.projectId}/shares`, { ...as(org.owner), body: { name: unique('s'), target: { kind: 'realtime' } } }),
      'fresh share',
    )
  ).share.id;
const freshInvitation = async (org: Org) =>
  (
    await json<{ invitation: { id: string } }>(
      await call('POST', `/api/v1/orgs/${org.id}/invitations`, { ...as(org.owner), body: { email: `${unique('inv')}@example.com` } }),
      'invite',
    )
  ).invitation.id;
/** A member who never signs in (sign-ins are rate limited per address, as in production). */
const freshViewer = async (org: Org) =>
  (await lp.admin<{ userId: string }>('create-user', { email: `${unique('viewer')}@example.com`, password: PASSWORD, org: org.id, role: 'viewer' })).userId;
const firstClient = async (org: Org) =>
  (await json<{ data: Array<{ id: string }> }>(await call('GET', `/api/v1/projects/${org.projectId}/clients`, as(org.owner)), 'clients')).data[0]!.id;

const freshBoard = async (org: Org) =>
  (
    await json<{ id: string }>(
      await call('POST', `/api/v1/projects/${org.projectId}/boards`, { ...as(org.owner), body: { name: unique('board') } }),
      'fresh board',
    )
  ).id;

const FIXTURES: Record<string, Fixture> = {
  'GET /api/v1/orgs/:orgId': async (o) => ({ path: `/api/v1/orgs/${o.id}` }),
  'PATCH /api/v1/orgs/:orgId': async (o) => ({ path: `/api/v1/orgs/${o.id}`, body: { name: `Org ${o.id.slice(0, 4)}` } }),
  'GET /api/v1/orgs/:orgId/members': async (o) => ({ path: `/api/v1/orgs/${o.id}/members` }),
  'PATCH /api/v1/orgs/:orgId/members/:userId': async (o) => ({ path: `/api/v1/orgs/${o.id}/members/${await freshViewer(o)}`, body: { role: 'member' } }),
  'DELETE /api/v1/orgs/:orgId/members/:userId': async (o) => ({ path: `/api/v1/orgs/${o.id}/members/${await freshViewer(o)}` }),
  'GET /api/v1/orgs/:orgId/invitations': async (o) => ({ path: `/api/v1/orgs/${o.id}/invitations` }),
  'POST /api/v1/orgs/:orgId/invitations': async (o) => ({
    path: `/api/v1/orgs/${o.id}/invitations`,
    body: { email: `${unique('new')}@example.com`, role: 'viewer' },
  }),
  'DELETE /api/v1/orgs/:orgId/invitations/:invitationId': async (o) => ({ path: `/api/v1/orgs/${o.id}/invitations/${await freshInvitation(o)}` }),
  'GET /api/v1/orgs/:orgId/audit': async (o) => ({ path: `/api/v1/orgs/${o.id}/audit` }),
  'GET /api/v1/orgs/:orgId/projects': async (o) => ({ path: `/api/v1/orgs/${o.id}/projects` }),
  'POST /api/v1/orgs/:orgId/projects': async (o) => ({ path: `/api/v1/orgs/${o.id}/projects`, body: { name: unique('created'), domain: 'created.example' } }),
  'GET /api/v1/projects/:projectId': async (o) => ({ path: `/api/v1/projects/${o.projectId}` }),
  'PATCH /api/v1/projects/:projectId': async (o) => ({ path: `/api/v1/projects/${o.projectId}`, body: { timezone: 'Europe/Paris' } }),
  'DELETE /api/v1/projects/:projectId': async (o) => ({ path: `/api/v1/projects/${await freshProject(o)}` }),
  'GET /api/v1/projects/:projectId/clients': async (o) => ({ path: `/api/v1/projects/${o.projectId}/clients` }),
  'POST /api/v1/projects/:projectId/clients': async (o) => ({
    path: `/api/v1/projects/${o.projectId}/clients`,
    body: { name: unique('c'), type: 'write', projectOrigins: true },
  }),
  'PATCH /api/v1/projects/:projectId/clients/:clientId': async (o) => ({
    path: `/api/v1/projects/${o.projectId}/clients/${await firstClient(o)}`,
    body: { name: unique('renamed') },
  }),
  'POST /api/v1/projects/:projectId/clients/:clientId/rotate': async (o) => {
    const c = await json<{ clientId: string }>(
      await call('POST', `/api/v1/projects/${o.projectId}/clients`, { ...as(o.owner), body: { name: unique('rot'), type: 'write' } }),
      'rot',
    );
    return { path: `/api/v1/projects/${o.projectId}/clients/${c.clientId}/rotate` };
  },
  'GET /api/v1/projects/:projectId/shares': async (o) => ({ path: `/api/v1/projects/${o.projectId}/shares` }),
  'POST /api/v1/projects/:projectId/shares': async (o) => ({
    path: `/api/v1/projects/${o.projectId}/shares`,
    body: { name: unique('share'), target: { kind: 'overview' } },
  }),
  'DELETE /api/v1/projects/:projectId/shares/:shareId': async (o) => ({ path: `/api/v1/projects/${o.projectId}/shares/${await freshShare(o)}` }),
  'GET /api/v1/projects/:projectId/boards': async (o) => ({ path: `/api/v1/projects/${o.projectId}/boards` }),
  'POST /api/v1/projects/:projectId/boards': async (o) => ({
    path: `/api/v1/projects/${o.projectId}/boards`,
    body: { name: unique('board'), layout: { tiles: [{ id: 'n', type: 'number', since: { kind: 'time', time: '09:00' }, goal: 100 }] } },
  }),
  'GET /api/v1/projects/:projectId/boards/:boardId': async (o) => ({ path: `/api/v1/projects/${o.projectId}/boards/${await freshBoard(o)}` }),
  'PATCH /api/v1/projects/:projectId/boards/:boardId': async (o) => ({
    path: `/api/v1/projects/${o.projectId}/boards/${await freshBoard(o)}`,
    body: { name: unique('renamed') },
  }),
  'DELETE /api/v1/projects/:projectId/boards/:boardId': async (o) => ({ path: `/api/v1/projects/${o.projectId}/boards/${await freshBoard(o)}` }),
};

/** Routes acting on the caller only (no tenant in the path): nobody → 401, clients and shares → 403, a user → 2xx. */
const SELF: Record<string, (s: Session) => Target> = {
  'GET /api/v1/orgs': () => ({ path: '/api/v1/orgs' }),
  'POST /api/v1/orgs': () => ({ path: '/api/v1/orgs', body: { name: unique('org') } }),
  'POST /api/auth/sign-out': () => ({ path: '/api/auth/sign-out' }),
  'POST /api/auth/sign-out-everywhere': () => ({ path: '/api/auth/sign-out-everywhere' }),
  'GET /api/auth/me': () => ({ path: '/api/auth/me' }),
  'POST /api/auth/password': () => ({ path: '/api/auth/password', body: { currentPassword: PASSWORD, newPassword: PASSWORD } }),
  'GET /api/auth/sessions': () => ({ path: '/api/auth/sessions' }),
};

/** Covered by their own tests below (the caller leaves its organisation) or public by design. */
const SPECIAL = new Set(['POST /api/v1/orgs/:orgId/leave']);

const key = (s: RouteSpec) => `${s.method} ${s.path}`;

/**
 * The row-level read API, the query API and the export are routes of the same layer: signed-in
 * users of the project's organisation and its read/root clients; the query API also overview
 * share links (tested below; the matrix's share is a realtime one: refused; board links are
 * refused too, tests/share-live.e2e.test.ts).
 */
FIXTURES['GET /api/v1/projects/:projectId/events/count'] = async (o) => ({ path: `/api/v1/projects/${o.projectId}/events/count` });
FIXTURES['GET /api/v1/projects/:projectId/events'] = async (o) => ({ path: `/api/v1/projects/${o.projectId}/events?limit=5` });
FIXTURES['GET /api/v1/projects/:projectId/profiles/:profileId'] = async (o) => ({ path: `/api/v1/projects/${o.projectId}/profiles/p1` });
FIXTURES['GET /api/v1/projects/:projectId/profiles'] = async (o) => ({ path: `/api/v1/projects/${o.projectId}/profiles` });
FIXTURES['GET /api/v1/projects/:projectId/sessions'] = async (o) => ({ path: `/api/v1/projects/${o.projectId}/sessions` });
FIXTURES['GET /api/v1/projects/:projectId/groups/:groupId'] = async (o) => ({ path: `/api/v1/projects/${o.projectId}/groups/g1` });
FIXTURES['GET /api/v1/projects/:projectId/sessions/:sessionId'] = async (o) => {
  const events = await json<{ data: Array<{ session_id: string }> }>(
    await call('GET', `/api/v1/projects/${o.projectId}/events?limit=10`, {
      headers: { 'openpanel-client-id': o.rootClient.clientId, 'openpanel-client-secret': o.rootClient.clientSecret },
    }),
    'events',
  );
  const session = events.data.find((e) => e.session_id !== '')?.session_id;
  if (!session) throw new Error('no seeded event has a session');
  return { path: `/api/v1/projects/${o.projectId}/sessions/${session}` };
};
FIXTURES['GET /api/v1/projects/:projectId/property-keys'] = async (o) => ({
  path: `/api/v1/projects/${o.projectId}/property-keys?from=2020-01-01&to=2030-01-01`,
});
FIXTURES['GET /api/v1/projects/:projectId/export/events'] = async (o) => ({
  path: `/api/v1/projects/${o.projectId}/export/events?from=2020-01-01&to=2030-01-01`,
});
FIXTURES['POST /api/v1/query'] = async (o) => ({ path: '/api/v1/query', body: { project_id: o.projectId, date_range: '7d', metrics: ['events'] } });

function principals(): Principal[] {
  const list: Principal[] = [{ name: 'nobody', kind: 'anon' }];
  for (const org of ['A', 'B'] as const) {
    for (const role of ROLES) list.push({ name: `${org}:${role}`, kind: 'user', org, role, session: orgs[org].users[role] });
    list.push({ name: `${org}:read-client`, kind: 'client', org, type: 'read', id: orgs[org].readClient.clientId, secret: orgs[org].readClient.clientSecret });
    list.push({ name: `${org}:root-client`, kind: 'client', org, type: 'root', id: orgs[org].rootClient.clientId, secret: orgs[org].rootClient.clientSecret });
    list.push({
      name: `${org}:write-client`,
      kind: 'client',
      org,
      type: 'write',
      id: orgs[org].writeClient.clientId,
      secret: orgs[org].writeClient.clientSecret,
    });
    list.push({ name: `${org}:share`, kind: 'share', org, token: orgs[org].share });
  }
  return list;
}

function credentials(p: Principal): { session?: Session; headers?: Record<string, string> } {
  if (p.kind === 'user') return { session: p.session };
  if (p.kind === 'client') return { headers: { 'openpanel-client-id': p.id, 'openpanel-client-secret': p.secret } };
  if (p.kind === 'share') return { headers: { 'x-livepanel-share': p.token } };
  return {};
}

/** The status class a principal must get on a route targeting organisation `target`: 'ok' or an HTTP status. */
function expected(spec: RouteSpec, p: Principal, target: 'A' | 'B'): 'ok' | 401 | 403 | 404 {
  const a = spec.access;
  if (p.kind === 'anon') return 401;
  if (a.kind === 'org') {
    if (p.kind !== 'user') return 403;
    if (p.org !== target) return 404;
    return RANK[p.role] >= RANK[a.role] ? 'ok' : 403;
  }
  if (a.kind === 'project') {
    const kinds = a.principals ?? ['user'];
    if (!kinds.includes(p.kind)) return 403;
    if (p.kind === 'user') {
      if (p.org !== target) return 404;
      return LEVEL_OF[p.role] >= LEVEL_RANK[a.level] ? 'ok' : 403;
    }
    if (p.kind === 'share' && a.shares && !a.shares.includes('realtime')) return 403; // the matrix's share shows the realtime view
    if (p.org !== target) return 403; // a client or share of another project
    if (p.kind === 'client') return p.type !== 'write' && a.level === 'read' ? 'ok' : 403; // read and root clients read; write clients only ingest
    return a.level === 'read' ? 'ok' : 403;
  }
  throw new Error(`no expectation for ${key(spec)}`);
}

beforeAll(async () => {
  // Every route × every credential from one address is hundreds of deliberate 401/403s: past the
  // failed-authentication rate limit they would turn into 429s. Authorisation is under test here.
  lp = await startTestServer({ RATE_LIMITS: 'off' });
  orgs.A = await makeOrg('A', true);
  orgs.B = await makeOrg('B', false);
  await seedReadData(orgs.A);
  await seedReadData(orgs.B);
}, 240_000);

afterAll(async () => {
  await lp?.destroy();
});

const routes = listApiRoutes();

describe('tenant isolation: every route, every role, two organisations', () => {
  it('every declared route has a fixture here (or is public, self-only or tested on its own)', () => {
    const uncovered = routes.filter((s) => s.access.kind !== 'public' && !FIXTURES[key(s)] && !SELF[key(s)] && !SPECIAL.has(key(s))).map(key);
    expect(uncovered).toEqual([]);
    const stale = Object.keys({ ...FIXTURES, ...SELF }).filter((k) => !routes.some((s) => key(s) === k));
    expect(stale).toEqual([]);
  });

  const scoped = routes.filter((s) => FIXTURES[key(s)]);
  it.each(scoped.map((s) => [key(s), s] as const))('%s', async (_name, spec) => {
    const problems: string[] = [];
    for (const target of ['A', 'B'] as const) {
      const org = orgs[target];
      const everyone = principals();
      // Denials first, each on a fresh target, so a wrongly allowed call shows up as a problem, not as a broken fixture.
      const allowed = everyone.filter((p) => expected(spec, p, target) === 'ok');
      for (const p of everyone.filter((q) => expected(spec, q, target) !== 'ok')) {
        const t = await FIXTURES[key(spec)]!(org);
        const res = await call(spec.method, t.path, { ...credentials(p), body: t.body });
        const want = expected(spec, p, target);
        if (res.status !== want) problems.push(`${p.name} on ${target}: ${res.status} (wanted ${want}) ${await res.text()}`);
      }
      for (const p of allowed) {
        const t = await FIXTURES[key(spec)]!(org);
        const res = await call(spec.method, t.path, { ...credentials(p), body: t.body });
        if (res.status < 200 || res.status > 299) problems.push(`${p.name} on ${target}: ${res.status} (wanted 2xx) ${await res.text()}`);
      }
    }
    expect(problems).toEqual([]);
  });

  const self = routes.filter((s) => SELF[key(s)]);
  it.each(self.map((s) => [key(s), s] as const))('%s (acts on the caller only)', async (_name, spec) => {
    const problems: string[] = [];
    for (const p of principals().filter((q) => q.kind !== 'user')) {
      const t = SELF[key(spec)]!(orgs.A.owner);
      const res = await call(spec.method, t.path, { ...credentials(p), body: t.body });
      const want = p.kind === 'anon' ? 401 : 403;
      if (res.status !== want) problems.push(`${p.name}: ${res.status} (wanted ${want})`);
    }
    const fresh = await createUser(orgs.B.id, 'viewer');
    const t = SELF[key(spec)]!(fresh);
    const res = await call(spec.method, t.path, { session: fresh, body: t.body });
    if (res.status < 200 || res.status > 299) problems.push(`a user: ${res.status} ${await res.text()}`);
    expect(problems).toEqual([]);
  });

  it('leaving: a member leaves their own organisation; nobody leaves one they are not in; the last owner cannot', async () => {
    const viewer = await createUser(orgs.A.id, 'viewer');
    expect((await call('POST', `/api/v1/orgs/${orgs.B.id}/leave`, as(viewer))).status).toBe(404);
    expect(
      (
        await call('POST', `/api/v1/orgs/${orgs.A.id}/leave`, {
          headers: { 'openpanel-client-id': orgs.A.readClient.clientId, 'openpanel-client-secret': orgs.A.readClient.clientSecret },
        })
      ).status,
    ).toBe(403);
    expect((await call('POST', `/api/v1/orgs/${orgs.A.id}/leave`, as(viewer))).status).toBe(200);
    expect((await call('GET', `/api/v1/projects/${orgs.A.projectId}`, as(viewer))).status).toBe(404);
    expect((await call('POST', `/api/v1/orgs/${orgs.B.id}/leave`, as(orgs.B.owner))).status).toBe(409);
  });

  it('an overview share queries its own project only, always through its fixed filter', async () => {
    const a = orgs.A;
    const share = await json<{ token: string }>(
      await call('POST', `/api/v1/projects/${a.projectId}/shares`, {
        ...as(a.owner),
        body: { name: 'Hello only', target: { kind: 'overview' }, filter: [['is', 'event:name', ['hello']]] },
      }),
      'overview share',
    );
    const query = (projectId: string, headers: Record<string, string>, extra: Record<string, unknown> = {}) =>
      call('POST', '/api/v1/query', { headers, body: { project_id: projectId, date_range: 'all', metrics: ['events'], ...extra } });
    const events = async (res: Response) => ((await json<{ results: Array<{ metrics: number[] }> }>(res, 'query')).results[0]?.metrics[0] ?? 0) as number;
    const viaShare = { 'x-livepanel-share': share.token };
    const viaClient = { 'openpanel-client-id': a.readClient.clientId, 'openpanel-client-secret': a.readClient.clientSecret };
    const all = await events(await query(a.projectId, viaClient));
    const hello = await events(await query(a.projectId, viaClient, { filters: [['is', 'event:name', ['hello']]] }));
    expect(hello).toBe(1);
    expect(all).toBeGreaterThan(hello);
    expect(await events(await query(a.projectId, viaShare))).toBe(hello);
    // Asking for something else narrows further; it never widens.
    expect(await events(await query(a.projectId, viaShare, { filters: [['is_not', 'event:name', ['hello']]] }))).toBe(0);
    expect((await query(orgs.B.projectId, viaShare)).status).toBe(403);
    expect((await call('GET', `/api/v1/projects/${a.projectId}/events`, { headers: viaShare })).status).toBe(403);
    // An overview share answers the overview's numbers only: no profiles or properties, no conversion rate around its filter.
    expect((await query(a.projectId, viaShare, { dimensions: ['profile:id'] })).status).toBe(403);
    expect((await query(a.projectId, viaShare, { filters: [['is', 'event:props:email', ['x@example.com']]] })).status).toBe(403);
    expect((await query(a.projectId, viaShare, { metrics: ['conversion_rate'] })).status).toBe(403);
    expect((await query(a.projectId, viaShare, { metrics: ['visitors'], dimensions: ['geo:country', 'time:day'] })).status).toBe(200);
    // The share's page learns its fixed filter (no password here, so no grant needed).
    const described = await json<{ unlocked: boolean; filter: unknown }>(await call('GET', `/api/share/${share.token}`, {}), 'describe');
    expect(described).toMatchObject({ unlocked: true, filter: [['is', 'event:name', ['hello']]] });
  });

  it('role boundaries within an organisation: admins cannot touch owners; owners stay at least one', async () => {
    const a = orgs.A;
    expect((await call('PATCH', `/api/v1/orgs/${a.id}/members/${a.owner.userId}`, { ...as(a.users.admin), body: { role: 'viewer' } })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/orgs/${a.id}/members/${a.owner.userId}`, as(a.users.admin))).status).toBe(403);
    expect((await call('PATCH', `/api/v1/orgs/${a.id}/members/${a.users.viewer.userId}`, { ...as(a.users.admin), body: { role: 'owner' } })).status).toBe(403);
    expect((await call('POST', `/api/v1/orgs/${a.id}/invitations`, { ...as(a.users.admin), body: { email: 'boss@example.com', role: 'owner' } })).status).toBe(
      403,
    );
    expect((await call('PATCH', `/api/v1/orgs/${a.id}/members/${a.owner.userId}`, { ...as(a.owner), body: { role: 'admin' } })).status).toBe(409);
  });
});
