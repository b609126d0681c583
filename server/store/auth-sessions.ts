/**
 * Signed-in dashboard sessions in the metadata database. Only the SHA-256 of the cookie's
 * token is stored, so a leaked table signs nobody in. Expired rows are ignored on read and
 * deleted by `deleteExpired` (run now and then by the auth module).
 */
import { and, desc, eq, gt, lt, ne } from 'drizzle-orm';
import { authSessions } from '../../db/schema.ts';
import type { MetadataDb } from './postgres.ts';

export interface StoredSession {
  id: string;
  userId: string;
  expiresAt: Date;
}

export interface SessionSummary {
  id: string;
  userAgent: string;
  ip: string;
  createdAt: string;
  expiresAt: string;
}

export function createAuthSessionStore(db: MetadataDb) {
  return {
    async create(s: { userId: string; tokenHash: string; expiresAt: Date; userAgent: string; ip: string }): Promise<StoredSession> {
      const [row] = await db
        .insert(authSessions)
        .values({ ...s, userAgent: s.userAgent.slice(0, 400) })
        .returning({ id: authSessions.id, userId: authSessions.userId, expiresAt: authSessions.expiresAt });
      return row!;
    },

    /** The unexpired session with this token hash, or null. */
    async find(tokenHash: string, now: Date): Promise<StoredSession | null> {
      const [row] = await db
        .select({ id: authSessions.id, userId: authSessions.userId, expiresAt: authSessions.expiresAt })
        .from(authSessions)
        .where(and(eq(authSessions.tokenHash, tokenHash), gt(authSessions.expiresAt, now)))
        .limit(1);
      return row ?? null;
    },

    async extend(id: string, expiresAt: Date): Promise<void> {
      await db.update(authSessions).set({ expiresAt }).where(eq(authSessions.id, id));
    },

    async delete(id: string): Promise<void> {
      await db.delete(authSessions).where(eq(authSessions.id, id));
    },

    /** Deletes every session of a user (but `keep`, when given); returns the ids deleted. */
    async deleteAllOf(userId: string, keep?: string): Promise<string[]> {
      const rows = await db
        .delete(authSessions)
        .where(keep ? and(eq(authSessions.userId, userId), ne(authSessions.id, keep)) : eq(authSessions.userId, userId))
        .returning({ id: authSessions.id });
      return rows.map((r) => r.id);
    },

    async listOf(userId: string, now: Date): Promise<SessionSummary[]> {
      const rows = await db
        .select()
        .from(authSessions)
        .where(and(eq(authSessions.userId, userId), gt(authSessions.expiresAt, now)))
        .orderBy(desc(authSessions.createdAt));
      return rows.map((r) => ({ id: r.id, userAgent: r.userAgent, ip: r.ip, createdAt: r.createdAt.toISOString(), expiresAt: r.expiresAt.toISOString() }));
    },

    async deleteExpired(now: Date): Promise<number> {
      const rows = await db.delete(authSessions).where(lt(authSessions.expiresAt, now)).returning({ id: authSessions.id });
      return rows.length;
    },
  };
}

export type AuthSessionStore = ReturnType<typeof createAuthSessionStore>;
