/**
 * Project and client management for the dashboard API: read, change and delete a project;
 * list, change, disable and rotate its clients. Part of the metadata repository
 * (`createMetadata` spreads these in); creating projects and clients lives there.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { clients, projectErasures, projects } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import { generateSecret, hashSecret, normalizeOrigins } from './client-secrets.ts';
import type { MetadataDb } from './postgres.ts';

export interface ProjectRecord {
  id: string;
  orgId: string;
  name: string;
  domain: string;
  timezone: string;
  allowedOrigins: string[];
  createdAt: string;
}

export interface ProjectPatch {
  name?: string;
  domain?: string;
  timezone?: string;
  allowedOrigins?: readonly string[];
}

export interface ClientPatch {
  name?: string;
  origins?: readonly string[];
  projectOrigins?: boolean;
  disabled?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const noClient = () => new AppError(404, 'not_found', 'No such client in this project');

const projectRecord = (p: typeof projects.$inferSelect): ProjectRecord => ({
  id: p.id,
  orgId: p.orgId,
  name: p.name,
  domain: p.domain,
  timezone: p.timezone,
  allowedOrigins: p.allowedOrigins,
  createdAt: p.createdAt.toISOString(),
});

const clientColumns = {
  id: clients.id,
  name: clients.name,
  type: clients.type,
  allowedOrigins: clients.allowedOrigins,
  projectOrigins: clients.projectOrigins,
  disabledAt: clients.disabledAt,
  secretRotatedAt: clients.secretRotatedAt,
  createdAt: clients.createdAt,
};
type ClientRow = { [K in keyof typeof clientColumns]: (typeof clients.$inferSelect)[K] };

const clientSummary = (c: ClientRow) => ({
  id: c.id,
  name: c.name,
  type: c.type,
  allowedOrigins: c.allowedOrigins,
  projectOrigins: c.projectOrigins,
  disabled: c.disabledAt !== null,
  secretRotatedAt: c.secretRotatedAt?.toISOString() ?? null,
  createdAt: c.createdAt.toISOString(),
});
export type ManagedClient = ReturnType<typeof clientSummary>;

export function createProjectAdmin(db: MetadataDb) {
  return {
    async getProject(projectId: string): Promise<ProjectRecord | null> {
      const [p] = await db.select().from(projects).where(eq(projects.id, projectId)).limit(1);
      return p ? projectRecord(p) : null;
    },

    /** The organisation owning a project, or null when there is no such project (auth asks this per request; cache it). */
    async projectOrg(projectId: string): Promise<string | null> {
      const [p] = await db.select({ orgId: projects.orgId }).from(projects).where(eq(projects.id, projectId)).limit(1);
      return p?.orgId ?? null;
    },

    async updateProject(projectId: string, patch: ProjectPatch): Promise<ProjectRecord> {
      const set: Partial<typeof projects.$inferInsert> = {};
      if (patch.name !== undefined) set.name = patch.name;
      if (patch.timezone !== undefined) set.timezone = patch.timezone;
      if (patch.domain !== undefined) {
        const [domain] = normalizeOrigins([patch.domain]);
        if (!domain || domain === '*') throw new AppError(400, 'invalid_body', 'domain must name a host');
        set.domain = domain;
      }
      if (patch.allowedOrigins !== undefined) set.allowedOrigins = normalizeOrigins(patch.allowedOrigins);
      const [p] =
        Object.keys(set).length > 0
          ? await db.update(projects).set(set).where(eq(projects.id, projectId)).returning()
          : await db.select().from(projects).where(eq(projects.id, projectId));
      if (!p) throw new AppError(404, 'not_found', 'No such project');
      return projectRecord(p);
    },

    /** Deletes a project with its clients and share links (cascade); returns its client ids, to revoke them. */
    /**
     * Deletes a project (its clients and share links go with it) and, in the same transaction,
     * records that its analytics are to be erased from ClickHouse (`project_erasures`): the
     * erase is owed from the moment the project is gone, whatever happens to this process.
     */
    async deleteProject(projectId: string): Promise<string[]> {
      return db.transaction(async (tx) => {
        const ids = await tx.select({ id: clients.id }).from(clients).where(eq(clients.projectId, projectId));
        const gone = await tx.delete(projects).where(eq(projects.id, projectId)).returning({ id: projects.id });
        if (gone.length === 0) throw new AppError(404, 'not_found', 'No such project');
        await tx.insert(projectErasures).values({ projectId }).onConflictDoNothing();
        return ids.map((c) => c.id);
      });
    },

    /** Deleted projects whose analytics are still to be erased, oldest first. */
    async pendingErasures(): Promise<Array<{ projectId: string; attempts: number; lastError: string | null }>> {
      return db
        .select({ projectId: projectErasures.projectId, attempts: projectErasures.attempts, lastError: projectErasures.lastError })
        .from(projectErasures)
        .orderBy(asc(projectErasures.requestedAt));
    },

    /** Notes a failed erase attempt (the record stays for the next try). */
    async erasureFailed(projectId: string, error: string): Promise<void> {
      await db
        .update(projectErasures)
        .set({ attempts: sql`${projectErasures.attempts} + 1`, lastError: error.slice(0, 2000), lastAttemptAt: new Date() })
        .where(eq(projectErasures.projectId, projectId));
    },

    /** The project's analytics are erased: nothing is owed any more. */
    async erasureDone(projectId: string): Promise<void> {
      await db.delete(projectErasures).where(eq(projectErasures.projectId, projectId));
    },

    async listClients(projectId: string): Promise<ManagedClient[]> {
      const rows = await db.select(clientColumns).from(clients).where(eq(clients.projectId, projectId)).orderBy(asc(clients.createdAt), asc(clients.id));
      return rows.map(clientSummary);
    },

    async updateClient(projectId: string, clientId: string, patch: ClientPatch): Promise<ManagedClient> {
      if (!UUID.test(clientId)) throw noClient();
      const set: Partial<typeof clients.$inferInsert> = {};
      if (patch.name !== undefined) set.name = patch.name;
      if (patch.origins !== undefined) set.allowedOrigins = normalizeOrigins(patch.origins);
      if (patch.projectOrigins !== undefined) set.projectOrigins = patch.projectOrigins;
      if (patch.disabled !== undefined) set.disabledAt = patch.disabled ? new Date() : null;
      const where = and(eq(clients.projectId, projectId), eq(clients.id, clientId));
      const [c] =
        Object.keys(set).length > 0
          ? await db.update(clients).set(set).where(where).returning(clientColumns)
          : await db.select(clientColumns).from(clients).where(where);
      if (!c) throw noClient();
      return clientSummary(c);
    },

    /** Replaces a client's secret: the old one stops working (once caches drop it); the new one is returned once. */
    async rotateSecret(projectId: string, clientId: string): Promise<{ clientId: string; clientSecret: string }> {
      if (!UUID.test(clientId)) throw noClient();
      const clientSecret = generateSecret();
      const done = await db
        .update(clients)
        .set({ secretHash: hashSecret(clientSecret), secretRotatedAt: new Date() })
        .where(and(eq(clients.projectId, projectId), eq(clients.id, clientId)))
        .returning({ id: clients.id });
      if (done.length === 0) throw noClient();
      return { clientId, clientSecret };
    },
  };
}
