/**
 * Wire contract of accounts, organisations, projects and share links: the dashboard API's
 * request bodies (zod, validated once on the server and typed on the web side), roles, share
 * targets, and the revocation message nodes exchange over the bus.
 */
import { z } from 'zod';
import { FilterTree } from './query.ts';

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** What a role may do in its organisation's projects. */
export const PROJECT_LEVELS = ['read', 'write', 'admin'] as const;
export type ProjectLevel = (typeof PROJECT_LEVELS)[number];

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

const Email = z.string().trim().toLowerCase().max(254).pipe(z.email());
const Name = z.string().trim().min(1).max(200);
const Password = z.string().min(PASSWORD_MIN, `at least ${PASSWORD_MIN} characters`).max(PASSWORD_MAX);
/** An IANA time zone the runtime knows (`Europe/Paris`, `UTC`). */
export const TimeZone = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'not a known IANA time zone (e.g. Europe/Paris)');
const Origins = z.array(z.string().trim().min(1).max(300)).max(100);

export const SetupBody = z.strictObject({ email: Email, name: Name, password: Password, orgName: Name.default('My organisation') });
export const SignInBody = z.strictObject({ email: z.string().max(254), password: z.string().max(PASSWORD_MAX) });
export const ChangePasswordBody = z.strictObject({ currentPassword: z.string().max(PASSWORD_MAX), newPassword: Password });
export const AcceptInvitationBody = z.union([z.strictObject({ name: Name, password: Password }), z.strictObject({})]);

export const CreateOrgBody = z.strictObject({ name: Name });
export const UpdateOrgBody = z.strictObject({ name: Name });
export const InviteBody = z.strictObject({ email: Email, role: Role.default('member') });
export const UpdateMemberBody = z.strictObject({ role: Role });

export const CreateProjectBody = z.strictObject({
  name: Name,
  domain: z.string().trim().min(1).max(253),
  timezone: TimeZone.default('UTC'),
  allowedOrigins: Origins.optional(),
});
export const UpdateProjectBody = z.strictObject({
  name: Name.optional(),
  domain: z.string().trim().min(1).max(253).optional(),
  timezone: TimeZone.optional(),
  allowedOrigins: Origins.optional(),
});

export const ClientType = z.enum(['write', 'read', 'root']);
export const CreateClientBody = z.strictObject({
  name: Name,
  type: ClientType,
  /** sites of its own, beside the project's allowed origins when `projectOrigins` */
  origins: Origins.default([]),
  projectOrigins: z.boolean().default(false),
});
export const UpdateClientBody = z.strictObject({
  name: Name.optional(),
  origins: Origins.optional(),
  projectOrigins: z.boolean().optional(),
  disabled: z.boolean().optional(),
});

/** What a share link shows: the project's realtime view, its overview, or one saved board. */
export const ShareTarget = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('realtime') }),
  z.strictObject({ kind: z.literal('overview') }),
  z.strictObject({ kind: z.literal('board'), id: z.string().min(1).max(64) }),
]);
export type ShareTarget = z.infer<typeof ShareTarget>;

/**
 * A fixed filter the viewer of a share cannot remove: query-model filters (shared/query.ts),
 * all of which must hold; the query API adds them to every query the share makes.
 */
export const ShareFilter = z.array(FilterTree).max(20);
export type ShareFilter = z.infer<typeof ShareFilter>;

export const CreateShareBody = z.strictObject({
  name: Name,
  target: ShareTarget,
  password: Password.optional(),
  /** ISO time; absent for a link that never expires */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  filter: ShareFilter.optional(),
  /** Sites allowed to embed the share in an iframe: `*` (default) for any, `[]` for none. */
  frameAncestors: Origins.default(['*']),
});
export const UnlockShareBody = z.strictObject({ password: z.string().max(PASSWORD_MAX) });

/**
 * Bus message telling every node to stop trusting a credential now: drop it from caches and
 * disconnect live sockets that rely on it. `user` covers every session of a user and any
 * change of their memberships (their sockets reconnect with the scopes they have now).
 */
export const Revocation = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('client'), id: z.string() }),
  z.object({ kind: z.literal('user-session'), id: z.string(), userId: z.string() }),
  z.object({ kind: z.literal('user'), userId: z.string() }),
  z.object({ kind: z.literal('share-token'), id: z.string() }),
  /** A project's allowed origins or existence changed: its clients are read again. */
  z.object({ kind: z.literal('project'), id: z.string() }),
]);
export type Revocation = z.infer<typeof Revocation>;

/** Bus channel of revocations. */
export const AUTH_CHANNELS = { revoked: 'auth:revoked' } as const;
