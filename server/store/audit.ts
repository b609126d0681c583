/**
 * The audit log: who created, changed, rotated, revoked or deleted what, and when. Written by
 * the dashboard API and the admin CLI next to each change; read by an organisation's owners
 * and admins. Rows are never updated.
 */
import { and, desc, eq, lt } from 'drizzle-orm';
import { auditLog } from '../../db/schema.ts';
import type { MetadataDb } from './postgres.ts';

export interface AuditEntry {
  orgId: string | null;
  projectId?: string | null;
  /** the acting user, null for the admin CLI */
  actorId: string | null;
  /** the actor's email at the time, or `admin-cli` */
  actor: string;
  /** `<thing>.<verb>`: `project.create`, `client.rotate`, `share.revoke`, `member.remove`, … */
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
  ip?: string;
}

export interface AuditRow extends Required<Omit<AuditEntry, 'details' | 'ip' | 'projectId'>> {
  id: number;
  projectId: string | null;
  details: Record<string, unknown>;
  ip: string;
  createdAt: string;
}

export function createAuditLog(db: MetadataDb) {
  return {
    async record(e: AuditEntry): Promise<void> {
      await db.insert(auditLog).values({
        orgId: e.orgId,
        projectId: e.projectId ?? null,
        actorId: e.actorId,
        actor: e.actor,
        action: e.action,
        targetType: e.targetType,
        targetId: e.targetId,
        details: e.details ?? {},
        ip: e.ip ?? '',
      });
    },

    /** An organisation's entries, newest first; `before` (an id) pages back. */
    async list(orgId: string, opts: { limit: number; before?: number }): Promise<AuditRow[]> {
      const rows = await db
        .select()
        .from(auditLog)
        .where(opts.before ? and(eq(auditLog.orgId, orgId), lt(auditLog.id, opts.before)) : eq(auditLog.orgId, orgId))
        .orderBy(desc(auditLog.id))
        .limit(opts.limit);
      return rows.map((r) => ({
        id: r.id,
        orgId: r.orgId,
        projectId: r.projectId,
        actorId: r.actorId,
        actor: r.actor,
        action: r.action,
        targetType: r.targetType,
        targetId: r.targetId,
        details: (r.details ?? {}) as Record<string, unknown>,
        ip: r.ip,
        createdAt: r.createdAt.toISOString(),
      }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
