/**
 * Organisations API under `/api/v1/orgs`: a user's organisations, members and their roles,
 * invitation links (shown to the inviter, mailed when SMTP is configured), the audit log, and
 * the organisation's projects (listing and creating).
 */
import { z } from 'zod';
import { CreateOrgBody, CreateProjectBody, InviteBody, UpdateMemberBody, UpdateOrgBody } from '../../shared/auth.ts';
import { hashToken, newToken } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';
import { type ApiDeps, auditEntry, baseUrl } from './deps.ts';
import type { Router } from './router.ts';

const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), before: z.coerce.number().int().positive().optional() });

export function orgRoutes(r: Router, deps: ApiDeps): void {
  const { accounts, auth, audit } = deps;

  r.route({ method: 'GET', path: '/api/v1/orgs', access: { kind: 'user' }, summary: "The signed-in user's organisations and roles" }, async (ctx) =>
    ctx.c.json({ data: await accounts.membershipsOf(ctx.user!.userId) }),
  );

  r.route({ method: 'POST', path: '/api/v1/orgs', access: { kind: 'user' }, summary: 'Create an organisation (its creator is the owner)' }, async (ctx) => {
    const b = await ctx.body(CreateOrgBody);
    const org = await accounts.createOrg(b.name, ctx.user!.userId);
    await auth.revoke({ kind: 'user', userId: ctx.user!.userId });
    await audit.record(auditEntry(ctx, { orgId: org.id, action: 'org.create', targetType: 'org', targetId: org.id, details: { name: b.name } }));
    return ctx.c.json(org, 201);
  });

  r.route(
    { method: 'GET', path: '/api/v1/orgs/:orgId', access: { kind: 'org', role: 'viewer' }, summary: 'One organisation and the caller’s role in it' },
    async (ctx) => {
      const org = await accounts.getOrg(ctx.orgId);
      if (!org) throw new AppError(404, 'not_found', 'No such organisation');
      return ctx.c.json({ ...org, role: ctx.role });
    },
  );

  r.route({ method: 'PATCH', path: '/api/v1/orgs/:orgId', access: { kind: 'org', role: 'admin' }, summary: 'Rename the organisation' }, async (ctx) => {
    const b = await ctx.body(UpdateOrgBody);
    await accounts.renameOrg(ctx.orgId, b.name);
    await audit.record(auditEntry(ctx, { orgId: ctx.orgId, action: 'org.rename', targetType: 'org', targetId: ctx.orgId, details: { name: b.name } }));
    return ctx.c.json({ id: ctx.orgId, name: b.name });
  });

  r.route({ method: 'GET', path: '/api/v1/orgs/:orgId/members', access: { kind: 'org', role: 'viewer' }, summary: 'Members and their roles' }, async (ctx) =>
    ctx.c.json({ data: await accounts.members(ctx.orgId) }),
  );

  r.route(
    {
      method: 'PATCH',
      path: '/api/v1/orgs/:orgId/members/:userId',
      access: { kind: 'org', role: 'admin' },
      summary: "Change a member's role (owners only grant or take the owner role)",
    },
    async (ctx) => {
      const b = await ctx.body(UpdateMemberBody);
      const userId = ctx.param('userId');
      const current = await accounts.roleIn(ctx.orgId, userId);
      if (!current) throw new AppError(404, 'not_found', 'No such member');
      if ((current === 'owner' || b.role === 'owner') && ctx.role !== 'owner')
        throw new AppError(403, 'forbidden', 'Only an owner may grant or take the owner role');
      await accounts.setRole(ctx.orgId, userId, b.role);
      await auth.revoke({ kind: 'user', userId });
      await audit.record(
        auditEntry(ctx, { orgId: ctx.orgId, action: 'member.role', targetType: 'user', targetId: userId, details: { from: current, to: b.role } }),
      );
      return ctx.c.json({ userId, role: b.role });
    },
  );

  r.route(
    {
      method: 'DELETE',
      path: '/api/v1/orgs/:orgId/members/:userId',
      access: { kind: 'org', role: 'admin' },
      summary: 'Remove a member (owners only remove owners)',
    },
    async (ctx) => {
      const userId = ctx.param('userId');
      const current = await accounts.roleIn(ctx.orgId, userId);
      if (!current) throw new AppError(404, 'not_found', 'No such member');
      if (current === 'owner' && ctx.role !== 'owner') throw new AppError(403, 'forbidden', 'Only an owner may remove an owner');
      await accounts.removeMember(ctx.orgId, userId);
      await auth.revoke({ kind: 'user', userId });
      await audit.record(auditEntry(ctx, { orgId: ctx.orgId, action: 'member.remove', targetType: 'user', targetId: userId, details: { role: current } }));
      return ctx.c.json({ ok: true });
    },
  );

  r.route(
    { method: 'POST', path: '/api/v1/orgs/:orgId/leave', access: { kind: 'org', role: 'viewer' }, summary: 'Leave the organisation (not as its last owner)' },
    async (ctx) => {
      const userId = ctx.user!.userId;
      await accounts.removeMember(ctx.orgId, userId);
      await auth.revoke({ kind: 'user', userId });
      await audit.record(auditEntry(ctx, { orgId: ctx.orgId, action: 'member.leave', targetType: 'user', targetId: userId }));
      return ctx.c.json({ ok: true });
    },
  );

  r.route({ method: 'GET', path: '/api/v1/orgs/:orgId/invitations', access: { kind: 'org', role: 'admin' }, summary: 'Open invitations' }, async (ctx) =>
    ctx.c.json({ data: await accounts.invitations(ctx.orgId, new Date()) }),
  );

  r.route(
    {
      method: 'POST',
      path: '/api/v1/orgs/:orgId/invitations',
      access: { kind: 'org', role: 'admin' },
      summary: 'Invite someone: returns the single-use link (mailed too when SMTP is set)',
    },
    async (ctx) => {
      const b = await ctx.body(InviteBody);
      if (b.role === 'owner' && ctx.role !== 'owner') throw new AppError(403, 'forbidden', 'Only an owner may invite an owner');
      const existing = await accounts.getUserByEmail(b.email);
      if (existing && (await accounts.roleIn(ctx.orgId, existing.id))) throw new AppError(409, 'conflict', `${b.email} is already a member`);
      const token = newToken('lpi');
      const expiresAt = new Date(Date.now() + deps.invitationTtlMs);
      const inv = await accounts.createInvitation({
        orgId: ctx.orgId,
        email: b.email,
        role: b.role,
        tokenHash: hashToken(token),
        invitedBy: ctx.user!.userId,
        expiresAt,
      });
      const url = `${baseUrl(deps, ctx)}/invite/${token}`;
      const org = await accounts.getOrg(ctx.orgId);
      const emailed = deps.mailer
        ? await deps.mailer.sendInvitation({ to: b.email, url, orgName: org?.name ?? 'Livepanel', inviter: ctx.user!.email, expiresAt })
        : false;
      await audit.record(
        auditEntry(ctx, {
          orgId: ctx.orgId,
          action: 'invitation.create',
          targetType: 'invitation',
          targetId: inv.id,
          details: { email: b.email, role: b.role, emailed },
        }),
      );
      return ctx.c.json({ invitation: inv, url, emailed }, 201);
    },
  );

  r.route(
    { method: 'DELETE', path: '/api/v1/orgs/:orgId/invitations/:invitationId', access: { kind: 'org', role: 'admin' }, summary: 'Revoke an open invitation' },
    async (ctx) => {
      const id = ctx.param('invitationId');
      await accounts.revokeInvitation(ctx.orgId, id);
      await audit.record(auditEntry(ctx, { orgId: ctx.orgId, action: 'invitation.revoke', targetType: 'invitation', targetId: id }));
      return ctx.c.json({ ok: true });
    },
  );

  r.route(
    {
      method: 'GET',
      path: '/api/v1/orgs/:orgId/audit',
      access: { kind: 'org', role: 'admin' },
      summary: 'The audit log, newest first (`?limit`, `?before=<id>`)',
    },
    async (ctx) => {
      const q = ctx.query(AuditQuery);
      return ctx.c.json({ data: await audit.list(ctx.orgId, q) });
    },
  );

  r.route(
    { method: 'GET', path: '/api/v1/orgs/:orgId/projects', access: { kind: 'org', role: 'viewer' }, summary: "The organisation's projects" },
    async (ctx) => {
      const projects = await deps.metadata.listProjects(ctx.orgId);
      return ctx.c.json({ data: projects.map(({ clients, ...p }) => p) });
    },
  );

  r.route(
    {
      method: 'POST',
      path: '/api/v1/orgs/:orgId/projects',
      access: { kind: 'org', role: 'admin' },
      summary: 'Create a project with a browser client (its secret shown once)',
    },
    async (ctx) => {
      const b = await ctx.body(CreateProjectBody);
      const p = await deps.metadata.createProject({ ...b, orgId: ctx.orgId, firstClient: 'browser' });
      await audit.record(
        auditEntry(ctx, {
          orgId: ctx.orgId,
          projectId: p.projectId,
          action: 'project.create',
          targetType: 'project',
          targetId: p.projectId,
          details: { name: b.name, domain: b.domain },
        }),
      );
      return ctx.c.json(p, 201);
    },
  );
}
