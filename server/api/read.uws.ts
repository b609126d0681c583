/**
 * The read API under `/api/v1`, for checking what was stored (dashboards come later and use
 * the same queries): event counts, the latest events, one profile and one group of a
 * project. Authenticated by a
 * `read` or `root` client of that project (`openpanel-client-id` + `openpanel-client-secret`).
 */

import type { TemplatedApp } from 'uWebSockets.js';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import type { Authenticator } from '../auth/clients.ts';
import { AppError, zodIssues } from '../errors.ts';
import { handle, type RequestSnapshot, sendJson } from '../http/uws.ts';
import { type ClientIpOptions, clientIp } from '../ingest/client-ip.ts';
import { assertAllowed, type Limits } from '../limits/limits.ts';
import type { Logger } from '../log.ts';
import { countEvents, countEventsAndIds, getGroup, getProfile, listEvents } from '../stats/events.ts';

const IsoDate = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((s) => new Date(s));

const CountQuery = z.object({
  from: IsoDate.optional(),
  to: IsoDate.optional(),
  name: z.string().max(200).optional(),
  /** `distinct=id` adds the number of distinct event ids (a double-counting check). */
  distinct: z.literal('id').optional(),
});
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) });

export interface ReadApiDeps {
  ch: ClickHouseClient;
  auth: Authenticator;
  log: Logger;
  limits: Limits;
  ip: ClientIpOptions;
}

export function registerReadApi(app: TemplatedApp, deps: ReadApiDeps) {
  const authed = async (req: RequestSnapshot) => {
    const projectId = req.params[0]!;
    const ip = clientIp(req.remoteIp, req.headers, deps.ip);
    const caller = await deps.limits.authenticate(ip, () =>
      deps.auth.forRead({ clientId: req.headers['openpanel-client-id'], secret: req.headers['openpanel-client-secret'] }, projectId),
    );
    assertAllowed(await deps.limits.read(caller), 'read requests for this client');
    return projectId;
  };

  app.get(
    '/api/v1/projects/:projectId/events/count',
    handle(
      deps.log,
      async (res, req) => {
        const projectId = await authed(req);
        const q = parse(CountQuery, req.query);
        const filter = { projectId, from: q.from, to: q.to, name: q.name };
        if (q.distinct === 'id') sendJson(res, 200, await countEventsAndIds(deps.ch, filter));
        else sendJson(res, 200, { count: await countEvents(deps.ch, filter) });
      },
      { params: 1 },
    ),
  );

  app.get(
    '/api/v1/projects/:projectId/events',
    handle(
      deps.log,
      async (res, req) => {
        const projectId = await authed(req);
        const q = parse(ListQuery, req.query);
        sendJson(res, 200, { data: await listEvents(deps.ch, { projectId, limit: q.limit }) });
      },
      { params: 1 },
    ),
  );

  app.get(
    '/api/v1/projects/:projectId/profiles/:profileId',
    handle(
      deps.log,
      async (res, req) => {
        const projectId = await authed(req);
        const profileId = param(req.params[1]!);
        const profile = await getProfile(deps.ch, projectId, profileId);
        if (!profile) throw new AppError(404, 'not_found', `No profile ${JSON.stringify(profileId)} in this project`);
        sendJson(res, 200, { data: profile });
      },
      { params: 2 },
    ),
  );

  app.get(
    '/api/v1/projects/:projectId/groups/:groupId',
    handle(
      deps.log,
      async (res, req) => {
        const projectId = await authed(req);
        const groupId = param(req.params[1]!);
        const group = await getGroup(deps.ch, projectId, groupId);
        if (!group) throw new AppError(404, 'not_found', `No group ${JSON.stringify(groupId)} in this project`);
        sendJson(res, 200, { data: group });
      },
      { params: 2 },
    ),
  );
}

/** A percent-decoded path segment; a malformed escape is the caller's mistake (400), not a 500. */
function param(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new AppError(400, 'invalid_body', 'Malformed percent-escape in the path');
  }
}

function parse<T extends z.ZodType>(schema: T, query: string): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(new URLSearchParams(query)));
  if (!parsed.success) throw new AppError(400, 'invalid_body', 'Invalid query parameters', zodIssues(parsed.error));
  return parsed.data;
}
