/**
 * What the dashboard API's route modules share: the stores, the auth module, and small
 * helpers every module needs (audit entries, cookie security, absolute links).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Auth } from '../auth/auth.ts';
import type { Mailer } from '../auth/mailer.ts';
import type { RateLimits } from '../engines/rate-limit.ts';
import type { Logger } from '../log.ts';
import type { Accounts } from '../store/accounts.ts';
import type { AuditEntry, AuditLog } from '../store/audit.ts';
import type { BoardStore } from '../store/boards.ts';
import type { ProjectEraser } from '../store/clickhouse-erase.ts';
import type { Metadata } from '../store/metadata.ts';
import type { ShareStore } from '../store/shares.ts';
import type { RouteContext } from './router.ts';

export interface ApiDeps {
  auth: Auth;
  accounts: Accounts;
  metadata: Metadata;
  audit: AuditLog;
  shareStore: ShareStore;
  boards: BoardStore;
  rateLimits: RateLimits;
  /** null without SMTP_URL: invitation links are only shown */
  mailer: Mailer | null;
  /** ClickHouse, on processes with the `web` role (the read and query routes) */
  ch?: ClickHouseClient;
  /** Erases deleted projects' analytics (with ClickHouse); owed erases are recorded by the delete itself. */
  eraser?: ProjectEraser;
  log: Logger;
  publicUrl?: string;
  invitationTtlMs: number;
}

/** Writes an audit entry for the acting user (or the admin CLI) of this request. */
export function auditEntry(ctx: RouteContext, e: Omit<AuditEntry, 'actorId' | 'actor' | 'ip'>): AuditEntry {
  return { ...e, actorId: ctx.user?.userId ?? null, actor: ctx.user?.email ?? 'unknown', ip: ctx.ip };
}

/** This Livepanel's base URL as users reach it: PUBLIC_URL, else the request's own origin. */
export function baseUrl(deps: ApiDeps, ctx: RouteContext): string {
  return (deps.publicUrl ?? new URL(ctx.c.req.url).origin).replace(/\/+$/, '');
}

/** Cookies get `Secure` when Livepanel is reached over HTTPS (PUBLIC_URL, or a proxy saying so). */
export function secureCookies(deps: ApiDeps, ctx: RouteContext): boolean {
  return deps.publicUrl?.startsWith('https:') === true || ctx.c.req.header('x-forwarded-proto') === 'https' || ctx.c.req.url.startsWith('https:');
}
