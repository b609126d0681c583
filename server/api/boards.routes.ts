/**
 * Boards API under `/api/v1/projects/:projectId/boards`: a project's users list and read its
 * boards (viewers included); members and above create, change and delete them. A share link
 * whose target is a board reads that board (and nothing else) at `/api/share/:token/board`,
 * which is how TVs and embeds get their layout. Changes are audited.
 */
import { CreateBoardBody, UpdateBoardBody } from '../../shared/boards.ts';
import { SHARE_GRANT_HEADER } from '../auth/auth.ts';
import { AppError } from '../errors.ts';
import type { BoardStore } from '../store/boards.ts';
import { type ApiDeps, auditEntry } from './deps.ts';
import type { Router } from './router.ts';

export function boardRoutes(r: Router, deps: ApiDeps & { boards: BoardStore }): void {
  const { audit } = deps;
  const store = () => deps.boards;
  const base = '/api/v1/projects/:projectId/boards';

  r.route({ method: 'GET', path: base, access: { kind: 'project', level: 'read' }, summary: "The project's boards" }, async (ctx) =>
    ctx.c.json({ data: await store().list(ctx.projectId) }),
  );

  r.route({ method: 'GET', path: `${base}/:boardId`, access: { kind: 'project', level: 'read' }, summary: 'One board' }, async (ctx) => {
    const b = await store().get(ctx.projectId, ctx.param('boardId'));
    if (!b) throw new AppError(404, 'not_found', 'No such board');
    return ctx.c.json(b);
  });

  r.route(
    {
      method: 'GET',
      path: '/api/share/:token/board',
      access: { kind: 'public' },
      summary: 'The board a board share shows (the grant of a password-protected link in x-livepanel-share-grant)',
    },
    async (ctx) => {
      const share = await deps.auth.shares.resolve(ctx.param('token'), ctx.c.req.header(SHARE_GRANT_HEADER));
      if (share.target.kind !== 'board') throw new AppError(404, 'not_found', 'This share link does not share a board');
      const b = await store().get(share.projectId, share.target.id);
      if (!b) throw new AppError(404, 'not_found', 'The board this link shares was deleted');
      return ctx.c.json(b);
    },
  );

  r.route({ method: 'POST', path: base, access: { kind: 'project', level: 'write' }, summary: 'Create a board' }, async (ctx) => {
    const b = await ctx.body(CreateBoardBody);
    const board = await store().create({ projectId: ctx.projectId, name: b.name, layout: b.layout, createdBy: ctx.user?.userId ?? null });
    await audit.record(
      auditEntry(ctx, {
        orgId: ctx.orgId,
        projectId: ctx.projectId,
        action: 'board.create',
        targetType: 'board',
        targetId: board.id,
        details: { name: b.name },
      }),
    );
    return ctx.c.json(board, 201);
  });

  r.route(
    {
      method: 'PATCH',
      path: `${base}/:boardId`,
      access: { kind: 'project', level: 'write' },
      summary: 'Rename a board or replace its layout (with `version`: 409 when changed since)',
    },
    async (ctx) => {
      const b = await ctx.body(UpdateBoardBody);
      const board = await store().update(ctx.projectId, ctx.param('boardId'), b);
      await audit.record(
        auditEntry(ctx, {
          orgId: ctx.orgId,
          projectId: ctx.projectId,
          action: 'board.update',
          targetType: 'board',
          targetId: board.id,
          details: { name: board.name, version: board.version, tiles: board.layout.tiles.length },
        }),
      );
      return ctx.c.json(board);
    },
  );

  r.route(
    { method: 'DELETE', path: `${base}/:boardId`, access: { kind: 'project', level: 'write' }, summary: 'Delete a board (its share links then show nothing)' },
    async (ctx) => {
      const board = await store().delete(ctx.projectId, ctx.param('boardId'));
      await audit.record(
        auditEntry(ctx, {
          orgId: ctx.orgId,
          projectId: ctx.projectId,
          action: 'board.delete',
          targetType: 'board',
          targetId: board.id,
          details: { name: board.name },
        }),
      );
      return ctx.c.json({ ok: true });
    },
  );
}
