/**
 * Accounts API under `/api/auth`: first-run setup, sign-in and sign-out (one device or all),
 * the signed-in user (with the CSRF token pages send back), password change, the user's
 * sessions, and opening or accepting an invitation link.
 */
import { AcceptInvitationBody, ChangePasswordBody, SetupBody, SignInBody } from '../../shared/auth.ts';
import { csrfToken } from '../auth/csrf.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import { hashToken } from '../auth/tokens.ts';
import { sessionCookie } from '../auth/user-sessions.ts';
import { AppError } from '../errors.ts';
import { type ApiDeps, secureCookies } from './deps.ts';
import type { RouteContext, Router } from './router.ts';

export function authRoutes(r: Router, deps: ApiDeps): void {
  const { auth, accounts } = deps;

  async function startSession(ctx: RouteContext, userId: string, status = 200, extra: Record<string, unknown> = {}) {
    const s = await auth.sessions.create(userId, { userAgent: ctx.c.req.header('user-agent') ?? '', ip: ctx.ip });
    ctx.c.header('set-cookie', sessionCookie(s.token, auth.sessions.ttlMs, secureCookies(deps, ctx)), { append: true });
    return ctx.c.json({ userId, csrfToken: csrfToken(s.token), ...extra }, status as 200);
  }
  const clearCookie = (ctx: RouteContext) => ctx.c.header('set-cookie', sessionCookie('', 0, secureCookies(deps, ctx)), { append: true });

  r.route(
    { method: 'GET', path: '/api/auth/state', access: { kind: 'public' }, summary: 'Whether first-run setup is needed and whether this browser is signed in' },
    async (ctx) => ctx.c.json({ setupNeeded: (await accounts.userCount()) === 0, signedIn: ctx.principal?.kind === 'user' }),
  );

  r.route(
    { method: 'POST', path: '/api/auth/setup', access: { kind: 'public' }, summary: 'First-run setup: create the owner (only while there are no users)' },
    async (ctx) => {
      const b = await ctx.body(SetupBody);
      if ((await accounts.userCount()) > 0) throw new AppError(409, 'setup_done', 'Livepanel is already set up: sign in');
      const user = await accounts.createFirstUser({ email: b.email, name: b.name, passwordHash: await hashPassword(b.password), orgName: b.orgName });
      await deps.audit.record({
        orgId: user.orgId,
        actorId: user.id,
        actor: user.email,
        action: 'user.setup',
        targetType: 'user',
        targetId: user.id,
        ip: ctx.ip,
      });
      return startSession(ctx, user.id, 201, { orgId: user.orgId });
    },
  );

  r.route(
    { method: 'POST', path: '/api/auth/sign-in', access: { kind: 'public' }, summary: 'Sign in with email and password (rate limited per account and per IP)' },
    async (ctx) => {
      const b = await ctx.body(SignInBody);
      const s = await auth.signIn({ email: b.email, password: b.password, ip: ctx.ip, userAgent: ctx.c.req.header('user-agent') ?? '' });
      ctx.c.header('set-cookie', sessionCookie(s.token, auth.sessions.ttlMs, secureCookies(deps, ctx)), { append: true });
      return ctx.c.json({ userId: s.userId, csrfToken: csrfToken(s.token) });
    },
  );

  r.route({ method: 'POST', path: '/api/auth/sign-out', access: { kind: 'user' }, summary: 'Sign out this browser' }, async (ctx) => {
    const u = ctx.user!;
    await auth.sessions.end(u.sessionId);
    await auth.revoke({ kind: 'user-session', id: u.sessionId, userId: u.userId });
    clearCookie(ctx);
    return ctx.c.json({ ok: true });
  });

  r.route(
    { method: 'POST', path: '/api/auth/sign-out-everywhere', access: { kind: 'user' }, summary: 'End every session of the signed-in user, this one included' },
    async (ctx) => {
      const u = ctx.user!;
      const ended = await auth.sessions.endAll(u.userId);
      await auth.revoke({ kind: 'user', userId: u.userId });
      clearCookie(ctx);
      return ctx.c.json({ ok: true, sessionsEnded: ended.length });
    },
  );

  r.route(
    { method: 'GET', path: '/api/auth/me', access: { kind: 'user' }, summary: 'The signed-in user, their organisations and roles, and the CSRF token' },
    async (ctx) => {
      const u = ctx.user!;
      const [user, orgs] = await Promise.all([accounts.getUser(u.userId), accounts.membershipsOf(u.userId)]);
      if (!user) throw new AppError(401, 'not_signed_in', 'Sign in first');
      // A session that was just extended gets its cookie's lifetime renewed too.
      const fresh = await auth.user({ cookie: ctx.c.req.header('cookie') });
      if (fresh?.extended) ctx.c.header('set-cookie', sessionCookie(u.sessionToken, auth.sessions.ttlMs, secureCookies(deps, ctx)), { append: true });
      return ctx.c.json({ user, orgs, csrfToken: csrfToken(u.sessionToken), sessionExpiresAt: u.sessionExpiresAt.toISOString() });
    },
  );

  r.route(
    { method: 'POST', path: '/api/auth/password', access: { kind: 'user' }, summary: 'Change the password; every other session is signed out' },
    async (ctx) => {
      const u = ctx.user!;
      const b = await ctx.body(ChangePasswordBody);
      if (!(await verifyPassword(await accounts.passwordHash(u.userId), b.currentPassword))) {
        throw new AppError(401, 'bad_credentials', 'The current password is incorrect');
      }
      await accounts.setPassword(u.userId, await hashPassword(b.newPassword));
      const ended = await auth.sessions.endAll(u.userId, u.sessionId);
      for (const id of ended) await auth.revoke({ kind: 'user-session', id, userId: u.userId });
      return ctx.c.json({ ok: true, sessionsEnded: ended.length });
    },
  );

  r.route({ method: 'GET', path: '/api/auth/sessions', access: { kind: 'user' }, summary: "The signed-in user's sessions (devices)" }, async (ctx) => {
    const u = ctx.user!;
    const list = await deps.auth.sessions.list(u.userId);
    return ctx.c.json({ data: list.map((s) => ({ ...s, current: s.id === u.sessionId })) });
  });

  r.route(
    { method: 'GET', path: '/api/auth/invitations/:token', access: { kind: 'public' }, summary: 'What an invitation link invites to (404/410 when unusable)' },
    async (ctx) => {
      const inv = await accounts.openInvitation(hashToken(ctx.param('token')), new Date());
      const signedInAs = ctx.principal?.kind === 'user' ? ctx.principal.email : null;
      return ctx.c.json({
        orgName: inv.orgName,
        email: inv.email,
        role: inv.role,
        expiresAt: inv.expiresAt,
        signedInAs,
        userExists: (await accounts.getUserByEmail(inv.email)) !== null,
      });
    },
  );

  r.route(
    {
      method: 'POST',
      path: '/api/auth/invitations/:token/accept',
      access: { kind: 'public' },
      summary: 'Accept an invitation: as the signed-in user, or as a new user (name + password)',
    },
    async (ctx) => {
      const tokenHash = hashToken(ctx.param('token'));
      const b = await ctx.body(AcceptInvitationBody);
      const inv = await accounts.openInvitation(tokenHash, new Date());
      const me = ctx.principal?.kind === 'user' ? ctx.principal : null;
      if ('password' in b) {
        const done = await accounts.acceptInvitation(tokenHash, new Date(), {
          newUser: { email: inv.email, name: b.name, passwordHash: await hashPassword(b.password) },
        });
        await deps.audit.record({
          orgId: done.orgId,
          actorId: done.userId,
          actor: inv.email,
          action: 'invitation.accept',
          targetType: 'user',
          targetId: done.userId,
          details: { role: done.role },
          ip: ctx.ip,
        });
        return startSession(ctx, done.userId, 201, { orgId: done.orgId });
      }
      if (!me) throw new AppError(401, 'not_signed_in', 'Sign in first, or choose a name and password to create your account');
      if (me.email !== inv.email) throw new AppError(403, 'forbidden', `This invitation is for ${inv.email}; you are signed in as ${me.email}`);
      const done = await accounts.acceptInvitation(tokenHash, new Date(), { userId: me.userId });
      await auth.revoke({ kind: 'user', userId: me.userId });
      await deps.audit.record({
        orgId: done.orgId,
        actorId: me.userId,
        actor: me.email,
        action: 'invitation.accept',
        targetType: 'user',
        targetId: me.userId,
        details: { role: done.role },
        ip: ctx.ip,
      });
      return ctx.c.json({ userId: me.userId, orgId: done.orgId });
    },
  );
}
