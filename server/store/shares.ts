/**
 * Share links of projects (read-only views for TVs, embeds and public pages) in the metadata
 * database. Only the SHA-256 of a link's token is stored; the link itself is shown once, when
 * it is made. Revoking keeps the row (for the audit trail and the list) and ends its use.
 */
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { SHARE_TARGETS } from '../../db/schema.ts';
import { shareLinks } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import type { MetadataDb } from './postgres.ts';

export type ShareTargetKind = (typeof SHARE_TARGETS)[number];

export interface ShareRecord {
  id: string;
  projectId: string;
  name: string;
  target: { kind: ShareTargetKind; id?: string };
  /** argon2id hash of the share's password, null when it has none */
  passwordHash: string | null;
  filter: unknown;
  frameAncestors: string[];
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A share as listed to project members: no hashes. */
export interface ShareSummary {
  id: string;
  name: string;
  target: { kind: ShareTargetKind; id?: string };
  hasPassword: boolean;
  filter: unknown;
  frameAncestors: string[];
  expiresAt: string | null;
  revokedAt: string | null;
  createdBy: string | null;
  createdAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
type Row = typeof shareLinks.$inferSelect;

const target = (r: Row) => (r.targetId ? { kind: r.target, id: r.targetId } : { kind: r.target });

function record(r: Row): ShareRecord {
  return {
    id: r.id,
    projectId: r.projectId,
    name: r.name,
    target: target(r),
    passwordHash: r.passwordHash,
    filter: r.filter ?? null,
    frameAncestors: r.frameAncestors,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
  };
}

function summary(r: Row): ShareSummary {
  return {
    id: r.id,
    name: r.name,
    target: target(r),
    hasPassword: r.passwordHash !== null,
    filter: r.filter ?? null,
    frameAncestors: r.frameAncestors,
    expiresAt: r.expiresAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
  };
}

export function createShareStore(db: MetadataDb) {
  return {
    async create(s: {
      projectId: string;
      name: string;
      tokenHash: string;
      target: { kind: ShareTargetKind; id?: string };
      passwordHash: string | null;
      filter: unknown;
      frameAncestors: string[];
      expiresAt: Date | null;
      createdBy: string | null;
    }): Promise<ShareSummary> {
      const [row] = await db
        .insert(shareLinks)
        .values({
          projectId: s.projectId,
          name: s.name,
          tokenHash: s.tokenHash,
          target: s.target.kind,
          targetId: s.target.id ?? null,
          passwordHash: s.passwordHash,
          filter: s.filter ?? null,
          frameAncestors: s.frameAncestors,
          expiresAt: s.expiresAt,
          createdBy: s.createdBy,
        })
        .returning();
      return summary(row!);
    },

    /** The share with this token hash, revoked or not (the caller decides what an old one means). */
    async byTokenHash(tokenHash: string): Promise<ShareRecord | null> {
      const [row] = await db.select().from(shareLinks).where(eq(shareLinks.tokenHash, tokenHash)).limit(1);
      return row ? record(row) : null;
    },

    async byId(id: string): Promise<ShareRecord | null> {
      if (!UUID.test(id)) return null;
      const [row] = await db.select().from(shareLinks).where(eq(shareLinks.id, id)).limit(1);
      return row ? record(row) : null;
    },

    async list(projectId: string): Promise<ShareSummary[]> {
      const rows = await db.select().from(shareLinks).where(eq(shareLinks.projectId, projectId)).orderBy(asc(shareLinks.createdAt));
      return rows.map(summary);
    },

    /** Revokes a live share of the project; 404 when there is none with that id. */
    async revoke(projectId: string, id: string, at: Date): Promise<ShareSummary> {
      if (!UUID.test(id)) throw new AppError(404, 'not_found', 'No such share link');
      const [row] = await db
        .update(shareLinks)
        .set({ revokedAt: at })
        .where(and(eq(shareLinks.projectId, projectId), eq(shareLinks.id, id), isNull(shareLinks.revokedAt)))
        .returning();
      if (!row) throw new AppError(404, 'not_found', 'No such live share link');
      return summary(row);
    },
  };
}

export type ShareStore = ReturnType<typeof createShareStore>;
