/**
 * Share links API: project members with `write` access list, create and revoke a project's
 * share links (`/api/v1/projects/:projectId/shares`); anyone holding a link reads what it
 * shows (`/api/share/:token`) and unlocks a password-protected one. A link is shown once,
 * when made — with its TV URL and iframe snippet — since only its hash is kept. Revoking
 * disconnects every live socket using it, on every node.
 */
import { CreateShareBody, UnlockShareBody } from '../../shared/auth.ts';
import { liveFilterProblem } from '../../shared/share-view.ts';
import { SHARE_GRANT_HEADER } from '../auth/auth.ts';
import { hashPassword } from '../auth/passwords.ts';
import { hashToken, newToken } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';
import { type ApiDeps, auditEntry, baseUrl } from './deps.ts';
import type { Router } from './router.ts';

/** A CSP `frame-ancestors` source: `*`, `https://host[:port]`, `host`, `*.host`. */
const FRAME_SOURCE = /^(\*|(https?:\/\/)?(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?)$/;
/** Password guesses per link and address (each costs an argon2 verification). */
const UNLOCK_RULE = { name: 'share-unlock', points: 10, durationMs: 10 * 60_000, blockDurationMs: 10 * 60_000 };

export interface ShareRouteOptions {
  /** True when `boardId` is a saved board of `projectId` (boards plug in here). */
  boardExists?(projectId: string, boardId: string): Promise<boolean>;
}

export function shareLinks(base: string, token: string) {
  const url = `${base}/share/${token}`;
  return {
    url,
    tvUrl: `${url}?tv=1`,
    embed: `<iframe src="${url}?embed=1" title="Livepanel" style="border:0;width:100%;height:600px" loading="lazy" allow="fullscreen"></iframe>`,
  };
}

export function shareRoutes(r: Router, deps: ApiDeps, opts: ShareRouteOptions = {}): void {
  const { shareStore, audit, auth } = deps;
  const unlockLimit = deps.rateLimits.limiter(UNLOCK_RULE);
  const base = '/api/v1/projects/:projectId/shares';

  r.route({ method: 'GET', path: base, access: { kind: 'project', level: 'write' }, summary: "The project's share links (never their tokens)" }, async (ctx) =>
    ctx.c.json({ data: await shareStore.list(ctx.projectId) }),
  );

  r.route(
    { method: 'POST', path: base, access: { kind: 'project', level: 'write' }, summary: 'Create a share link; its URLs are in this answer only' },
    async (ctx) => {
      const b = await ctx.body(CreateShareBody);
      if (b.target.kind === 'board' && !(await opts.boardExists?.(ctx.projectId, b.target.id))) {
        throw new AppError(400, 'invalid_body', `No board ${JSON.stringify(b.target.id)} in this project`);
      }
      // A live link's filter is evaluated on each event as it arrives (shared/share-view.ts).
      const live = b.target.kind !== 'overview' && b.filter ? liveFilterProblem(b.filter) : null;
      if (live) throw new AppError(400, 'invalid_query', `A ${b.target.kind} link's fixed filter: ${live}`);
      const expiresAt = b.expiresAt ? new Date(b.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) throw new AppError(400, 'invalid_body', 'expiresAt must be in the future');
      const frameAncestors = [...new Set(b.frameAncestors.map((s) => s.toLowerCase().replace(/\/+$/, '')))];
      const bad = frameAncestors.find((s) => !FRAME_SOURCE.test(s));
      if (bad)
        throw new AppError(400, 'invalid_body', `not a site for frame-ancestors: ${JSON.stringify(bad)} (e.g. https://intranet.example.com, *.example.com, *)`);
      const token = newToken('lpsh');
      const share = await shareStore.create({
        projectId: ctx.projectId,
        name: b.name,
        tokenHash: hashToken(token),
        target: b.target,
        passwordHash: b.password ? await hashPassword(b.password) : null,
        filter: b.filter && b.filter.length > 0 ? b.filter : null,
        frameAncestors,
        expiresAt,
        createdBy: ctx.user!.userId,
      });
      await audit.record(
        auditEntry(ctx, {
          orgId: ctx.orgId,
          projectId: ctx.projectId,
          action: 'share.create',
          targetType: 'share',
          targetId: share.id,
          details: { name: b.name, target: b.target },
        }),
      );
      return ctx.c.json({ share, token, ...shareLinks(baseUrl(deps, ctx), token) }, 201);
    },
  );

  r.route(
    { method: 'DELETE', path: `${base}/:shareId`, access: { kind: 'project', level: 'write' }, summary: 'Revoke a share link (its viewers are disconnected)' },
    async (ctx) => {
      const shareId = ctx.param('shareId');
      const share = await shareStore.revoke(ctx.projectId, shareId, new Date());
      await auth.revoke({ kind: 'share-token', id: share.id });
      await audit.record(
        auditEntry(ctx, {
          orgId: ctx.orgId,
          projectId: ctx.projectId,
          action: 'share.revoke',
          targetType: 'share',
          targetId: share.id,
          details: { name: share.name },
        }),
      );
      return ctx.c.json({ share });
    },
  );

  r.route(
    {
      method: 'GET',
      path: '/api/share/:token',
      access: { kind: 'public' },
      summary: 'What a share link shows (404 unknown, 410 expired or revoked); with its grant, whether unlocked and its fixed filter',
    },
    async (ctx) => {
      const d = await auth.shares.describe(ctx.param('token'), ctx.c.req.header(SHARE_GRANT_HEADER) || undefined);
      const project = await deps.metadata.getProject(d.projectId);
      if (!project) throw new AppError(404, 'not_found', 'This share link does not exist');
      return ctx.c.json({ ...d, projectName: project.name, timezone: project.timezone });
    },
  );

  r.route(
    {
      method: 'POST',
      path: '/api/share/:token/unlock',
      access: { kind: 'public' },
      summary: 'Check a share password; answers the grant to present from then on',
    },
    async (ctx) => {
      const token = ctx.param('token');
      const b = await ctx.body(UnlockShareBody);
      const limit = await unlockLimit.consume(`${hashToken(token).slice(0, 32)}:${ctx.ip}`);
      if (!limit.allowed) {
        const err = new AppError(429, 'rate_limited', 'Too many attempts for this link. Try again later.');
        err.retryAfterMs = limit.retryAfterMs;
        throw err;
      }
      return ctx.c.json(await auth.shares.unlock(token, b.password));
    },
  );
}
