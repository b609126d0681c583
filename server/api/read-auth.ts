/**
 * Who may read a project's data over HTTP — the one place every read route asks. Today: a
 * `read` or `root` API client of the project, by its `openpanel-client-id` and
 * `openpanel-client-secret` headers. Signed-in users and share tokens plug in here, so the
 * read API, the query API and the export change together.
 */

import type { Authenticator } from '../auth/clients.ts';
import type { RequestSnapshot } from '../http/uws.ts';

/** The principal allowed to read `projectId`, or a thrown AppError (401/403). */
export interface ReadPrincipal {
  projectId: string;
  /** Stable id for per-caller limits (rate limits, logs). */
  id: string;
}

export type ReadAuthorizer = (req: RequestSnapshot, projectId: string) => Promise<ReadPrincipal>;

export function createReadAuthorizer(auth: Pick<Authenticator, 'forRead'>): ReadAuthorizer {
  return async (req, projectId) => {
    const caller = await auth.forRead({ clientId: req.headers['openpanel-client-id'], secret: req.headers['openpanel-client-secret'] }, projectId);
    return { projectId: caller.projectId, id: `client:${caller.clientId}` };
  };
}
