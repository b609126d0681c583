/**
 * The row-level read API under `/api/v1/projects/:projectId/…`: event counts and lists, sessions
 * and one session's timeline, profiles (search, one profile), groups and property keys — what
 * the dashboard's lists and timelines show. Numbers over dimensions come from the query API
 * (query.routes.ts). Readers: signed-in users of the project's organisation and the project's
 * `read`/`root` clients, never share links (they show aggregates only); every request counts
 * against the read budget.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { countEvents, countEventsAndIds, getGroup, getProfile, getSession, listEvents, listProfiles, listSessions, propertyKeys } from '../stats/events.ts';
import type { Access, Router } from './router.ts';

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

/** Who reads rows: the organisation's users (any role) and the project's read/root clients. */
export const READ_ACCESS: Access = { kind: 'project', level: 'read', principals: ['user', 'client'] };

export function readRoutes(r: Router, deps: { ch: ClickHouseClient }): void {
  const { ch } = deps;
  const base = '/api/v1/projects/:projectId';
  const get = (path: string, summary: string) => ({ method: 'GET' as const, path: `${base}${path}`, access: READ_ACCESS, summary, readLimited: true });

  r.route(get('/events/count', 'Events of a range (and name); `distinct=id` adds distinct ids'), async (ctx) => {
    const q = ctx.query(CountQuery);
    const filter = { projectId: ctx.projectId, from: q.from, to: q.to, name: q.name };
    return ctx.c.json(q.distinct === 'id' ? await countEventsAndIds(ch, filter) : { count: await countEvents(ch, filter) });
  });

  r.route(get('/events', 'Latest events, newest first (cursor `before`)'), async (ctx) => {
    const q = ctx.query(ListQuery);
    const data = await listEvents(ch, {
      projectId: ctx.projectId,
      limit: q.limit,
      name: q.name,
      profileId: q.profile_id,
      sessionId: q.session_id,
      before: q.before,
    });
    return ctx.c.json({ data });
  });

  r.route(get('/profiles/:profileId', 'One profile'), async (ctx) => {
    const profileId = ctx.param('profileId');
    const profile = await getProfile(ch, ctx.projectId, profileId);
    if (!profile) throw new AppError(404, 'not_found', `No profile ${JSON.stringify(profileId)} in this project`);
    return ctx.c.json({ data: profile });
  });

  r.route(get('/profiles', 'Profiles, most recently updated first; `search` matches id, email or name'), async (ctx) => {
    const q = ctx.query(ProfilesQuery);
    return ctx.c.json({ data: await listProfiles(ch, { projectId: ctx.projectId, limit: q.limit, offset: q.offset, search: q.search }) });
  });

  r.route(get('/sessions', 'Ended sessions, newest first'), async (ctx) => {
    const q = ctx.query(SessionsQuery);
    return ctx.c.json({ data: await listSessions(ch, { projectId: ctx.projectId, limit: q.limit, profileId: q.profile_id, before: q.before }) });
  });

  r.route(get('/sessions/:sessionId', 'One session and its timeline (the sessions row is null while it is open)'), async (ctx) => {
    const sessionId = ctx.param('sessionId');
    const [session, events] = await Promise.all([
      getSession(ch, ctx.projectId, sessionId),
      listEvents(ch, { projectId: ctx.projectId, sessionId, limit: TIMELINE_LIMIT, ascending: true }),
    ]);
    if (!session && events.length === 0) throw new AppError(404, 'not_found', `No session ${JSON.stringify(sessionId)} in this project`);
    return ctx.c.json({ data: { session, events } });
  });

  r.route(get('/property-keys', 'Event property keys in use over a range, most used first'), async (ctx) => {
    const q = ctx.query(KeysQuery);
    if (q.from >= q.to) throw new AppError(400, 'invalid_body', '`to` must be after `from`');
    return ctx.c.json({ data: await propertyKeys(ch, { projectId: ctx.projectId, from: q.from, to: q.to, name: q.name, limit: q.limit }) });
  });

  r.route(get('/groups/:groupId', 'One group'), async (ctx) => {
    const groupId = ctx.param('groupId');
    const group = await getGroup(ch, ctx.projectId, groupId);
    if (!group) throw new AppError(404, 'not_found', `No group ${JSON.stringify(groupId)} in this project`);
    return ctx.c.json({ data: group });
  });
}
