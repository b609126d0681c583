/**
 * Principals: who a request or socket acts as, once authenticated, and what each may do.
 *  - `client`: an API client (id + secret, or a browser's Origin) — ingest, the read API, scripts;
 *  - `user`: a person signed in to the dashboard (session cookie) — through their organisations' roles;
 *  - `share`: a share link's token — read-only, one project, one view, maybe a fixed filter.
 * Scopes are per project: `read` (see data), `write` (also edit reports and share links),
 * `admin` (also manage the project, its clients and the organisation's members).
 */
import type { ProjectLevel, Role, ShareFilter, ShareTarget } from '../../shared/auth.ts';
import type { Caller } from './clients.ts';

export type ClientPrincipal = { kind: 'client' } & Caller;

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  email: string;
  sessionId: string;
  /** the cookie's token (the CSRF token derives from it) */
  sessionToken: string;
  sessionExpiresAt: Date;
}

export interface SharePrincipal {
  kind: 'share';
  shareId: string;
  projectId: string;
  target: ShareTarget;
  /** conditions every answer is restricted to; null when none */
  filter: ShareFilter | null;
  expiresAt: Date | null;
}

export type Principal = ClientPrincipal | UserPrincipal | SharePrincipal;

const LEVEL_RANK: Record<ProjectLevel, number> = { read: 1, write: 2, admin: 3 };
const ROLE_RANK: Record<Role, number> = { viewer: 1, member: 2, admin: 3, owner: 4 };

/** The project level a role grants: owners and admins manage, members edit, viewers read. */
export function levelOfRole(role: Role): ProjectLevel {
  return role === 'owner' || role === 'admin' ? 'admin' : role === 'member' ? 'write' : 'read';
}

/** The project level an API client has on its own project (none for a write-only client: it ingests). */
export function levelOfClient(type: Caller['clientType']): ProjectLevel | null {
  return type === 'write' ? null : 'read';
}

export const levelAtLeast = (has: ProjectLevel, needs: ProjectLevel) => LEVEL_RANK[has] >= LEVEL_RANK[needs];
export const roleAtLeast = (has: Role, needs: Role) => ROLE_RANK[has] >= ROLE_RANK[needs];

/** The key live sockets and caches file a principal's credential under (what a revocation names). */
export function credentialKey(p: Principal): string {
  if (p.kind === 'client') return `client:${p.clientId}`;
  if (p.kind === 'share') return `share-token:${p.shareId}`;
  return `user-session:${p.sessionId}`;
}
