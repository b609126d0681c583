/**
 * Who may read a project's data over HTTP — the one place the row-level read API, the query
 * API and the export ask, through the auth module: a signed-in user whose organisation owns
 * the project (any role reads), or a `read`/`root` API client of the project by its
 * `openpanel-client-id` and `openpanel-client-secret` headers (scripts). A cookie-authenticated
 * request that changes nothing still passes the CSRF check when its method is not GET (the
 * query API is a POST). Share links of the overview (or a board) may use the query API only,
 * on their own project, with their fixed filter added to every query.
 */

import type { FilterTree } from '../../shared/query.ts';
import type { Auth } from '../auth/auth.ts';
import { checkCsrf } from '../auth/csrf.ts';
import type { SharePrincipal } from '../auth/principal.ts';
import { AppError } from '../errors.ts';
import type { RequestSnapshot } from '../http/uws.ts';

/** The principal allowed to read `projectId`, or a thrown AppError (401/403/404). */
export interface ReadPrincipal {
  projectId: string;
  /** Stable id for per-caller limits (rate limits, logs). */
  id: string;
  /** A share link's fixed filter: every answer must be restricted to it (ANDed into the query's filters). */
  filters?: FilterTree[];
  /** Set when a share link asks: what it may ask is narrower (auth/share-scope.ts). */
  share?: SharePrincipal;
}

export type ReadAuthorizer = (req: RequestSnapshot, projectId: string) => Promise<ReadPrincipal>;

export interface ReadAuthorizerOptions {
  ownOrigins?: readonly string[];
  /**
   * Accept share links of the overview or a board (the query API only: aggregates, never rows),
   * restricted to the share's project and fixed filter.
   */
  shares?: boolean;
}

export function createReadAuthorizer(auth: Pick<Auth, 'fromRequest' | 'requireProject'>, opts: ReadAuthorizerOptions = {}): ReadAuthorizer {
  return async (req, projectId) => {
    const principal = await auth.fromRequest({ headers: req.headers });
    if (principal?.kind === 'share') {
      if (!opts.shares) throw new AppError(403, 'forbidden', 'A share link cannot use this API');
      if (principal.target.kind === 'realtime') throw new AppError(403, 'forbidden', 'A realtime share link has no stored-data queries');
      await auth.requireProject(principal, projectId, 'read');
      return { projectId, id: `share:${principal.shareId}`, filters: (principal.filter ?? undefined) as FilterTree[] | undefined, share: principal };
    }
    if (principal === null && !req.headers['openpanel-client-id']) {
      throw new AppError(401, 'missing_client_id', 'Sign in, or send a read client’s openpanel-client-id and openpanel-client-secret');
    }
    if (principal?.kind === 'user') {
      checkCsrf({ method: req.method, headers: req.headers, ownOrigins: opts.ownOrigins ?? [], sessionToken: principal.sessionToken });
    }
    await auth.requireProject(principal, projectId, 'read');
    return { projectId, id: principal!.kind === 'client' ? `client:${principal!.clientId}` : `user:${principal!.userId}` };
  };
}
