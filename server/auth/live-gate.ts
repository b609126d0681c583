/**
 * The auth module's side of the live channel: turns a socket.io handshake into an admission
 * (signed-in user by cookie, share link, or read/root API client), answers later
 * `subscribe`s, and tells the channel which sockets a revocation ends.
 *  - a user joins the project named in the handshake if their organisation role lets them
 *    read it; a cookie handshake must come from this Livepanel's own pages (`Origin`);
 *  - a share joins its own project only, and only a realtime or board share (an overview
 *    share's page reads the query API); it stays out of the project's room and watches its
 *    view's tiles only, its fixed filter ANDed into each (share-view.ts), through `shareTiles`;
 *  - a client joins its own project (`read` or `root` with the secret).
 * A handshake `auth` over `MAX_LIVE_AUTH_BYTES` of JSON (every real one is a few hundred) is
 * refused with `payload_too_large` before anything is looked up; socket.io's own message limit
 * (`maxHttpBufferSize` in live.socket.ts, 1 MiB) cuts the transport only past a far larger size.
 */

import type { Revocation } from '../../shared/auth.ts';
import { LiveClientAuth, LiveShareAuth, LiveUserAuth } from '../../shared/live.ts';
import { AppError } from '../errors.ts';
import type { LiveAdmission, LiveGate } from '../live/live.socket.ts';
import type { Auth } from './auth.ts';
import type { Authenticator } from './clients.ts';
import type { Principal } from './principal.ts';
import type { ShareViews } from './share-view.ts';

/** What the gate needs: all of `Auth` in the server; only `clients` where only API clients watch (tests). */
export type LiveGateAuth = { clients: Pick<Authenticator, 'forRead'> } & Partial<Pick<Auth, 'shares' | 'user' | 'projectAccess' | 'onRevoked'>>;

/** Largest handshake `auth` accepted, as JSON bytes (ids, a secret or token, a grant). */
export const MAX_LIVE_AUTH_BYTES = 4096;

/** The JSON size of a handshake payload; anything that cannot be measured (nested past the stack) counts as too large. */
function jsonBytes(v: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export function createLiveGate(auth: LiveGateAuth, opts: { ownOrigins?: readonly string[]; shareViews?: ShareViews } = {}): LiveGate {
  const own = new Set((opts.ownOrigins ?? []).map((o) => o.replace(/\/+$/, '').toLowerCase()));

  return {
    async admit({ auth: payload, headers }): Promise<LiveAdmission> {
      if (jsonBytes(payload) > MAX_LIVE_AUTH_BYTES) {
        throw new AppError(413, 'payload_too_large', `Handshake auth is larger than ${MAX_LIVE_AUTH_BYTES} bytes of JSON`);
      }
      const client = LiveClientAuth.safeParse(payload);
      if (client.success) {
        const c = await auth.clients.forRead({ clientId: client.data.clientId, secret: client.data.clientSecret }, client.data.projectId);
        return { credential: `client:${c.clientId}`, projectIds: [c.projectId] };
      }
      const share = LiveShareAuth.safeParse(payload);
      if (share.success && auth.shares) {
        const s = await auth.shares.resolve(share.data.share, share.data.grant);
        if (s.target.kind === 'overview') throw new AppError(403, 'forbidden', 'An overview share has no live view');
        return {
          credential: `share-token:${s.shareId}`,
          projectIds: [s.projectId],
          expiresAt: s.expiresAt,
          share: { shareId: s.shareId, target: s.target, filter: s.filter, filtered: (s.filter?.length ?? 0) > 0 },
        };
      }
      const user = LiveUserAuth.safeParse(payload);
      if (user.success && auth.user && auth.projectAccess) {
        const origin = headers.origin?.toLowerCase();
        const host = headers.host?.toLowerCase();
        const sameOrigin = !origin || own.has(origin) || (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
        if (!sameOrigin) throw new AppError(403, 'forbidden', 'Signed-in live sockets are accepted from this Livepanel’s own pages only');
        const u = await auth.user(headers);
        if (!u) throw new AppError(401, 'not_signed_in', 'Sign in to watch this project');
        const access = await auth.projectAccess(u as Principal, user.data.projectId);
        if (!access) throw new AppError(404, 'not_found', 'No such project');
        return { credential: `user-session:${u.sessionId}`, userId: u.userId, projectIds: [user.data.projectId] };
      }
      throw new AppError(400, 'invalid_body', 'Handshake auth must be { projectId } (signed in), { share, grant? } or { clientId, clientSecret, projectId }');
    },

    async mayWatch(a, projectId) {
      // Users may watch any project their roles let them read; clients and shares only the one they name.
      if (!a.userId || !auth.projectAccess || !auth.user) return false;
      const sessionId = a.credential.slice('user-session:'.length);
      return (await auth.projectAccess({ kind: 'user', userId: a.userId, sessionId } as Principal, projectId)) !== null;
    },

    async shareTiles(a, projectId, tiles) {
      if (!a.share || !opts.shareViews || !a.projectIds.includes(projectId))
        return { ok: false, code: 'forbidden', message: 'This connection watches no tiles' };
      return opts.shareViews.check(a.share, projectId, tiles);
    },

    onRevoked: auth.onRevoked
      ? (fn) =>
          auth.onRevoked!((r: Revocation) => {
            if (r.kind === 'client') fn((a) => a.credential === `client:${r.id}`);
            else if (r.kind === 'user-session') fn((a) => a.credential === `user-session:${r.id}`);
            else if (r.kind === 'user') fn((a) => a.userId === r.userId);
            else if (r.kind === 'share-token') fn((a) => a.credential === `share-token:${r.id}`);
          })
      : undefined,
  };
}
