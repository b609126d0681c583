/**
 * Share-link tokens: turn a token from a share URL (and, for a password-protected share, a
 * grant) into a read-only `share` principal. A grant is what unlocking with the password
 * gives back: an HMAC of the share id keyed by the share's password hash — it proves the
 * password was known without keeping it in the viewer's browser, needs no server-wide secret,
 * and dies with the share or a password change. TVs keep it to reconnect for weeks.
 */
import { createHmac } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type ShareFilter, ShareFilter as ShareFilterSchema, type ShareTarget } from '../../shared/auth.ts';
import { AppError } from '../errors.ts';
import type { ShareRecord, ShareStore } from '../store/shares.ts';
import { verifyPassword } from './passwords.ts';
import type { SharePrincipal } from './principal.ts';
import { hashToken, safeEqual, tokenShape } from './tokens.ts';

export function shareGrant(share: Pick<ShareRecord, 'id' | 'passwordHash'>): string {
  return createHmac('sha256', share.passwordHash ?? '')
    .update(`livepanel-share-grant:${share.id}`)
    .digest('base64url');
}

const gone = () => new AppError(410, 'expired', 'This share link has expired or was revoked');
const unknown = () => new AppError(404, 'not_found', 'This share link does not exist');

export function createShareLinks(o: { store: ShareStore; now?: () => number; cacheTtlMs?: number }) {
  const now = o.now ?? Date.now;
  const cache = new LRUCache<string, { record: ShareRecord | null }>({ max: 10_000, ttl: o.cacheTtlMs ?? 5000 });

  async function lookup(token: string | undefined): Promise<ShareRecord> {
    if (!tokenShape('lpsh', token)) throw unknown();
    const hash = hashToken(token);
    let hit = cache.get(hash);
    if (!hit) {
      hit = { record: await o.store.byTokenHash(hash) };
      cache.set(hash, hit);
    }
    const r = hit.record;
    if (!r) throw unknown();
    if (r.revokedAt || (r.expiresAt && r.expiresAt.getTime() <= now())) throw gone();
    return r;
  }

  function principal(r: ShareRecord): SharePrincipal {
    const filter = ShareFilterSchema.safeParse(r.filter);
    return {
      kind: 'share',
      shareId: r.id,
      projectId: r.projectId,
      target: r.target as ShareTarget,
      filter: filter.success && filter.data.length > 0 ? (filter.data as ShareFilter) : null,
      expiresAt: r.expiresAt,
    };
  }

  return {
    /**
     * The share's public facts, for its page before any password: 404/410 when it cannot be used.
     * With no password, or the password's grant, also its fixed filter (`unlocked`).
     */
    async describe(token: string | undefined, grant?: string) {
      const r = await lookup(token);
      const unlocked = r.passwordHash === null || (grant !== undefined && safeEqual(grant, shareGrant(r)));
      return {
        projectId: r.projectId,
        name: r.name,
        target: r.target,
        needsPassword: r.passwordHash !== null,
        unlocked,
        ...(unlocked && { filter: principal(r).filter }),
        expiresAt: r.expiresAt?.toISOString() ?? null,
      };
    },

    /** The principal for a token (and grant): 404/410 for a dead link, 401 `password_required` without a valid grant. */
    async resolve(token: string | undefined, grant?: string): Promise<SharePrincipal> {
      const r = await lookup(token);
      if (r.passwordHash !== null && !(grant && safeEqual(grant, shareGrant(r)))) {
        throw new AppError(401, 'password_required', 'This share link is protected by a password');
      }
      return principal(r);
    },

    /** Checks the password of a share; returns the grant to present from now on. */
    async unlock(token: string | undefined, password: string): Promise<{ grant: string; shareId: string }> {
      const r = await lookup(token);
      if (r.passwordHash === null) return { grant: '', shareId: r.id };
      if (!(await verifyPassword(r.passwordHash, password))) throw new AppError(401, 'bad_credentials', 'Wrong password for this share link');
      return { grant: shareGrant(r), shareId: r.id };
    },

    /**
     * The CSP `frame-ancestors` sources of a share page: the sites its creator allowed (`*` for
     * any), `'none'` for none or for a link that is unknown, revoked or expired.
     */
    async frameAncestors(token: string): Promise<string> {
      const r = await lookup(token).catch(() => null);
      if (!r || r.frameAncestors.length === 0) return "'none'";
      return r.frameAncestors.join(' ');
    },

    /** Drops a share from this node's cache (revoked on any node). */
    forget(shareId: string): void {
      for (const [hash, v] of cache.entries()) if (v.record?.id === shareId) cache.delete(hash);
    },
  };
}

export type ShareLinks = ReturnType<typeof createShareLinks>;
