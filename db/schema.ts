/**
 * PostgreSQL metadata schema (drizzle pg-core): users, their sessions, organisations and
 * memberships, invitations, projects and their API clients, share links, boards, the audit log,
 * webhooks and deliveries, daily salts. The same schema and the same generated
 * migrations (`db/migrations`, `npm run db:generate`) serve PGlite and a PostgreSQL server.
 */
import { sql } from 'drizzle-orm';
import { bigserial, boolean, date, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** Dashboard users. Emails are stored lower-cased by the code that creates users. */
export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  /** argon2id PHC string (`server/auth/passwords.ts`) */
  passwordHash: text('password_hash').notNull(),
  createdAt: createdAt(),
  lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
});

/** Logged-in dashboard sessions; only a hash of the cookie token is stored. */
export const authSessions = pgTable(
  'auth_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
    /** Browser and address at sign-in, for the user's list of signed-in devices. */
    userAgent: text('user_agent').notNull().default(''),
    ip: text('ip').notNull().default(''),
  },
  (t) => [index('auth_sessions_user_id_idx').on(t.userId), index('auth_sessions_expires_at_idx').on(t.expiresAt)],
);

/** Organisations own projects; people belong to them through memberships. */
export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export const role = pgEnum('role', ROLES);

/** A user's role in an organisation (one row per user and organisation). */
export const memberships = pgTable(
  'memberships',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: role('role').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), index('memberships_user_id_idx').on(t.userId)],
);

/** Single-use invitation links into an organisation; only a hash of the link's token is stored. */
export const invitations = pgTable(
  'invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: role('role').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('invitations_org_id_idx').on(t.orgId)],
);

/**
 * Tracked sites and apps. The id is a short readable random string (it appears in URLs).
 * `allowedOrigins` are the sites whose pages may send events with the project's browser
 * clients (normalised entries, see server/auth/origin.ts).
 */
export const projects = pgTable(
  'projects',
  {
    id: text('id').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    domain: text('domain').notNull(),
    timezone: text('timezone').notNull().default('UTC'),
    allowedOrigins: text('allowed_origins').array().notNull().default(sql`'{}'::text[]`),
    /** Rate limit overrides (shared/rate-limits.ts `ProjectRateLimits`): only the limits this project changes. */
    rateLimits: jsonb('rate_limits').$type<Record<string, string>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index('projects_org_id_idx').on(t.orgId)],
);

export const CLIENT_TYPES = ['write', 'read', 'root'] as const;
export const clientType = pgEnum('client_type', CLIENT_TYPES);

/**
 * API clients of a project. `id` is the public client id SDKs send; `write` clients ingest,
 * `read` clients query, `root` clients may do both. A browser client is allowed on its own
 * `allowedOrigins` plus, when `projectOrigins` is set, the project's allowed origins.
 */
export const clients = pgTable(
  'clients',
  {
    id: uuid('id').primaryKey(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    type: clientType('type').notNull(),
    secretHash: text('secret_hash'),
    allowedOrigins: text('allowed_origins').array().notNull().default(sql`'{}'::text[]`),
    projectOrigins: boolean('project_origins').notNull().default(false),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('clients_project_id_idx').on(t.projectId)],
);

export const SHARE_TARGETS = ['realtime', 'overview', 'board'] as const;
export const shareTarget = pgEnum('share_target', SHARE_TARGETS);

/**
 * Read-only share links (TVs, embeds, public pages) of one project view: the realtime view,
 * the overview, or a saved board (`targetId`). Only a hash of the link's token is stored.
 * `filter` is a fixed filter the viewer cannot remove; `frameAncestors` the sites allowed to
 * embed it (`*` any, empty none).
 */
export const shareLinks = pgTable(
  'share_links',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    target: shareTarget('target').notNull(),
    targetId: text('target_id'),
    passwordHash: text('password_hash'),
    filter: jsonb('filter'),
    frameAncestors: text('frame_ancestors').array().notNull().default(sql`'{}'::text[]`),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('share_links_project_id_idx').on(t.projectId)],
);

/**
 * Boards: saved, named layouts of live tiles (shared/boards.ts `BoardLayout`, validated before
 * it is stored). `version` increments at every save, so two editors cannot overwrite each
 * other unknowingly. Share links point at one with `target = 'board'`, `targetId = id`.
 */
export const boards = pgTable(
  'boards',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    layout: jsonb('layout').notNull(),
    version: integer('version').notNull().default(1),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('boards_project_id_idx').on(t.projectId)],
);

/**
 * Who created, changed, rotated, revoked or deleted what, and when. Rows outlive what they
 * name (no foreign keys to the target); `orgId` scopes who may read them.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: uuid('org_id').references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: text('project_id'),
    /** null for the admin CLI and the system */
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    /** the actor's email at the time, or `admin-cli` */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
    ip: text('ip').notNull().default(''),
    createdAt: createdAt(),
  },
  (t) => [index('audit_log_org_created_idx').on(t.orgId, t.createdAt)],
);

/** Outgoing webhooks of a project; `events` lists the event names that trigger one. */
export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: text('events').array().notNull().default(sql`'{}'::text[]`),
    secret: text('secret').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [index('webhooks_project_id_idx').on(t.projectId)],
);

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export const webhookDeliveryStatus = pgEnum('webhook_delivery_status', WEBHOOK_DELIVERY_STATUSES);

/** One attempted (or pending) webhook call, kept for the delivery log and retries. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    event: text('event').notNull(),
    payload: jsonb('payload').notNull(),
    status: webhookDeliveryStatus('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    responseCode: integer('response_code'),
    error: text('error'),
    createdAt: createdAt(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    // the delivery log of one webhook, newest first
    index('webhook_deliveries_webhook_created_idx').on(t.webhookId, t.createdAt),
    // the retry scan only looks at pending rows
    index('webhook_deliveries_pending_idx').on(t.createdAt).where(sql`${t.status} = 'pending'`),
  ],
);

/**
 * Daily salts for cookieless device ids, one per UTC day (`YYYY-MM-DD`). Today's and
 * yesterday's are used; older rows can be deleted (that is what makes old ids unlinkable).
 */
export const salts = pgTable('salts', {
  day: date('day', { mode: 'string' }).primaryKey(),
  salt: text('salt').notNull(),
  createdAt: createdAt(),
});

/**
 * Projects deleted whose analytics are still to be erased from ClickHouse. Written in the same
 * transaction that deletes the project, removed only once every ClickHouse table confirmed its
 * delete, and replayed at start: a process that dies mid-erase leaves the row, and the next
 * start finishes the job (the delete is idempotent). No foreign key: the project is gone.
 */
export const projectErasures = pgTable('project_erasures', {
  projectId: text('project_id').primaryKey(),
  requestedAt: createdAt(),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
});
