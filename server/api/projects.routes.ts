/**
 * Project management API under `/api/v1/projects/:projectId`: settings (name, domain, time
 * zone, allowed origins), deletion, and API clients (list, create, rename, change origins,
 * disable, rotate; a secret is shown once). Changes that affect ingest are revoked on every
 * node at once, so a disabled client or a removed origin stops working within moments.
 */
import { CreateClientBody, UpdateClientBody, UpdateProjectBody } from '../../shared/auth.ts';
import { AppError } from '../errors.ts';
import { type ApiDeps, auditEntry } from './deps.ts';
import type { Router } from './router.ts';

export function projectRoutes(r: Router, deps: ApiDeps): void {
  const { metadata, audit, auth } = deps;
  const base = '/api/v1/projects/:projectId';

  r.route({ method: 'GET', path: base, access: { kind: 'project', level: 'read' }, summary: "A project's settings and the caller's access" }, async (ctx) => {
    const p = await metadata.getProject(ctx.projectId);
    if (!p) throw new AppError(404, 'not_found', 'No such project');
    return ctx.c.json({ ...p, access: ctx.project!.level, role: ctx.role });
  });

  r.route(
    { method: 'PATCH', path: base, access: { kind: 'project', level: 'admin' }, summary: 'Change name, domain, time zone or allowed origins' },
    async (ctx) => {
      const b = await ctx.body(UpdateProjectBody);
      const p = await metadata.updateProject(ctx.projectId, b);
      if (b.allowedOrigins) await auth.revoke({ kind: 'project', id: ctx.projectId });
      await audit.record(
        auditEntry(ctx, { orgId: ctx.orgId, projectId: ctx.projectId, action: 'project.update', targetType: 'project', targetId: ctx.projectId, details: b }),
      );
      return ctx.c.json(p);
    },
  );

  r.route(
    { method: 'DELETE', path: base, access: { kind: 'project', level: 'admin' }, summary: 'Delete the project, its clients, share links and stored analytics' },
    async (ctx) => {
      const clientIds = await metadata.deleteProject(ctx.projectId);
      await auth.revoke({ kind: 'project', id: ctx.projectId });
      for (const id of clientIds) await auth.revoke({ kind: 'client', id });
      await audit.record(
        auditEntry(ctx, { orgId: ctx.orgId, projectId: ctx.projectId, action: 'project.delete', targetType: 'project', targetId: ctx.projectId }),
      );
      // The erase was recorded as owed with the delete; it runs in the background (and is replayed at start if this process dies first).
      if (deps.eraser) void deps.eraser.erase(ctx.projectId);
      return ctx.c.json({ ok: true });
    },
  );

  r.route({ method: 'GET', path: `${base}/clients`, access: { kind: 'project', level: 'read' }, summary: 'API clients (never their secrets)' }, async (ctx) =>
    ctx.c.json({ data: await metadata.listClients(ctx.projectId) }),
  );

  r.route(
    {
      method: 'POST',
      path: `${base}/clients`,
      access: { kind: 'project', level: 'admin' },
      summary: 'Create an API client; its secret is in this answer only',
    },
    async (ctx) => {
      const b = await ctx.body(CreateClientBody);
      const c = await metadata.createClient({ projectId: ctx.projectId, type: b.type, origins: b.origins, name: b.name, projectOrigins: b.projectOrigins });
      await audit.record(
        auditEntry(ctx, {
          orgId: ctx.orgId,
          projectId: ctx.projectId,
          action: 'client.create',
          targetType: 'client',
          targetId: c.clientId,
          details: { name: b.name, type: b.type },
        }),
      );
      return ctx.c.json(c, 201);
    },
  );

  r.route(
    {
      method: 'PATCH',
      path: `${base}/clients/:clientId`,
      access: { kind: 'project', level: 'admin' },
      summary: 'Rename, change origins, disable or enable a client',
    },
    async (ctx) => {
      const b = await ctx.body(UpdateClientBody);
      const clientId = ctx.param('clientId').toLowerCase();
      const c = await metadata.updateClient(ctx.projectId, clientId, b);
      await auth.revoke({ kind: 'client', id: clientId });
      const action = b.disabled === true ? 'client.disable' : b.disabled === false ? 'client.enable' : 'client.update';
      await audit.record(auditEntry(ctx, { orgId: ctx.orgId, projectId: ctx.projectId, action, targetType: 'client', targetId: clientId, details: b }));
      return ctx.c.json(c);
    },
  );

  r.route(
    {
      method: 'POST',
      path: `${base}/clients/:clientId/rotate`,
      access: { kind: 'project', level: 'admin' },
      summary: 'Replace the secret (the old one stops working); the new one is in this answer only',
    },
    async (ctx) => {
      const clientId = ctx.param('clientId').toLowerCase();
      const c = await metadata.rotateSecret(ctx.projectId, clientId);
      await auth.revoke({ kind: 'client', id: clientId });
      await audit.record(auditEntry(ctx, { orgId: ctx.orgId, projectId: ctx.projectId, action: 'client.rotate', targetType: 'client', targetId: clientId }));
      return ctx.c.json(c);
    },
  );
}
