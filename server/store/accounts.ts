/**
 * The accounts repository: users, organisations, memberships (roles) and invitations, over
 * either shape of the metadata database. Password and token hashes are made by the caller
 * (server/auth); nothing here returns a hash except `userForSignIn`.
 */
import { and, asc, count, eq, gt, isNull, sql } from 'drizzle-orm';
import { invitations, memberships, organizations, type ROLES, users } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import type { MetadataDb } from './postgres.ts';

export type Role = (typeof ROLES)[number];

export interface UserSummary {
  id: string;
  email: string;
  name: string;
  createdAt: string;
  lastSignInAt: string | null;
}

export interface Membership {
  orgId: string;
  orgName: string;
  role: Role;
}

export interface MemberSummary extends UserSummary {
  role: Role;
}

export interface InvitationSummary {
  id: string;
  orgId: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  expiresAt: string;
  createdAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const userColumns = { id: users.id, email: users.email, name: users.name, createdAt: users.createdAt, lastSignInAt: users.lastSignInAt };
const summary = (u: { id: string; email: string; name: string; createdAt: Date; lastSignInAt: Date | null }): UserSummary => ({
  id: u.id,
  email: u.email,
  name: u.name,
  createdAt: u.createdAt.toISOString(),
  lastSignInAt: iso(u.lastSignInAt),
});

/** Emails are compared and stored lower-cased and trimmed. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

type Tx = Parameters<Parameters<MetadataDb['transaction']>[0]>[0];

export function createAccounts(db: MetadataDb) {
  async function insertUser(tx: Tx | MetadataDb, u: { email: string; name: string; passwordHash: string }): Promise<UserSummary> {
    const email = normalizeEmail(u.email);
    const inserted = await tx
      .insert(users)
      .values({ email, name: u.name.trim() || email, passwordHash: u.passwordHash })
      .onConflictDoNothing({ target: users.email })
      .returning(userColumns);
    if (!inserted[0]) throw new AppError(409, 'conflict', 'A user with this email already exists');
    return summary(inserted[0]);
  }

  async function ownerCount(tx: Tx | MetadataDb, orgId: string): Promise<number> {
    const [r] = await tx
      .select({ n: count() })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.role, 'owner')));
    return r?.n ?? 0;
  }

  /**
   * A member's row, with every membership of the organisation locked for the transaction: two
   * owners demoting or removing each other at once cannot leave the organisation ownerless.
   */
  async function lockedMember(tx: Tx, orgId: string, userId: string): Promise<{ role: Role }> {
    await tx.execute(sql`select 1 from ${memberships} where ${memberships.orgId} = ${orgId} for update`);
    const [m] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
    if (!m) throw new AppError(404, 'not_found', 'No such member');
    return m;
  }

  return {
    async userCount(): Promise<number> {
      const [r] = await db.select({ n: count() }).from(users);
      return r?.n ?? 0;
    },

    /**
     * Creates the first user when there is none (first-run setup, or `create-user` on a fresh
     * install), as the owner of the organisation that has no members yet (the one existing
     * projects were migrated into) or of a new one named `orgName`. A table lock makes two
     * concurrent setups end with one owner: the second gets 409 `setup_done`.
     */
    async createFirstUser(u: { email: string; name: string; passwordHash: string; orgName: string }): Promise<UserSummary & { orgId: string }> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`lock table ${users} in exclusive mode`);
        const [existing] = await tx.select({ n: count() }).from(users);
        if ((existing?.n ?? 0) > 0) throw new AppError(409, 'setup_done', 'Livepanel is already set up: sign in, or ask an owner for an invitation');
        const user = await insertUser(tx, u);
        const [orphan] = await tx
          .select({ id: organizations.id })
          .from(organizations)
          .where(sql`not exists (select 1 from ${memberships} where ${memberships.orgId} = ${organizations.id})`)
          .orderBy(asc(organizations.createdAt))
          .limit(1);
        const orgId = orphan?.id ?? (await tx.insert(organizations).values({ name: u.orgName }).returning({ id: organizations.id }))[0]!.id;
        await tx.insert(memberships).values({ orgId, userId: user.id, role: 'owner' });
        return { ...user, orgId };
      });
    },

    /** Creates a user and adds them to `orgId` with `role` in one transaction. */
    async createUser(u: { email: string; name: string; passwordHash: string; orgId: string; role: Role }): Promise<UserSummary> {
      return db.transaction(async (tx) => {
        const user = await insertUser(tx, u);
        await tx.insert(memberships).values({ orgId: u.orgId, userId: user.id, role: u.role });
        return user;
      });
    },

    /** What sign-in needs: the id and password hash of the user with this email, or null. */
    async userForSignIn(email: string): Promise<{ id: string; email: string; passwordHash: string } | null> {
      const [u] = await db
        .select({ id: users.id, email: users.email, passwordHash: users.passwordHash })
        .from(users)
        .where(eq(users.email, normalizeEmail(email)))
        .limit(1);
      return u ?? null;
    },

    async passwordHash(userId: string): Promise<string | null> {
      const [u] = await db.select({ h: users.passwordHash }).from(users).where(eq(users.id, userId)).limit(1);
      return u?.h ?? null;
    },

    async getUser(userId: string): Promise<UserSummary | null> {
      if (!isUuid(userId)) return null;
      const [u] = await db.select(userColumns).from(users).where(eq(users.id, userId)).limit(1);
      return u ? summary(u) : null;
    },

    async getUserByEmail(email: string): Promise<UserSummary | null> {
      const [u] = await db
        .select(userColumns)
        .from(users)
        .where(eq(users.email, normalizeEmail(email)))
        .limit(1);
      return u ? summary(u) : null;
    },

    async setPassword(userId: string, passwordHash: string): Promise<void> {
      const done = await db.update(users).set({ passwordHash }).where(eq(users.id, userId)).returning({ id: users.id });
      if (done.length === 0) throw new AppError(404, 'not_found', 'No such user');
    },

    async touchSignIn(userId: string, at: Date): Promise<void> {
      await db.update(users).set({ lastSignInAt: at }).where(eq(users.id, userId));
    },

    /** Every user with their memberships (admin CLI `list-users`). */
    async listUsers(): Promise<Array<UserSummary & { memberships: Membership[] }>> {
      const us = await db.select(userColumns).from(users).orderBy(asc(users.createdAt), asc(users.email));
      const ms = await db
        .select({ userId: memberships.userId, orgId: memberships.orgId, orgName: organizations.name, role: memberships.role })
        .from(memberships)
        .innerJoin(organizations, eq(organizations.id, memberships.orgId))
        .orderBy(asc(memberships.createdAt));
      return us.map((u) => ({
        ...summary(u),
        memberships: ms.filter((m) => m.userId === u.id).map(({ orgId, orgName, role }) => ({ orgId, orgName, role })),
      }));
    },

    /** The organisations a user belongs to, with their role in each. */
    async membershipsOf(userId: string): Promise<Membership[]> {
      return db
        .select({ orgId: memberships.orgId, orgName: organizations.name, role: memberships.role })
        .from(memberships)
        .innerJoin(organizations, eq(organizations.id, memberships.orgId))
        .where(eq(memberships.userId, userId))
        .orderBy(asc(organizations.createdAt));
    },

    async createOrg(name: string, ownerId: string): Promise<{ id: string; name: string }> {
      return db.transaction(async (tx) => {
        const [org] = await tx.insert(organizations).values({ name }).returning({ id: organizations.id, name: organizations.name });
        await tx.insert(memberships).values({ orgId: org!.id, userId: ownerId, role: 'owner' });
        return org!;
      });
    },

    async getOrg(orgId: string): Promise<{ id: string; name: string; createdAt: string } | null> {
      if (!isUuid(orgId)) return null;
      const [o] = await db.select().from(organizations).where(eq(organizations.id, orgId)).limit(1);
      return o ? { id: o.id, name: o.name, createdAt: o.createdAt.toISOString() } : null;
    },

    /** The oldest organisation (admin CLI defaults), or null on an empty install. */
    async firstOrg(): Promise<{ id: string; name: string } | null> {
      const [o] = await db.select({ id: organizations.id, name: organizations.name }).from(organizations).orderBy(asc(organizations.createdAt)).limit(1);
      return o ?? null;
    },

    async renameOrg(orgId: string, name: string): Promise<void> {
      await db.update(organizations).set({ name }).where(eq(organizations.id, orgId));
    },

    async members(orgId: string): Promise<MemberSummary[]> {
      const rows = await db
        .select({ ...userColumns, role: memberships.role })
        .from(memberships)
        .innerJoin(users, eq(users.id, memberships.userId))
        .where(eq(memberships.orgId, orgId))
        .orderBy(asc(memberships.createdAt));
      return rows.map((r) => ({ ...summary(r), role: r.role }));
    },

    async roleIn(orgId: string, userId: string): Promise<Role | null> {
      const [m] = await db
        .select({ role: memberships.role })
        .from(memberships)
        .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
        .limit(1);
      return m?.role ?? null;
    },

    /** Changes a member's role; 409 `conflict` when that would leave the organisation without an owner. */
    async setRole(orgId: string, userId: string, role: Role): Promise<void> {
      await db.transaction(async (tx) => {
        const m = await lockedMember(tx, orgId, userId);
        if (m.role === 'owner' && role !== 'owner' && (await ownerCount(tx, orgId)) <= 1) {
          throw new AppError(409, 'conflict', 'An organisation needs at least one owner: make someone else owner first');
        }
        await tx
          .update(memberships)
          .set({ role })
          .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
      });
    },

    /** Removes a member; 409 `conflict` for the last owner. */
    async removeMember(orgId: string, userId: string): Promise<void> {
      await db.transaction(async (tx) => {
        const m = await lockedMember(tx, orgId, userId);
        if (m.role === 'owner' && (await ownerCount(tx, orgId)) <= 1) {
          throw new AppError(409, 'conflict', 'The last owner cannot leave: make someone else owner first');
        }
        await tx.delete(memberships).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
      });
    },

    async createInvitation(i: {
      orgId: string;
      email: string;
      role: Role;
      tokenHash: string;
      invitedBy: string | null;
      expiresAt: Date;
    }): Promise<InvitationSummary> {
      const [row] = await db
        .insert(invitations)
        .values({ ...i, email: normalizeEmail(i.email) })
        .returning();
      return invitationSummary(row!);
    },

    /** Open invitations of an organisation (not accepted, revoked or expired). */
    async invitations(orgId: string, now: Date): Promise<InvitationSummary[]> {
      const rows = await db
        .select()
        .from(invitations)
        .where(and(eq(invitations.orgId, orgId), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now)))
        .orderBy(asc(invitations.createdAt));
      return rows.map(invitationSummary);
    },

    async revokeInvitation(orgId: string, id: string): Promise<void> {
      if (!isUuid(id)) throw new AppError(404, 'not_found', 'No such invitation');
      const done = await db
        .update(invitations)
        .set({ revokedAt: new Date() })
        .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
        .returning({ id: invitations.id });
      if (done.length === 0) throw new AppError(404, 'not_found', 'No such open invitation');
    },

    /** The open invitation with this token hash and its organisation's name; 410 `expired` for a used, revoked or expired one. */
    async openInvitation(tokenHash: string, now: Date): Promise<InvitationSummary & { orgName: string }> {
      const [row] = await db
        .select({ inv: invitations, orgName: organizations.name })
        .from(invitations)
        .innerJoin(organizations, eq(organizations.id, invitations.orgId))
        .where(eq(invitations.tokenHash, tokenHash))
        .limit(1);
      if (!row) throw new AppError(404, 'not_found', 'This invitation link is not valid');
      if (row.inv.acceptedAt || row.inv.revokedAt || row.inv.expiresAt <= now) {
        throw new AppError(410, 'expired', 'This invitation link has expired or was already used: ask for a new one');
      }
      return { ...invitationSummary(row.inv), orgName: row.orgName };
    },

    /**
     * Uses an invitation once: as a new user (`newUser`) or as the signed-in `userId`. The
     * invitation row is claimed with a conditional update first, so two concurrent accepts
     * cannot both succeed.
     */
    async acceptInvitation(
      tokenHash: string,
      now: Date,
      who: { userId: string } | { newUser: { email: string; name: string; passwordHash: string } },
    ): Promise<{ userId: string; orgId: string; role: Role }> {
      return db.transaction(async (tx) => {
        const [inv] = await tx
          .update(invitations)
          .set({ acceptedAt: now })
          .where(and(eq(invitations.tokenHash, tokenHash), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now)))
          .returning();
        if (!inv) throw new AppError(410, 'expired', 'This invitation link has expired or was already used: ask for a new one');
        const userId = 'userId' in who ? who.userId : (await insertUser(tx, who.newUser)).id;
        await tx.insert(memberships).values({ orgId: inv.orgId, userId, role: inv.role }).onConflictDoNothing(); // already a member: keep the role they have (an invitation never demotes an owner)
        return { userId, orgId: inv.orgId, role: inv.role };
      });
    },
  };
}

function invitationSummary(r: typeof invitations.$inferSelect): InvitationSummary {
  return {
    id: r.id,
    orgId: r.orgId,
    email: r.email,
    role: r.role,
    invitedBy: r.invitedBy,
    expiresAt: r.expiresAt.toISOString(),
    createdAt: r.createdAt.toISOString(),
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
