/**
 * PostgreSQL metadata schema (drizzle pg-core): users and their sessions, projects and their
 * API clients, webhooks and deliveries, daily salts. The same schema and the same generated
 * migrations (`db/migrations`, `npm run db:generate`) serve PGlite and a PostgreSQL server.
 */
import { sql } from 'drizzle-orm';
import { boolean, date, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** Dashboard users. Emails are stored lower-cased by the code that creates users. */
export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  passwordHash: text('password_hash').notNull(),
  createdAt: createdAt(),
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
  },
  (t) => [index('auth_sessions_user_id_idx').on(t.userId), index('auth_sessions_expires_at_idx').on(t.expiresAt)],
);

/** Tracked sites and apps. The id is a short readable random string (it appears in URLs). */
export const projects = pgTable('projects', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  domain: text('domain').notNull(),
  /** Rate limit overrides (shared/rate-limits.ts `ProjectRateLimits`): only the limits this project changes. */
  rateLimits: jsonb('rate_limits').$type<Record<string, string>>().notNull().default({}),
  createdAt: createdAt(),
});

export const CLIENT_TYPES = ['write', 'read', 'root'] as const;
export const clientType = pgEnum('client_type', CLIENT_TYPES);

/**
 * API clients of a project. `id` is the public client id SDKs send; `write` clients ingest,
 * `read` clients query, `root` clients may do both and manage the project.
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
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('clients_project_id_idx').on(t.projectId)],
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
