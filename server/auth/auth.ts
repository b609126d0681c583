/**
 * The auth module's front door: every HTTP request and live socket is turned into a principal
 * here (API client, signed-in user, or share link), and every route asks it whether that
 * principal may act on a project or organisation. Revocations (a client disabled or rotated,
 * a user signed out everywhere or removed, a share revoked) are applied on this node at once
 * and sent to every other node over the bus; live sockets listen through `onRevoked`.
 */
import { LRUCache } from 'lru-cache';
import { AUTH_CHANNELS, type ProjectLevel, Revocation, type Role } from '../../shared/auth.ts';
import type { Bus } from '../engines/bus.ts';
import type { RateLimits } from '../engines/rate-limit.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Accounts } from '../store/accounts.ts';
import type { AuthSessionStore } from '../store/auth-sessions.ts';
import { type Metadata, verifySecret } from '../store/metadata.ts';
import type { ShareStore } from '../store/shares.ts';
import { createAuthenticator } from './clients.ts';
import { levelAtLeast, levelOfClient, levelOfRole, type Principal, type UserPrincipal } from './principal.ts';
import { createShareLinks } from './share-links.ts';
import { createSignIn } from './sign-in.ts';
import { createUserSessions, readCookie, SESSION_COOKIE } from './user-sessions.ts';

export const SHARE_HEADER = 'x-livepanel-share';
export const SHARE_GRANT_HEADER = 'x-livepanel-share-grant';

export interface AuthOptions {
  metadata: Metadata;
  accounts: Accounts;
  sessionStore: AuthSessionStore;
  shareStore: ShareStore;
  rateLimits: RateLimits;
  bus: Bus;
  log: Logger;
  /** Lifetime of a dashboard session (sliding). */
  sessionTtlMs: number;
  /** Most unknown client ids remembered (MAX_UNKNOWN_CLIENT_IDS). */
  maxUnknownClientIds?: number;
  now?: () => number;
}

/** What a request carries that can authenticate it. */
export interface RequestCredentials {
  headers: Record<string, string | undefined>;
}

export interface ProjectAccess {
  level: ProjectLevel;
  /** the project's organisation (known for users; null for clients and shares) */
  orgId: string | null;
}

export type Auth = Awaited<ReturnType<typeof createAuth>>;

export async function createAuth(o: AuthOptions) {
  const log = o.log.child({ module: 'auth' });
  const now = o.now ?? Date.now;
  const clients = createAuthenticator({ getClient: o.metadata.getClient, verifySecret, maxUnknownIds: o.maxUnknownClientIds });
  const sessions = createUserSessions({ store: o.sessionStore, ttlMs: o.sessionTtlMs, now });
  const shares = createShareLinks({ store: o.shareStore, now });
  const signIn = createSignIn({ accounts: o.accounts, sessions, rateLimits: o.rateLimits, now });
  const memberships = new LRUCache<string, Map<string, Role>>({ max: 20_000, ttl: 5000 });
  const projectOrgs = new LRUCache<string, { orgId: string | null }>({ max: 50_000, ttl: 30_000 });
  const listeners = new Set<(r: Revocation) => void>();

  function apply(r: Revocation) {
    if (r.kind === 'client') clients.forget(r.id);
    else if (r.kind === 'user-session') sessions.forget(r.id);
    else if (r.kind === 'user') {
      sessions.forgetUser(r.userId);
      memberships.delete(r.userId);
    } else if (r.kind === 'share-token') shares.forget(r.id);
    else if (r.kind === 'project') {
      clients.forgetProject(r.id);
      projectOrgs.delete(r.id);
    }
    for (const fn of listeners) {
      try {
        fn(r);
      } catch (err) {
        log.error({ err }, 'revocation listener failed');
      }
    }
  }

  const unsubscribe = await o.bus.subscribe(AUTH_CHANNELS.revoked, (msg: unknown) => {
    const parsed = Revocation.safeParse(msg);
    if (parsed.success) apply(parsed.data);
    else log.warn({ msg }, 'unreadable revocation message');
  });

  async function rolesOf(userId: string): Promise<Map<string, Role>> {
    let m = memberships.get(userId);
    if (!m) {
      m = new Map((await o.accounts.membershipsOf(userId)).map((x) => [x.orgId, x.role]));
      memberships.set(userId, m);
    }
    return m;
  }

  async function orgOf(projectId: string): Promise<string | null> {
    let hit = projectOrgs.get(projectId);
    if (!hit) {
      hit = { orgId: projectId.length <= 64 ? await o.metadata.projectOrg(projectId) : null };
      projectOrgs.set(projectId, hit);
    }
    return hit.orgId;
  }

  /** A signed-in user from the session cookie, or null. */
  async function user(headers: RequestCredentials['headers']): Promise<(UserPrincipal & { extended: boolean }) | null> {
    const token = readCookie(headers.cookie, SESSION_COOKIE);
    const s = token ? await sessions.resolve(token) : null;
    if (!s || !token) return null;
    const u = await o.accounts.getUser(s.userId);
    if (!u) return null;
    return { kind: 'user', userId: u.id, email: u.email, sessionId: s.id, sessionToken: token, sessionExpiresAt: s.expiresAt, extended: s.extended };
  }

  return {
    clients,
    sessions,
    shares,
    signIn,

    /**
     * The principal a request authenticates as, or null when it carries no credentials. Explicit
     * credentials win over the cookie: an API client's id (+ secret), then a share token.
     * Bad credentials throw (401), they never fall back to another kind.
     */
    async fromRequest(req: RequestCredentials): Promise<Principal | null> {
      const h = req.headers;
      if (h['openpanel-client-id']) {
        const c = await clients.forApi({ clientId: h['openpanel-client-id'], secret: h['openpanel-client-secret'] });
        return { kind: 'client', ...c };
      }
      if (h[SHARE_HEADER]) return shares.resolve(h[SHARE_HEADER], h[SHARE_GRANT_HEADER]);
      return user(h);
    },

    /** The signed-in user of a request (cookie only), with whether the session was just extended. */
    user,

    /** What `p` may do on `projectId`, or null when nothing (or no such project). */
    async projectAccess(p: Principal, projectId: string): Promise<ProjectAccess | null> {
      if (p.kind === 'client') {
        const level = p.projectId === projectId ? levelOfClient(p.clientType) : null;
        return level && { level, orgId: null };
      }
      if (p.kind === 'share') return p.projectId === projectId ? { level: 'read', orgId: null } : null;
      const orgId = await orgOf(projectId);
      const role = orgId ? (await rolesOf(p.userId)).get(orgId) : undefined;
      return role && orgId ? { level: levelOfRole(role), orgId } : null;
    },

    /**
     * Throws unless `p` holds `level` on `projectId`: 401 without a principal, 404 when a user
     * cannot see the project at all (another organisation's or none: the same answer, so ids
     * cannot be probed), 403 when they can see it but not do this, or for a client or share
     * of another project.
     */
    async requireProject(p: Principal | null, projectId: string, level: ProjectLevel): Promise<ProjectAccess> {
      if (!p) throw new AppError(401, 'not_signed_in', 'Sign in, or send an API client id and secret');
      const access = await this.projectAccess(p, projectId);
      if (!access) {
        if (p.kind === 'user') throw new AppError(404, 'not_found', 'No such project');
        if (p.kind === 'client')
          throw new AppError(403, 'forbidden', p.projectId === projectId ? 'A write client cannot read' : 'This client belongs to another project');
        throw new AppError(403, 'forbidden', 'This share link is for another project');
      }
      if (!levelAtLeast(access.level, level)) throw new AppError(403, 'forbidden', `This needs ${level} access to the project`);
      return access;
    },

    /** Throws unless `p` is a signed-in user with at least `role` in `orgId` (404 when not a member at all). */
    async requireOrg(p: Principal | null, orgId: string, role: Role): Promise<Role> {
      const u = this.requireUser(p);
      const has = (await rolesOf(u.userId)).get(orgId);
      if (!has) throw new AppError(404, 'not_found', 'No such organisation');
      const rank = { viewer: 1, member: 2, admin: 3, owner: 4 } as const;
      if (rank[has] < rank[role]) throw new AppError(403, 'forbidden', `This needs the ${role} role in the organisation`);
      return has;
    },

    /** The principal as a signed-in user; 401 for nobody, 403 for clients and shares (people use the dashboard signed in). */
    requireUser(p: Principal | null): UserPrincipal {
      if (!p) throw new AppError(401, 'not_signed_in', 'Sign in first');
      if (p.kind !== 'user') throw new AppError(403, 'forbidden', 'Only a signed-in user may do this');
      return p;
    },

    /** Every organisation role of a user (cached for a few seconds, dropped on revocation). */
    rolesOf,

    /** Stops trusting a credential on every node, this one first. */
    async revoke(r: Revocation): Promise<void> {
      apply(r);
      await o.bus
        .publish(AUTH_CHANNELS.revoked, r)
        .catch((err) => log.error({ err, revocation: r }, 'revocation not broadcast; other nodes catch up when their caches expire'));
    },

    /** Calls `fn` for every revocation applied on this node (live sockets disconnect with it). */
    onRevoked(fn: (r: Revocation) => void): () => void {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },

    async close(): Promise<void> {
      listeners.clear();
      await unsubscribe();
    },
  };
}
