// The auth module on both real shapes of the metadata database (PGlite in a temp folder and the
// local PostgreSQL server): first-run setup, invitations, roles, sessions with expiry and
// revocation, rate-limited sign-in, share links, and an existing install migrating.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../tests/support/postgres.ts';
import type { Config } from '../config.ts';
import { createMemoryBus } from '../engines/bus.memory.ts';
import { createMemoryRateLimits } from '../engines/rate-limit.memory.ts';
import { silentLogger } from '../log.ts';
import { createAccounts } from '../store/accounts.ts';
import { createAuthSessionStore } from '../store/auth-sessions.ts';
import { createMetadata } from '../store/metadata.ts';
import { type OpenMetadataDb, openMetadataDb } from '../store/postgres.ts';
import { createShareStore } from '../store/shares.ts';
import { createAuth } from './auth.ts';
import { hashPassword } from './passwords.ts';
import { hashToken, newToken } from './tokens.ts';
import { SESSION_COOKIE } from './user-sessions.ts';

const DAY = 86_400_000;
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { status?: number; code?: string; message?: string }) => (e.code ? `${e.status} ${e.code}` : `error ${e.message}`),
  );

const flavours = [
  {
    name: 'PGlite',
    async setup(): Promise<{ cfg: Config['postgres']; cleanup(): Promise<void> }> {
      const dir = mkdtempSync(path.join(tmpdir(), 'lp-auth-'));
      return { cfg: { kind: 'pglite', dir: path.join(dir, 'pg') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async setup(): Promise<{ cfg: Config['postgres']; cleanup(): Promise<void> }> {
      const tdb = await createTestDatabase();
      return { cfg: { kind: 'postgres', url: tdb.url }, cleanup: () => tdb.drop() };
    },
  },
];

describe.each(flavours)('auth on $name', (flavour) => {
  let handle: OpenMetadataDb;
  let cleanup: () => Promise<void>;
  let clock = Date.now();
  const now = () => clock;

  async function setup() {
    const accounts = createAccounts(handle.db);
    const metadata = createMetadata(handle.db);
    const shareStore = createShareStore(handle.db);
    const bus = createMemoryBus();
    const auth = await createAuth({
      metadata,
      accounts,
      sessionStore: createAuthSessionStore(handle.db),
      shareStore,
      rateLimits: createMemoryRateLimits(),
      bus,
      log: silentLogger,
      sessionTtlMs: 30 * DAY,
      now,
    });
    return { accounts, metadata, shareStore, auth };
  }
  let s: Awaited<ReturnType<typeof setup>>;

  beforeAll(async () => {
    const f = await flavour.setup();
    cleanup = f.cleanup;
    handle = await openMetadataDb(f.cfg);
    s = await setup();
  });
  afterAll(async () => {
    await s?.auth.close();
    await handle?.close();
    await cleanup?.();
  });

  it('first-run setup makes exactly one owner, even when two race', async () => {
    const hash = await hashPassword('first password 123');
    const results = await Promise.all(
      ['one@example.com', 'two@example.com'].map((email) => code(s.accounts.createFirstUser({ email, name: 'x', passwordHash: hash, orgName: 'Org' }))),
    );
    expect(results.sort()).toEqual(['409 setup_done', 'ok']);
    const users = await s.accounts.listUsers();
    expect(users).toHaveLength(1);
    expect(users[0]!.memberships.map((m) => m.role)).toEqual(['owner']);
  });

  it('sign-in: a session cookie resolves to the user; wrong passwords and unknown emails answer alike and lock out alike', async () => {
    const [owner] = await s.accounts.listUsers();
    const ok = await s.auth.signIn({ email: owner!.email.toUpperCase(), password: 'first password 123', ip: '10.0.0.1', userAgent: 'test' });
    const p = await s.auth.fromRequest({ headers: { cookie: `other=1; ${SESSION_COOKIE}=${ok.token}` } });
    expect(p).toMatchObject({ kind: 'user', userId: owner!.id });

    const attempt = (email: string) => code(s.auth.signIn({ email, password: 'wrong password!!', ip: '10.0.0.2', userAgent: 'test' }));
    const known: string[] = [];
    const unknown: string[] = [];
    for (let i = 0; i < 9; i++) {
      known.push(await attempt(owner!.email));
      unknown.push(await attempt('nobody@example.com'));
    }
    expect(known).toEqual(unknown);
    expect(known.slice(0, 8)).toEqual(Array(8).fill('401 bad_credentials'));
    expect(known[8]).toBe('429 rate_limited');
    // locked out even with the right password, with the same words for both
    const locked = await s.auth.signIn({ email: owner!.email, password: 'first password 123', ip: '10.0.0.3', userAgent: 't' }).catch((e: Error) => e.message);
    const lockedUnknown = await s.auth.signIn({ email: 'nobody@example.com', password: 'x', ip: '10.0.0.3', userAgent: 't' }).catch((e: Error) => e.message);
    expect(locked).toBe(lockedUnknown);
    expect(locked).toMatch(/^Too many sign-in attempts/);
  });

  it('sessions expire, slide after their first day, and end on sign-out everywhere', async () => {
    const [owner] = await s.accounts.listUsers();
    const session = await s.auth.sessions.create(owner!.id, { userAgent: 'a', ip: '' });
    const cookie = { cookie: `${SESSION_COOKIE}=${session.token}` };
    expect((await s.auth.sessions.resolve(session.token))?.extended).toBe(false);
    clock += 2 * DAY; // past the first day: extended to a full lifetime from now
    const slid = await s.auth.sessions.resolve(session.token);
    expect(slid?.extended).toBe(true);
    expect(slid!.expiresAt.getTime()).toBe(clock + 30 * DAY);
    clock += 31 * DAY;
    s.auth.sessions.forget(slid!.id); // what a node's cache would have forgotten by now
    expect(await s.auth.fromRequest({ headers: cookie })).toBeNull();
    clock = Date.now();

    const a = await s.auth.sessions.create(owner!.id, { userAgent: 'a', ip: '' });
    const b = await s.auth.sessions.create(owner!.id, { userAgent: 'b', ip: '' });
    expect(await s.auth.fromRequest({ headers: { cookie: `${SESSION_COOKIE}=${b.token}` } })).not.toBeNull();
    const revoked: string[] = [];
    const stop = s.auth.onRevoked((r) => revoked.push(r.kind));
    await s.auth.sessions.endAll(owner!.id);
    await s.auth.revoke({ kind: 'user', userId: owner!.id });
    stop();
    expect(revoked).toContain('user');
    for (const t of [a.token, b.token]) expect(await s.auth.fromRequest({ headers: { cookie: `${SESSION_COOKIE}=${t}` } })).toBeNull();
  });

  it('invitations are single use and expire; roles keep at least one owner', async () => {
    const org = (await s.accounts.firstOrg())!;
    const [owner] = await s.accounts.listUsers();
    const token = newToken('lpi');
    await s.accounts.createInvitation({
      orgId: org.id,
      email: 'Bob@Example.com',
      role: 'viewer',
      tokenHash: hashToken(token),
      invitedBy: owner!.id,
      expiresAt: new Date(Date.now() + DAY),
    });
    const newUser = { newUser: { email: 'bob@example.com', name: 'Bob', passwordHash: await hashPassword('bob password 123') } };
    const twice = await Promise.all([
      code(s.accounts.acceptInvitation(hashToken(token), new Date(), newUser)),
      code(s.accounts.acceptInvitation(hashToken(token), new Date(), newUser)),
    ]);
    expect(twice.sort()).toEqual(['410 expired', 'ok']);
    const bob = await s.accounts.getUserByEmail('bob@example.com');
    expect(await s.accounts.roleIn(org.id, bob!.id)).toBe('viewer');

    const old = newToken('lpi');
    await s.accounts.createInvitation({
      orgId: org.id,
      email: 'carol@example.com',
      role: 'member',
      tokenHash: hashToken(old),
      invitedBy: null,
      expiresAt: new Date(Date.now() - 1),
    });
    expect(await code(s.accounts.openInvitation(hashToken(old), new Date()))).toBe('410 expired');
    expect(await code(s.accounts.openInvitation(hashToken(newToken('lpi')), new Date()))).toBe('404 not_found');

    expect(await code(s.accounts.setRole(org.id, owner!.id, 'admin'))).toBe('409 conflict');
    expect(await code(s.accounts.removeMember(org.id, owner!.id))).toBe('409 conflict');
    await s.accounts.setRole(org.id, bob!.id, 'owner');
    expect(await code(s.accounts.setRole(org.id, owner!.id, 'admin'))).toBe('ok');
  });

  it('projects: a user reaches their organisation’s projects at their role’s level, and nothing else', async () => {
    const org = (await s.accounts.firstOrg())!;
    const bob = (await s.accounts.getUserByEmail('bob@example.com'))!;
    const stranger = await s.accounts.createFirstUser({ email: 'x@x.example', name: 'x', passwordHash: 'x', orgName: 'x' }).catch(() => null);
    expect(stranger).toBeNull(); // setup is over
    const other = await s.accounts.createOrg('Other', bob.id);
    const mine = await s.metadata.createProject({ name: 'Mine', domain: 'mine.example', orgId: org.id });
    const theirs = await s.metadata.createProject({ name: 'Theirs', domain: 'theirs.example', orgId: other.id });
    const owner = (await s.accounts.listUsers()).find((u) => u.email !== 'bob@example.com')!;
    const principal = { kind: 'user' as const, userId: owner.id, email: owner.email, sessionId: 'x', sessionToken: 'x', sessionExpiresAt: new Date() };
    expect(await s.auth.projectAccess(principal, mine.projectId)).toEqual({ level: 'admin', orgId: org.id });
    expect(await s.auth.projectAccess(principal, theirs.projectId)).toBeNull();
    expect(await code(s.auth.requireProject(principal, theirs.projectId, 'read'))).toBe('404 not_found');
    expect(await code(s.auth.requireProject(principal, 'no-such-project', 'read'))).toBe('404 not_found');
    expect(await code(s.auth.requireProject(null, mine.projectId, 'read'))).toBe('401 not_signed_in');
  });

  it('share links: token + grant, expiry, revocation; only hashes stored', async () => {
    const org = (await s.accounts.firstOrg())!;
    const p = await s.metadata.createProject({ name: 'Shared', domain: 'shared.example', orgId: org.id });
    const make = async (o: { password?: string; expiresAt?: Date | null }) => {
      const token = newToken('lpsh');
      const share = await s.shareStore.create({
        projectId: p.projectId,
        name: 'TV',
        tokenHash: hashToken(token),
        target: { kind: 'realtime' },
        passwordHash: o.password ? await hashPassword(o.password) : null,
        filter: null,
        frameAncestors: ['*'],
        expiresAt: o.expiresAt ?? null,
        createdBy: null,
      });
      return { token, share };
    };
    const open = await make({});
    expect(await s.auth.fromRequest({ headers: { 'x-livepanel-share': open.token } })).toMatchObject({
      kind: 'share',
      projectId: p.projectId,
      target: { kind: 'realtime' },
    });
    expect(JSON.stringify(await s.shareStore.list(p.projectId))).not.toContain(open.token);

    const locked = await make({ password: 'share password 1' });
    expect(await code(s.auth.shares.resolve(locked.token))).toBe('401 password_required');
    expect(await code(s.auth.shares.unlock(locked.token, 'wrong one'))).toBe('401 bad_credentials');
    const { grant } = await s.auth.shares.unlock(locked.token, 'share password 1');
    expect(await s.auth.shares.resolve(locked.token, grant)).toMatchObject({ shareId: locked.share.id });
    expect(await code(s.auth.shares.resolve(locked.token, `${grant}x`))).toBe('401 password_required');

    const soon = await make({ expiresAt: new Date(clock + 60_000) });
    expect(await code(s.auth.shares.resolve(soon.token))).toBe('ok');
    clock += 61_000;
    expect(await code(s.auth.shares.resolve(soon.token))).toBe('410 expired');
    clock = Date.now();

    await s.shareStore.revoke(p.projectId, open.share.id, new Date());
    await s.auth.revoke({ kind: 'share-token', id: open.share.id });
    expect(await code(s.auth.shares.resolve(open.token))).toBe('410 expired');
    expect(await code(s.auth.shares.resolve(newToken('lpsh')))).toBe('404 not_found');
  });
});

describe('an existing install migrates', () => {
  it('projects made before organisations existed join one organisation; the first user becomes its owner', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lp-migrate-'));
    try {
      // The schema as the first release left it: only migration 0000.
      const all = fileURLToPath(new URL('../../db/migrations', import.meta.url));
      const old = path.join(dir, 'migrations');
      cpSync(all, old, { recursive: true });
      const journal = JSON.parse(readFileSync(path.join(old, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> };
      journal.entries = journal.entries.filter((e) => e.tag === '0000_metadata_init');
      writeFileSync(path.join(old, 'meta/_journal.json'), JSON.stringify(journal));
      const client = await PGlite.create(path.join(dir, 'pg'));
      await migrate(drizzle({ client }), { migrationsFolder: old });
      await client.exec(`insert into projects (id, name, domain) values ('oldproject01', 'Old', 'old.example');
        insert into clients (id, project_id, name, type, secret_hash, allowed_origins) values ('11111111-1111-4111-8111-111111111111', 'oldproject01', 'Root', 'root', 'x', '{old.example}');`);
      await client.close();

      const handle = await openMetadataDb({ kind: 'pglite', dir: path.join(dir, 'pg') });
      try {
        const accounts = createAccounts(handle.db);
        const metadata = createMetadata(handle.db);
        const [project] = await metadata.listProjects();
        expect(project).toMatchObject({ id: 'oldproject01', allowedOrigins: ['old.example'], timezone: 'UTC' });
        const org = await accounts.firstOrg();
        expect(project!.orgId).toBe(org!.id);
        const owner = await accounts.createFirstUser({ email: 'owner@old.example', name: 'Owner', passwordHash: 'x', orgName: 'ignored' });
        expect(owner.orgId).toBe(org!.id);
        expect(await accounts.roleIn(org!.id, owner.id)).toBe('owner');
        expect((await metadata.getClient('11111111-1111-4111-8111-111111111111'))?.allowedOrigins).toEqual(['old.example']);
      } finally {
        await handle.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
