/**
 * Dashboard sessions: a random token in an httpOnly cookie, its SHA-256 in PostgreSQL with an
 * expiry. Sliding: a session used after the first day of its life is extended to a full
 * lifetime again (one write per session per day). Lookups are cached for a few seconds;
 * revocations (sign-out, sign out everywhere, password change) drop the cache entry on every
 * node through the auth module's bus message, so the cache only bounds a lost message.
 */
import { LRUCache } from 'lru-cache';
import type { AuthSessionStore } from '../store/auth-sessions.ts';
import { hashToken, newToken, tokenShape } from './tokens.ts';

export const SESSION_COOKIE = 'lp_session';
const DAY_MS = 86_400_000;

export interface ResolvedSession {
  id: string;
  userId: string;
  expiresAt: Date;
  /** true when this lookup extended the session (re-send the cookie) */
  extended: boolean;
}

export interface UserSessionsOptions {
  store: AuthSessionStore;
  ttlMs: number;
  now?: () => number;
  cacheTtlMs?: number;
}

export function createUserSessions(o: UserSessionsOptions) {
  const now = o.now ?? Date.now;
  const cache = new LRUCache<string, { id: string; userId: string; expiresAt: Date }>({ max: 20_000, ttl: o.cacheTtlMs ?? 5000 });
  const byId = new Map<string, string>(); // session id → token hash, to drop cache entries on revocation

  function remember(hash: string, s: { id: string; userId: string; expiresAt: Date }) {
    cache.set(hash, s);
    byId.set(s.id, hash);
    if (byId.size > 40_000) byId.clear(); // only a shortcut for forget(); the cache TTL bounds staleness anyway
  }

  return {
    ttlMs: o.ttlMs,

    async create(userId: string, info: { userAgent: string; ip: string }): Promise<{ token: string; id: string; expiresAt: Date }> {
      const token = newToken('lps');
      const expiresAt = new Date(now() + o.ttlMs);
      const row = await o.store.create({ userId, tokenHash: hashToken(token), expiresAt, userAgent: info.userAgent, ip: info.ip });
      return { token, id: row.id, expiresAt };
    },

    /** The live session for a cookie token, or null (malformed, unknown, expired, revoked). */
    async resolve(token: string | undefined): Promise<ResolvedSession | null> {
      if (!tokenShape('lps', token)) return null;
      const hash = hashToken(token);
      const at = new Date(now());
      let s = cache.get(hash);
      if (!s) {
        const found = await o.store.find(hash, at);
        if (!found) return null;
        s = found;
        remember(hash, s);
      }
      if (s.expiresAt <= at) {
        cache.delete(hash);
        return null;
      }
      // Past its first day: extend to a full lifetime again.
      if (s.expiresAt.getTime() - at.getTime() < o.ttlMs - DAY_MS) {
        const expiresAt = new Date(at.getTime() + o.ttlMs);
        await o.store.extend(s.id, expiresAt);
        s = { ...s, expiresAt };
        remember(hash, s);
        return { ...s, extended: true };
      }
      return { ...s, extended: false };
    },

    /** Ends one session (sign-out). */
    async end(sessionId: string): Promise<void> {
      await o.store.delete(sessionId);
      this.forget(sessionId);
    },

    /** Ends every session of a user but `keep`; returns the ids ended. */
    async endAll(userId: string, keep?: string): Promise<string[]> {
      const ids = await o.store.deleteAllOf(userId, keep);
      for (const id of ids) this.forget(id);
      return ids;
    },

    /** Drops a session from this node's cache (a revocation from any node). */
    forget(sessionId: string): void {
      const hash = byId.get(sessionId);
      if (hash) cache.delete(hash);
      byId.delete(sessionId);
    },

    /** Drops every cached session of a user. */
    forgetUser(userId: string): void {
      for (const [hash, s] of cache.entries()) if (s.userId === userId) cache.delete(hash);
    },

    /** A user's live sessions (their devices), newest first. */
    list: (userId: string) => o.store.listOf(userId, new Date(now())),

    deleteExpired: () => o.store.deleteExpired(new Date(now())),
  };
}

export type UserSessions = ReturnType<typeof createUserSessions>;

/** `Set-Cookie` value for a session token (`maxAgeMs` 0 clears it). */
export function sessionCookie(token: string, maxAgeMs: number, secure: boolean): string {
  const parts = [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`];
  if (secure) parts.push('Secure');
  return parts.join('; ');
}

/** The value of cookie `name` in a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
