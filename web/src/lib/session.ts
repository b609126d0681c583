/**
 * Who is signed in, for the dashboard's pages: the user, their organisations with their role
 * in each, and the CSRF token for changes. Loaded by the `(app)` layout; null when signed out.
 */
import { ApiError, api, setCsrfToken } from './api.ts';

export type Role = 'owner' | 'admin' | 'member' | 'viewer';

export interface Me {
  user: { id: string; email: string; name: string };
  orgs: Array<{ orgId: string; orgName: string; role: Role }>;
  csrfToken: string;
  sessionExpiresAt: string;
}

/** The signed-in user, or null (not signed in, or the session ended). */
export async function loadMe(fetcher?: typeof fetch): Promise<Me | null> {
  try {
    const me = await api<Me>('/api/auth/me', { fetch: fetcher });
    setCsrfToken(me.csrfToken);
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

/** Where to send someone arriving at `/`: setup, sign-in, or their first organisation. */
export async function landing(fetcher?: typeof fetch): Promise<string> {
  const state = await api<{ setupNeeded: boolean; signedIn: boolean }>('/api/auth/state', { fetch: fetcher });
  if (state.setupNeeded) return '/setup';
  const me = state.signedIn ? await loadMe(fetcher) : null;
  if (!me) return '/sign-in';
  const first = me.orgs[0];
  return first ? `/orgs/${first.orgId}` : '/account';
}

/** True when `role` is at least `needed`. */
export function roleAtLeast(role: Role | null | undefined, needed: Role): boolean {
  const rank: Record<Role, number> = { viewer: 1, member: 2, admin: 3, owner: 4 };
  return role ? rank[role] >= rank[needed] : false;
}

/** Only paths of this app after sign-in (never another site). */
export function safeNext(next: string | null): string | null {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : null;
}
