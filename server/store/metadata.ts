/**
 * The metadata repository: projects, their API clients and the daily salts, over either
 * shape of the metadata database. Secrets leave this module once, at creation; only their
 * hashes are stored and nothing that lists clients ever returns a hash.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, isNull, lt, type SQL } from 'drizzle-orm';
import { type CLIENT_TYPES, clients, organizations, projects, salts } from '../../db/schema.ts';
import { ProjectRateLimits } from '../../shared/rate-limits.ts';
import { AppError, zodIssues } from '../errors.ts';
import { generateSecret, hashSecret, normalizeOrigins } from './client-secrets.ts';
import type { MetadataDb } from './postgres.ts';
import { createProjectAdmin, type ProjectRecord } from './projects.ts';

export { generateSecret, hashSecret, verifySecret } from './client-secrets.ts';

export type ClientType = (typeof CLIENT_TYPES)[number];

/** What the ingest path needs to authenticate a client (cache it; this is per request). */
export interface ClientAuth {
  id: string;
  projectId: string;
  type: ClientType;
  /** SHA-256 hex of the secret, null for a client without one */
  secretHash: string | null;
  /** normalized entries, see `server/auth/origin.ts` */
  allowedOrigins: string[];
  disabled: boolean;
}

/** A client as listed to administrators: never its secret or hash. */
export interface ClientSummary {
  id: string;
  name: string;
  type: ClientType;
  allowedOrigins: string[];
  /** also allowed on the project's allowed origins */
  projectOrigins: boolean;
  disabled: boolean;
  createdAt: string;
}

export interface ProjectSummary extends ProjectRecord {
  clients: ClientSummary[];
}

export interface NewClient {
  clientId: string;
  /** shown once; only its hash is kept */
  clientSecret: string;
}

export interface DailySalts {
  /** salt of the current UTC day */
  current: string;
  /** salt of the previous UTC day, kept for sessions that span midnight */
  previous: string;
}

const PROJECT_ID_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i
/** A short readable random project id (12 chars, ≈ 59 bits). */
export function generateProjectId(): string {
  let id = '';
  for (let i = 0; i < 12; i++) id += PROJECT_ID_ALPHABET[randomInt(PROJECT_ID_ALPHABET.length)];
  return id;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `YYYY-MM-DD` of the UTC day containing `d`. */
function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Inserts a client with a fresh secret; the secret is returned once and only its hash is kept. */
export async function insertClient(
  tx: Pick<MetadataDb, 'insert'>,
  c: { projectId: string; type: ClientType; name: string; origins: string[]; projectOrigins: boolean },
): Promise<NewClient> {
  const clientId = randomUUID();
  const clientSecret = generateSecret();
  await tx.insert(clients).values({
    id: clientId,
    projectId: c.projectId,
    name: c.name,
    type: c.type,
    secretHash: hashSecret(clientSecret),
    allowedOrigins: c.origins,
    projectOrigins: c.projectOrigins,
  });
  return { clientId, clientSecret };
}

/** Builds the repository over an open metadata database. */
export function createMetadata(db: MetadataDb) {
  return {
    ...createProjectAdmin(db),

    /**
     * Creates a project in `orgId` (default: the oldest organisation, created when there is
     * none yet, so the admin CLI works before anyone has signed up) with one client: a `root`
     * client allowed on the project's domain (admin CLI), or a `write` browser client that
     * follows the project's allowed origins (dashboard, `firstClient: 'browser'`).
     */
    async createProject(input: {
      name: string;
      domain: string;
      orgId?: string;
      timezone?: string;
      allowedOrigins?: readonly string[];
      firstClient?: 'root' | 'browser';
    }): Promise<NewClient & { projectId: string; orgId: string }> {
      const [domain] = normalizeOrigins([input.domain]);
      if (!domain || domain === '*') throw new AppError(400, 'invalid_body', 'domain must name a host');
      const allowedOrigins = input.allowedOrigins ? normalizeOrigins(input.allowedOrigins) : [domain];
      const projectId = generateProjectId();
      return db.transaction(async (tx) => {
        let orgId = input.orgId;
        if (!orgId) {
          const [first] = await tx.select({ id: organizations.id }).from(organizations).orderBy(asc(organizations.createdAt)).limit(1);
          orgId = first?.id ?? (await tx.insert(organizations).values({ name: 'My organisation' }).returning({ id: organizations.id }))[0]!.id;
        }
        await tx.insert(projects).values({ id: projectId, orgId, name: input.name, domain, timezone: input.timezone ?? 'UTC', allowedOrigins });
        const client =
          input.firstClient === 'browser'
            ? await insertClient(tx, { projectId, type: 'write', name: 'Website', origins: [], projectOrigins: true })
            : await insertClient(tx, { projectId, type: 'root', name: 'Root', origins: [domain], projectOrigins: false });
        return { projectId, orgId, ...client };
      });
    },

    /** Adds a client to a project; 404 `not_found` when the project does not exist. */
    async createClient(input: {
      projectId: string;
      type: ClientType;
      origins: readonly string[];
      name?: string;
      projectOrigins?: boolean;
    }): Promise<NewClient> {
      const origins = normalizeOrigins(input.origins);
      return db.transaction(async (tx) => {
        const found = await tx.select({ id: projects.id }).from(projects).where(eq(projects.id, input.projectId)).for('share');
        if (found.length === 0) throw new AppError(404, 'not_found', `no project ${JSON.stringify(input.projectId)}`);
        const name = input.name ?? `${input.type[0]?.toUpperCase()}${input.type.slice(1)} client`;
        return insertClient(tx, { projectId: input.projectId, type: input.type, name, origins, projectOrigins: input.projectOrigins ?? false });
      });
    },

    /** Every project (of `orgId`, when given) with its clients, oldest first; no secrets or hashes. */
    async listProjects(orgId?: string): Promise<ProjectSummary[]> {
      const inOrg: SQL | undefined = orgId ? eq(projects.orgId, orgId) : undefined;
      const ps = await db.select().from(projects).where(inOrg).orderBy(asc(projects.createdAt), asc(projects.id));
      const cs = await db
        .select({
          id: clients.id,
          projectId: clients.projectId,
          name: clients.name,
          type: clients.type,
          allowedOrigins: clients.allowedOrigins,
          projectOrigins: clients.projectOrigins,
          disabledAt: clients.disabledAt,
          createdAt: clients.createdAt,
        })
        .from(clients)
        .innerJoin(projects, eq(projects.id, clients.projectId))
        .where(inOrg)
        .orderBy(asc(clients.createdAt), asc(clients.id));
      return ps.map((p) => ({
        id: p.id,
        orgId: p.orgId,
        name: p.name,
        domain: p.domain,
        timezone: p.timezone,
        allowedOrigins: p.allowedOrigins,
        createdAt: p.createdAt.toISOString(),
        clients: cs
          .filter((c) => c.projectId === p.id)
          .map((c) => ({
            id: c.id,
            name: c.name,
            type: c.type,
            allowedOrigins: c.allowedOrigins,
            projectOrigins: c.projectOrigins,
            disabled: c.disabledAt !== null,
            createdAt: c.createdAt.toISOString(),
          })),
      }));
    },

    /** The client with this public id, or null (also for ids that are not UUIDs). */
    async getClient(clientId: string): Promise<ClientAuth | null> {
      if (!UUID.test(clientId)) return null;
      const [c] = await db
        .select({
          id: clients.id,
          projectId: clients.projectId,
          type: clients.type,
          secretHash: clients.secretHash,
          allowedOrigins: clients.allowedOrigins,
          projectOrigins: clients.projectOrigins,
          projectAllowed: projects.allowedOrigins,
          disabledAt: clients.disabledAt,
        })
        .from(clients)
        .innerJoin(projects, eq(projects.id, clients.projectId))
        .where(eq(clients.id, clientId))
        .limit(1);
      if (!c) return null;
      const { disabledAt, projectOrigins, projectAllowed, allowedOrigins, ...rest } = c;
      const effective = projectOrigins ? [...new Set([...allowedOrigins, ...projectAllowed])] : allowedOrigins;
      return { ...rest, allowedOrigins: effective, disabled: disabledAt !== null };
    },

    /** Disables a client (idempotent); 404 `not_found` when it does not exist. */
    async disableClient(clientId: string): Promise<void> {
      if (!UUID.test(clientId)) throw new AppError(404, 'not_found', `no client ${JSON.stringify(clientId)}`);
      await db
        .update(clients)
        .set({ disabledAt: new Date() })
        .where(and(eq(clients.id, clientId), isNull(clients.disabledAt)));
      const [c] = await db.select({ id: clients.id }).from(clients).where(eq(clients.id, clientId));
      if (!c) throw new AppError(404, 'not_found', `no client ${JSON.stringify(clientId)}`);
    },

    /** The project's rate limit overrides (`{}` when it has none or does not exist). */
    async getProjectRateLimits(projectId: string): Promise<ProjectRateLimits> {
      const [p] = await db.select({ rateLimits: projects.rateLimits }).from(projects).where(eq(projects.id, projectId)).limit(1);
      const parsed = ProjectRateLimits.safeParse(p?.rateLimits ?? {});
      return parsed.success ? parsed.data : {};
    },

    /**
     * Changes the project's rate limit overrides: each given limit is set (`"off"` for none),
     * `"default"` removes an override. Returns the overrides now in force; 404 `not_found`
     * when the project does not exist.
     */
    async setProjectRateLimits(projectId: string, changes: Record<string, string>): Promise<ProjectRateLimits> {
      return db.transaction(async (tx) => {
        const [p] = await tx.select({ rateLimits: projects.rateLimits }).from(projects).where(eq(projects.id, projectId)).for('update');
        if (!p) throw new AppError(404, 'not_found', `no project ${JSON.stringify(projectId)}`);
        const next: Record<string, string> = { ...p.rateLimits };
        for (const [name, value] of Object.entries(changes)) {
          if (value === 'default') delete next[name];
          else next[name] = value;
        }
        const parsed = ProjectRateLimits.safeParse(next);
        if (!parsed.success) throw new AppError(400, 'invalid_body', 'invalid rate limits', zodIssues(parsed.error));
        await tx.update(projects).set({ rateLimits: parsed.data }).where(eq(projects.id, projectId));
        return parsed.data;
      });
    },

    /**
     * Deletes the salts of days before yesterday (UTC days of `now`); returns how many. Until a
     * day's salt is gone, anyone holding the database can recompute that day's cookieless
     * device ids from an address and agent; deleting it is what makes them unlinkable.
     */
    async pruneSalts(now: Date): Promise<number> {
      const yesterday = utcDay(new Date(now.getTime() - 86_400_000));
      const gone = await db.delete(salts).where(lt(salts.day, yesterday)).returning({ day: salts.day });
      return gone.length;
    },

    /**
     * Today's and yesterday's salts (UTC days of `now`), created on first use. Safe when many
     * processes ask at once: inserts never overwrite (ON CONFLICT DO NOTHING) and the values
     * are read back afterwards, so every caller sees the same salt for a day.
     */
    async getSalts(now: Date): Promise<DailySalts> {
      const today = utcDay(now);
      const yesterday = utcDay(new Date(now.getTime() - 86_400_000));
      const read = async () => {
        const rows = await db
          .select({ day: salts.day, salt: salts.salt })
          .from(salts)
          .where(inArray(salts.day, [today, yesterday]));
        const byDay = new Map(rows.map((r) => [r.day, r.salt]));
        return { current: byDay.get(today), previous: byDay.get(yesterday) };
      };
      let found = await read();
      if (found.current === undefined || found.previous === undefined) {
        const fresh = () => randomBytes(32).toString('base64url');
        await db
          .insert(salts)
          .values([
            { day: today, salt: fresh() },
            { day: yesterday, salt: fresh() },
          ])
          .onConflictDoNothing({ target: salts.day });
        found = await read();
      }
      if (found.current === undefined || found.previous === undefined) throw new Error(`salts for ${today} missing after insert`);
      return { current: found.current, previous: found.previous };
    },
  };
}

/** The metadata repository (see `createMetadata`). */
export type Metadata = ReturnType<typeof createMetadata>;
