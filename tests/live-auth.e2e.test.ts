/**
 * The live channel asks the auth module, on a real server: a signed-in user's cookie opens a
 * socket (from Livepanel's own pages only) on their organisation's projects and no other; a
 * password-protected share needs its grant; a share that expires while watched, a member
 * removed from the organisation and a session signed out are disconnected, and their retry
 * refused with a stable code. Waits are generous deadlines, never timing assertions.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveConnectError, LiveSubscribeResult } from '../shared/live.ts';
import { startTestServer, type TestServer } from './support/livepanel.ts';

let lp: TestServer;
const sockets: Socket[] = [];
const PASSWORD = 'live auth password';

interface Session {
  cookie: string;
  csrf: string;
  userId: string;
}

async function signIn(email: string): Promise<Session> {
  const res = await fetch(`${lp.url}/api/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: lp.url },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { csrfToken: string; userId: string };
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: body.csrfToken, userId: body.userId };
}

async function call<T>(s: Session, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${lp.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', origin: lp.url, cookie: s.cookie, 'x-livepanel-csrf': s.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** A live socket (no reconnection); resolves once connected, rejects with the refusal's data. */
function live(auth: object, headers: Record<string, string> = {}): Promise<Socket> {
  const socket = connect(lp.url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: headers });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err: Error & { data?: LiveConnectError }) => {
      socket.close();
      reject(err.data ?? err);
    });
  });
}

const disconnected = (s: Socket) =>
  new Promise<string>((resolve) => {
    if (!s.connected) resolve('already');
    s.once('disconnect', (reason) => resolve(reason));
  });

let owner: Session;
let orgId: string;
let projectId: string;
let otherProject: string;

beforeAll(async () => {
  lp = await startTestServer();
  await lp.admin('create-user', { email: 'owner@example.com', password: PASSWORD });
  owner = await signIn('owner@example.com');
  orgId = (await call<{ orgs: Array<{ orgId: string }> }>(owner, 'GET', '/api/auth/me')).orgs[0]!.orgId;
  projectId = (await call<{ projectId: string }>(owner, 'POST', `/api/v1/orgs/${orgId}/projects`, { name: 'One', domain: 'one.example' })).projectId;
  // Another organisation's project, owned by someone else.
  await lp.admin('create-user', { email: 'stranger@example.com', password: PASSWORD });
  const stranger = await signIn('stranger@example.com');
  const theirOrg = (await call<{ id: string }>(stranger, 'POST', '/api/v1/orgs', { name: 'Theirs' })).id;
  otherProject = (await call<{ projectId: string }>(stranger, 'POST', `/api/v1/orgs/${theirOrg}/projects`, { name: 'Theirs', domain: 'theirs.example' }))
    .projectId;
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await lp?.destroy();
});

describe('live channel and the auth module', () => {
  it('a signed-in user watches their organisation’s projects only, from Livepanel’s own pages only', async () => {
    const ok = await live({ projectId }, { cookie: owner.cookie, origin: lp.url });
    const second = (await call<{ projectId: string }>(owner, 'POST', `/api/v1/orgs/${orgId}/projects`, { name: 'Two', domain: 'two.example' })).projectId;
    const sub = (p: string) => new Promise<LiveSubscribeResult>((resolve) => ok.emit('subscribe', { projectId: p }, resolve));
    expect(await sub(second)).toEqual({ ok: true });
    expect(await sub(otherProject)).toMatchObject({ ok: false, code: 'forbidden' });

    await expect(live({ projectId: otherProject }, { cookie: owner.cookie, origin: lp.url })).rejects.toMatchObject({ code: 'not_found' });
    await expect(live({ projectId }, { cookie: owner.cookie, origin: 'https://evil.example' })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(live({ projectId })).rejects.toMatchObject({ code: 'not_signed_in' });
  });

  it('an oversized handshake auth is refused with payload_too_large, over WebSocket and polling alike', async () => {
    const refused = (auth: object, transport: 'websocket' | 'polling' = 'websocket') =>
      new Promise<LiveConnectError | string>((resolve) => {
        const socket = connect(lp.url, { auth, transports: [transport], reconnection: false, forceNew: true });
        sockets.push(socket);
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (err: Error & { data?: LiveConnectError }) => resolve(err.data ?? err.message));
      });
    for (const transport of ['websocket', 'polling'] as const) {
      // A plausible shape with a huge field, junk keys, and nesting deeper than any real auth.
      let deep: unknown = 'x';
      for (let i = 0; i < 3000; i++) deep = { a: deep };
      for (const auth of [{ clientId: 'c'.repeat(20_000), clientSecret: 's', projectId }, { junk: 'x'.repeat(900_000) }, { share: deep }]) {
        expect(await refused(auth, transport)).toMatchObject({ code: 'payload_too_large' });
      }
    }
    // One socket.io message over the message limit (1 MiB) never reaches the gate: the transport is cut, and the server carries on.
    const socket = connect(lp.url, { auth: { junk: 'x'.repeat(1100 * 1024) }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    expect(await new Promise<string>((resolve) => socket.io.engine.once('close', (reason: string) => resolve(reason)))).toMatch(/^transport (close|error)$/);
    expect(socket.connected).toBe(false);
    expect(await refused({ clientId: 'c'.repeat(5000) })).toMatchObject({ code: 'payload_too_large' });
  });

  it('a password-protected share needs its grant', async () => {
    const share = await call<{ token: string }>(owner, 'POST', `/api/v1/projects/${projectId}/shares`, {
      name: 'Locked',
      target: { kind: 'realtime' },
      password: 'share password 9',
    });
    await expect(live({ share: share.token })).rejects.toMatchObject({ code: 'password_required' });
    const unlock = await fetch(`${lp.url}/api/share/${share.token}/unlock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: lp.url },
      body: JSON.stringify({ password: 'share password 9' }),
    });
    const { grant } = (await unlock.json()) as { grant: string };
    const socket = await live({ share: share.token, grant });
    expect(socket.connected).toBe(true);
    await expect(live({ share: share.token, grant: `${grant}x` })).rejects.toMatchObject({ code: 'password_required' });
  });

  it('an overview share opens no live socket (its page reads the query API only)', async () => {
    const share = await call<{ token: string }>(owner, 'POST', `/api/v1/projects/${projectId}/shares`, {
      name: 'Overview',
      target: { kind: 'overview' },
    });
    await expect(live({ share: share.token })).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('a share watched past its expiry is disconnected, and refused after', async () => {
    const expiresAt = new Date(Date.now() + 3000).toISOString();
    const share = await call<{ token: string }>(owner, 'POST', `/api/v1/projects/${projectId}/shares`, {
      name: 'Brief',
      target: { kind: 'realtime' },
      expiresAt,
    });
    const socket = await live({ share: share.token });
    expect(await disconnected(socket)).toBe('io server disconnect');
    await expect(live({ share: share.token })).rejects.toMatchObject({ code: 'expired' });
  });

  it('a member removed from the organisation, and a session signed out, lose their sockets', async () => {
    await lp.admin('create-user', { email: 'member@example.com', password: PASSWORD, org: orgId, role: 'member' });
    const member = await signIn('member@example.com');
    const socket = await live({ projectId }, { cookie: member.cookie, origin: lp.url });
    const gone = disconnected(socket);
    await call(owner, 'DELETE', `/api/v1/orgs/${orgId}/members/${member.userId}`);
    expect(await gone).toBe('io server disconnect');
    await expect(live({ projectId }, { cookie: member.cookie, origin: lp.url })).rejects.toMatchObject({ code: 'not_found' });

    const again = await signIn('owner@example.com');
    const mine = await live({ projectId }, { cookie: again.cookie, origin: lp.url });
    const out = disconnected(mine);
    await call(again, 'POST', '/api/auth/sign-out');
    expect(await out).toBe('io server disconnect');
    await expect(live({ projectId }, { cookie: again.cookie, origin: lp.url })).rejects.toMatchObject({ code: 'not_signed_in' });
  });
});
