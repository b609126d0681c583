/**
 * The row-level read API under `/api/v1/projects/:projectId/…`: event counts and lists, sessions
 * and one session's timeline, profiles (search, one profile), groups and property keys — what
 * the dashboard's lists and timelines show. Numbers over dimensions come from the query API
 * (query.uws.ts). Every route asks read-auth.ts who may read the project.
 */

import type { TemplatedApp } from 'uWebSockets.js';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { AppError, zodIssues } from '../errors.ts';
import { handle, type RequestSnapshot, sendJson } from '../http/uws.ts';
import type { Logger } from '../log.ts';
import { countEvents, countEventsAndIds, getGroup, getProfile, getSession, listEvents, listProfiles, listSessions, propertyKeys } from '../stats/events.ts';
import type { ReadAuthorizer } from './read-auth.ts';

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
const Id = z.string().min(1).max(256);
const StoredTime = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$/, 'a stored time: YYYY-MM-DD hh:mm:ss.sss (UTC)');
const Limit = z.coerce.number().int().min(1).max(1000).default(50);
const ListQuery = z.object({
  limit: Limit,
  name: z.string().max(200).optional(),
  profile_id: Id.optional(),
  session_id: Id.optional(),
  /** Cursor: only events before this stored time (the last row's created_at). */
  before: StoredTime.optional(),
});
const SessionsQuery = z.object({ limit: Limit, profile_id: Id.optional(), before: StoredTime.optional() });
const ProfilesQuery = z.object({ limit: Limit, offset: z.coerce.number().int().min(0).max(100_000).default(0), search: z.string().max(200).optional() });
const KeysQuery = z.object({ from: IsoDate, to: IsoDate, name: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) });
/** A session's timeline: its events oldest first, at most this many. */
const TIMELINE_LIMIT = 1000;

export function registerReadApi(app: TemplatedApp, deps: { ch: ClickHouseClient; authorize: ReadAuthorizer; log: Logger }) {
  const authed = async (req: RequestSnapshot) => {
    const projectId = param(req.params[0]!);
    await deps.authorize(req, projectId);
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
        const data = await listEvents(deps.ch, { projectId, limit: q.limit, name: q.name, profileId: q.profile_id, sessionId: q.session_id, before: q.before });
        sendJson(res, 200, { data });
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
    '/api/v1/projects/:projectId/profiles',
    handle(
      deps.log,
      async (res, req) => {
        const projectId = await authed(req);
        const q = parse(ProfilesQuery, req.query);
        sendJson(res, 200, { data: await listProfiles(deps.ch, { projectId, limit: q.limit, offset: q.offset, search: q.search }) });
      },
      { params: 1 },
    ),
  );

  app.get(
    '/api/v1/projects/:projectId/sessions',
    handle(
      deps.log,
      async (res, req) => {
        const projectId = await authed(req);
        const q = parse(SessionsQuery, req.query);
        sendJson(res, 200, { data: await listSessions(deps.ch, { projectId, limit: q.limit, profileId: q.profile_id, before: q.before }) });
      },
      { params: 1 },
    ),
  );

  app.get(
    '/api/v1/projects/:projectId/sessions/:sessionId',
    handle(
      deps.log,
      async (res, req) => {
        const projectId = await authed(req);
        const sessionId = param(req.params[1]!);
        const [session, events] = await Promise.all([
          getSession(deps.ch, projectId, sessionId),
          listEvents(deps.ch, { projectId, sessionId, limit: TIMELINE_LIMIT, ascending: true }),
        ]);
        if (!session && events.length === 0) throw new AppError(404, 'not_found', `No session ${JSON.stringify(sessionId)} in this project`);
        // An open session has no sessions row yet: its timeline is all there is.
        sendJson(res, 200, { data: { session, events } });
      },
      { params: 2 },
    ),
  );

  app.get(
    '/api/v1/projects/:projectId/property-keys',
    handle(
      deps.log,
      async (res, req) => {
        const projectId = await authed(req);
        const q = parse(KeysQuery, req.query);
        if (q.from >= q.to) throw new AppError(400, 'invalid_body', '`to` must be after `from`');
        sendJson(res, 200, { data: await propertyKeys(deps.ch, { projectId, from: q.from, to: q.to, name: q.name, limit: q.limit }) });
      },
      { params: 1 },
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
