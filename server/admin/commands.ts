/**
 * The admin command table, independent of transport: the CLI runs it directly (PostgreSQL,
 * or PGlite when no server holds DATA_DIR) and the server runs it for the CLI over
 * `POST /api/admin/<command>`. Arguments are validated here, once, for both paths. Changes
 * are written to the audit log as `admin-cli`.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CLIENT_TYPES } from '../../db/schema.ts';
import { PASSWORD_MAX, PASSWORD_MIN, type Revocation, Role } from '../../shared/auth.ts';
import { PROJECT_RATE_LIMITS, type ProjectRateLimits, RateSpecText } from '../../shared/rate-limits.ts';
import { normalizeOrigin } from '../auth/origin.ts';
import { hashPassword } from '../auth/passwords.ts';
import { AppError, zodIssues } from '../errors.ts';
import { type Accounts, createAccounts, type Membership, type UserSummary } from '../store/accounts.ts';
import { type AuditLog, createAuditLog } from '../store/audit.ts';
import { type AuthSessionStore, createAuthSessionStore } from '../store/auth-sessions.ts';
import { createMetadata, type Metadata, type NewClient, type ProjectSummary } from '../store/metadata.ts';
import { type Quarantine, type QuarantineEntry, type ReplayResult, replayQuarantine } from '../store/quarantine.ts';
import type { Writer } from '../store/writer.ts';

/** What the commands work on. */
export interface AdminContext {
  metadata: Metadata;
  accounts: Accounts;
  sessions: AuthSessionStore;
  audit: AuditLog;
  /** Stops trusting a credential on every node (server side; the CLI alone has no running nodes to tell). */
  revoke?(r: Revocation): Promise<void>;
  /** The event store, in a process that opens ClickHouse (the quarantine commands). */
  store?: AdminStore;
}

const text = z.string().trim().min(1).max(200);
const domain = text.refine((v) => ![null, '*'].includes(normalizeOrigin(v)), 'not a domain (e.g. example.com)');
const origin = z
  .string()
  .max(300)
  .refine((v) => normalizeOrigin(v) !== null, 'not an origin (e.g. https://example.com, *.example.com, localhost:3000)');

const email = z.string().trim().toLowerCase().max(254).pipe(z.email());
const password = z.string().min(PASSWORD_MIN, `at least ${PASSWORD_MIN} characters`).max(PASSWORD_MAX);
const uuid = z.uuid();

const argSchemas = {
  'create-project': z.strictObject({ name: text, domain, org: uuid.optional() }),
  'create-client': z.strictObject({
    project: text,
    type: z.enum(CLIENT_TYPES),
    origins: z.array(origin).max(100).default([]),
    name: text.optional(),
  }),
  'list-projects': z.strictObject({}),
  'disable-client': z.strictObject({ client: text }),
  'set-rate-limits': z.strictObject({
    project: text,
    /** `name=value` pairs: a limit (`2000/10s`), `off`, or `default` to drop the override. */
    limits: z
      .array(
        z
          .string()
          .max(80)
          .transform((pair, ctx) => {
            const [name = '', value = ''] = pair.split('=', 2).map((x) => x.trim());
            if (!(PROJECT_RATE_LIMITS as readonly string[]).includes(name)) {
              ctx.addIssue({ code: 'custom', message: `${JSON.stringify(name)} is not a per-project limit (${PROJECT_RATE_LIMITS.join(', ')})` });
            } else if (value !== 'default' && !RateSpecText.safeParse(value).success) {
              ctx.addIssue({ code: 'custom', message: `${name}: ${JSON.stringify(value)} is not a limit (1000/10s, 600/1m, off or default)` });
            }
            return [name, value] as const;
          }),
      )
      .max(PROJECT_RATE_LIMITS.length)
      .default([]),
  }),
  'create-user': z.strictObject({ email, name: text.optional(), password: password.optional(), role: Role.optional(), org: uuid.optional() }),
  'reset-password': z.strictObject({ email, password: password.optional() }),
  'list-users': z.strictObject({}),
  'quarantine-list': z.strictObject({ project: text.optional(), limit: z.coerce.number().int().min(1).max(10_000).default(100) }),
  'quarantine-replay': z.strictObject({
    project: text.optional(),
    ids: z.array(text).max(10_000).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  }),
  'quarantine-drop': z
    .strictObject({ ids: z.array(text).max(10_000).optional(), all: z.boolean().optional() })
    .refine((a) => (a.ids !== undefined) !== (a.all === true), 'give --id (one or more) or --all'),
} as const;

export type AdminCommand = keyof typeof argSchemas;
export const ADMIN_COMMANDS = Object.keys(argSchemas) as AdminCommand[];

/** Validated arguments of each command. */
export type AdminArgs = { [C in AdminCommand]: z.output<(typeof argSchemas)[C]> };

/** JSON result of each command. */
export interface AdminResults {
  'create-project': NewClient & { projectId: string };
  'create-client': NewClient;
  'list-projects': ProjectSummary[];
  'disable-client': { clientId: string; disabled: true };
  'set-rate-limits': { projectId: string; rateLimits: ProjectRateLimits };
  'create-user': { userId: string; email: string; orgId: string; role: string; password?: string };
  'reset-password': { userId: string; email: string; sessionsEnded: number; password?: string };
  'list-users': Array<UserSummary & { memberships: Membership[] }>;
  'quarantine-list': { count: number; entries: QuarantineEntry[] };
  'quarantine-replay': ReplayResult;
  'quarantine-drop': { dropped: number };
}

/** The event store, for the quarantine commands (held by the process that opens ClickHouse). */
export interface AdminStore {
  quarantine: Quarantine;
  insertRows: Writer['insertRows'];
}

function needStore(ctx: { store?: AdminStore }): AdminStore {
  if (!ctx.store)
    throw new AppError(503, 'not_ready', 'This process does not hold the event store; run the command where ClickHouse is opened (the worker or web role)');
  return ctx.store;
}

/** True for the commands that need the event store (AdminStore) rather than the metadata database. */
export const needsStore = (command: string) => command.startsWith('quarantine-');

/** A password for a user created without one: 18 random bytes, shown once. */
const generatedPassword = () => randomBytes(18).toString('base64url');

/** True when `command` names an admin command. */
export function isAdminCommand(command: string): command is AdminCommand {
  return Object.hasOwn(argSchemas, command);
}

/**
 * Validates `args` for `command`. 404 `not_found` for an unknown command, 400 `invalid_body`
 * (with issues) for bad arguments. Callers may use it to fail before opening any database.
 */
export function parseAdminArgs<C extends string>(command: C, args: unknown): C extends AdminCommand ? AdminArgs[C] : never;
export function parseAdminArgs(command: string, args: unknown): AdminArgs[AdminCommand] {
  if (!isAdminCommand(command)) {
    throw new AppError(404, 'not_found', `unknown admin command ${JSON.stringify(command)}; commands: ${ADMIN_COMMANDS.join(', ')}`);
  }
  const parsed = argSchemas[command].safeParse(args);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    const summary = issues.map((i) => `${i.path || '(args)'}: ${i.message}`).join('; ');
    throw new AppError(400, 'invalid_body', `invalid arguments for ${command}: ${summary}`, issues);
  }
  return parsed.data;
}

const cli = (ctx: AdminContext, e: Parameters<AuditLog['record']>[0]) => ctx.audit.record(e);

const handlers: { [C in AdminCommand]: (ctx: AdminContext, args: AdminArgs[C]) => Promise<AdminResults[C]> } = {
  'create-project': async (ctx, a) => {
    const p = await ctx.metadata.createProject({ name: a.name, domain: a.domain, orgId: a.org });
    await cli(ctx, {
      orgId: p.orgId,
      projectId: p.projectId,
      actorId: null,
      actor: 'admin-cli',
      action: 'project.create',
      targetType: 'project',
      targetId: p.projectId,
    });
    return { projectId: p.projectId, clientId: p.clientId, clientSecret: p.clientSecret };
  },
  'create-client': (ctx, a) => ctx.metadata.createClient({ projectId: a.project, type: a.type, origins: a.origins, name: a.name }),
  'list-projects': (ctx) => ctx.metadata.listProjects(),
  'set-rate-limits': async (ctx, a) => {
    const rateLimits = await ctx.metadata.setProjectRateLimits(a.project, Object.fromEntries(a.limits));
    const orgId = await ctx.metadata.projectOrg(a.project);
    if (orgId) {
      await cli(ctx, {
        orgId,
        projectId: a.project,
        actorId: null,
        actor: 'admin-cli',
        action: 'project.rate-limits',
        targetType: 'project',
        targetId: a.project,
      });
    }
    // Every node reads the project again (its limits included) at once.
    await ctx.revoke?.({ kind: 'project', id: a.project });
    return { projectId: a.project, rateLimits };
  },
  'disable-client': async (ctx, a) => {
    await ctx.metadata.disableClient(a.client);
    await ctx.revoke?.({ kind: 'client', id: a.client.toLowerCase() });
    return { clientId: a.client, disabled: true as const };
  },
  /** The first user becomes the owner (of the organisation existing projects belong to); later ones join `--org` (default: the oldest) as `--role` (default member). */
  'create-user': async (ctx, a) => {
    const plain = a.password ?? generatedPassword();
    const passwordHash = await hashPassword(plain);
    const name = a.name ?? a.email.split('@')[0] ?? a.email;
    let user: UserSummary;
    let orgId: string;
    let role: string;
    if ((await ctx.accounts.userCount()) === 0 && !a.org) {
      const first = await ctx.accounts.createFirstUser({ email: a.email, name, passwordHash, orgName: 'My organisation' });
      [user, orgId, role] = [first, first.orgId, 'owner'];
    } else {
      const org = a.org ? await ctx.accounts.getOrg(a.org) : await ctx.accounts.firstOrg();
      if (!org) throw new AppError(404, 'not_found', a.org ? `no organisation ${a.org}` : 'no organisation yet: create the first user without --org');
      role = a.role ?? 'member';
      user = await ctx.accounts.createUser({ email: a.email, name, passwordHash, orgId: org.id, role: role as Role });
      orgId = org.id;
    }
    await cli(ctx, {
      orgId,
      actorId: null,
      actor: 'admin-cli',
      action: 'user.create',
      targetType: 'user',
      targetId: user.id,
      details: { email: user.email, role },
    });
    return { userId: user.id, email: user.email, orgId, role, ...(a.password ? {} : { password: plain }) };
  },
  /** Sets a new password (given on stdin, or generated and shown once) and signs the user out everywhere. */
  'reset-password': async (ctx, a) => {
    const user = await ctx.accounts.getUserByEmail(a.email);
    if (!user) throw new AppError(404, 'not_found', `no user ${a.email}`);
    const plain = a.password ?? generatedPassword();
    await ctx.accounts.setPassword(user.id, await hashPassword(plain));
    const ended = await ctx.sessions.deleteAllOf(user.id);
    await ctx.revoke?.({ kind: 'user', userId: user.id });
    for (const m of await ctx.accounts.membershipsOf(user.id)) {
      await cli(ctx, { orgId: m.orgId, actorId: null, actor: 'admin-cli', action: 'user.reset-password', targetType: 'user', targetId: user.id });
    }
    return { userId: user.id, email: user.email, sessionsEnded: ended.length, ...(a.password ? {} : { password: plain }) };
  },
  'list-users': (ctx) => ctx.accounts.listUsers(),
  'quarantine-list': async (ctx, a) => {
    const q = needStore(ctx).quarantine;
    return { count: await q.count(), entries: await q.list({ projectId: a.project, limit: a.limit }) };
  },
  'quarantine-replay': async (ctx, a) => {
    const { quarantine, insertRows } = needStore(ctx);
    let entries = await quarantine.list({ projectId: a.project, limit: a.ids ? 10_000 : a.limit });
    if (a.ids) entries = entries.filter((e) => a.ids!.includes(e.id));
    return replayQuarantine(quarantine, insertRows, entries);
  },
  'quarantine-drop': async (ctx, a) => ({ dropped: await needStore(ctx).quarantine.drop(a.all ? undefined : a.ids) }),
};

/** Validates `args` and runs `command` against the metadata store; throws AppError on bad input. */
export async function runAdminCommand<C extends AdminCommand>(ctx: AdminContext, command: C, args: unknown): Promise<AdminResults[C]>;
export async function runAdminCommand(ctx: AdminContext, command: string, args: unknown): Promise<AdminResults[AdminCommand]>;
export async function runAdminCommand(ctx: AdminContext, command: string, args: unknown): Promise<AdminResults[AdminCommand]> {
  const parsed = parseAdminArgs(command, args);
  const handler = handlers[command as AdminCommand] as (c: AdminContext, a: typeof parsed) => Promise<AdminResults[AdminCommand]>;
  return handler(ctx, parsed);
}

/** The admin context over an open metadata database. */
export function adminContext(db: Parameters<typeof createMetadata>[0], revoke?: AdminContext['revoke']): AdminContext {
  return { metadata: createMetadata(db), accounts: createAccounts(db), sessions: createAuthSessionStore(db), audit: createAuditLog(db), revoke };
}
