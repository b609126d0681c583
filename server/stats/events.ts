/**
 * Row-level reads over the event store — counts, event and session lists, one session, one
 * profile or group, profile search, property keys — for the read API and the dashboard's
 * lists and timelines. Numbers (metrics over dimensions) come from the query model
 * (query-engine.ts), never from here. Values always travel as query parameters.
 *
 * Shapes: times come back as 'YYYY-MM-DD hh:mm:ss.sss' UTC strings (the same text the rows
 * were written with), maps as objects, 64-bit integers as numbers
 * (`output_format_json_quote_64bit_integers = 0` in the query's own SETTINGS clause; never as
 * `clickhouse_settings`, which leak on chDB — see server/store/clickhouse.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { chTime, EventRow, type GroupRow, SessionRow } from '../../shared/rows.ts';
import type { ProfileRow } from '../store/profile-ops.ts';

export type { ProfileRow };

const NUMBERS = 'SETTINGS output_format_json_quote_64bit_integers = 0';
const EVENT_COLUMNS = Object.keys(EventRow.shape).join(', ');
const SESSION_COLUMNS = Object.keys(SessionRow.shape).join(', ');

async function rows<T>(ch: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

/** Filter of countEvents; `from` is inclusive, `to` exclusive. */
export interface CountEventsFilter {
  projectId: string;
  from?: Date;
  to?: Date;
  name?: string;
}

/** Number of events of a project, optionally within [from, to) and of one name. */
export async function countEvents(ch: ClickHouseClient, f: CountEventsFilter): Promise<number> {
  return (await countEventsWith(ch, f, false)).count;
}

/**
 * Like countEvents, plus the number of distinct event ids among them: equal to `count` unless
 * a row was stored twice (what the end-to-end tests and an operator checking for double
 * counting want to know). Costs a uniqExact over the ids: not for dashboards.
 */
export async function countEventsAndIds(ch: ClickHouseClient, f: CountEventsFilter): Promise<{ count: number; distinct: number }> {
  const r = await countEventsWith(ch, f, true);
  return { count: r.count, distinct: r.distinct ?? 0 };
}

async function countEventsWith(ch: ClickHouseClient, f: CountEventsFilter, distinct: boolean): Promise<{ count: number; distinct?: number }> {
  const where = ['project_id = {projectId:String}'];
  const params: Record<string, unknown> = { projectId: f.projectId };
  if (f.from) {
    where.push("created_at >= {from:DateTime64(3, 'UTC')}");
    params.from = chTime(f.from.getTime());
  }
  if (f.to) {
    where.push("created_at < {to:DateTime64(3, 'UTC')}");
    params.to = chTime(f.to.getTime());
  }
  if (f.name !== undefined) {
    where.push('name = {name:String}');
    params.name = f.name;
  }
  const select = distinct ? 'count() AS n, uniqExact(id) AS d' : 'count() AS n';
  const [r] = await rows<{ n: number; d?: number }>(ch, `SELECT ${select} FROM events WHERE ${where.join(' AND ')} ${NUMBERS}`, params);
  return distinct ? { count: r?.n ?? 0, distinct: r?.d ?? 0 } : { count: r?.n ?? 0 };
}

/** Filter of listEvents; every field optional but the project. */
export interface ListEventsFilter {
  projectId: string;
  limit: number;
  name?: string;
  profileId?: string;
  sessionId?: string;
  /** Only events strictly before this stored time ('YYYY-MM-DD hh:mm:ss.sss', the cursor of the next page). */
  before?: string;
  /** Oldest first (a session's timeline); default newest first. */
  ascending?: boolean;
}

/** The latest `limit` events of a project (optionally of one name, profile or session), newest first. */
export async function listEvents(ch: ClickHouseClient, q: ListEventsFilter): Promise<EventRow[]> {
  const where = ['project_id = {projectId:String}'];
  const params: Record<string, unknown> = { projectId: q.projectId, limit: q.limit };
  if (q.name !== undefined) {
    where.push('name = {name:String}');
    params.name = q.name;
  }
  if (q.profileId !== undefined) {
    where.push('profile_id = {profileId:String}');
    params.profileId = q.profileId;
  }
  if (q.sessionId !== undefined) {
    where.push('session_id = {sessionId:String}');
    params.sessionId = q.sessionId;
  }
  if (q.before !== undefined) {
    where.push("created_at < {before:DateTime64(3, 'UTC')}");
    params.before = q.before;
  }
  // Ordering by the key's date first lets ClickHouse read the newest days first and stop.
  const dir = q.ascending ? 'ASC' : 'DESC';
  return rows<EventRow>(
    ch,
    `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')}
      ORDER BY toDate(created_at) ${dir}, created_at ${dir} LIMIT {limit:UInt32} ${NUMBERS}`,
    params,
  );
}

/** The current version of a profile, or null if it was never written. */
export async function getProfile(ch: ClickHouseClient, projectId: string, profileId: string): Promise<ProfileRow | null> {
  const [p] = await rows<ProfileRow>(
    ch,
    `SELECT project_id, id, first_name, last_name, email, avatar, properties, groups, created_at, updated_at
      FROM profiles FINAL WHERE project_id = {projectId:String} AND id = {profileId:String}`,
    { projectId, profileId },
  );
  return p ?? null;
}

/** The current version of a group, or null if it was never written. */
export async function getGroup(ch: ClickHouseClient, projectId: string, groupId: string): Promise<GroupRow | null> {
  const [g] = await rows<GroupRow>(
    ch,
    `SELECT project_id, id, type, name, properties, updated_at
      FROM groups FINAL WHERE project_id = {projectId:String} AND id = {groupId:String}`,
    { projectId, groupId },
  );
  return g ?? null;
}

/** The latest `limit` closed sessions of a project (latest version of each), newest first. */
export async function listSessions(ch: ClickHouseClient, q: { projectId: string; limit: number; profileId?: string; before?: string }): Promise<SessionRow[]> {
  const where = ['project_id = {projectId:String}'];
  const params: Record<string, unknown> = { projectId: q.projectId, limit: q.limit };
  if (q.profileId !== undefined) {
    where.push('profile_id = {profileId:String}');
    params.profileId = q.profileId;
  }
  if (q.before !== undefined) {
    where.push("created_at < {before:DateTime64(3, 'UTC')}");
    params.before = q.before;
  }
  return rows<SessionRow>(
    ch,
    `SELECT ${SESSION_COLUMNS} FROM sessions FINAL WHERE ${where.join(' AND ')}
      ORDER BY toDate(created_at) DESC, created_at DESC LIMIT {limit:UInt32} ${NUMBERS}`,
    params,
  );
}

/** One closed session (its latest version), or null while it is open or unknown. */
export async function getSession(ch: ClickHouseClient, projectId: string, sessionId: string): Promise<SessionRow | null> {
  const [s] = await rows<SessionRow>(
    ch,
    `SELECT ${SESSION_COLUMNS} FROM sessions FINAL WHERE project_id = {projectId:String} AND id = {sessionId:String} LIMIT 1 ${NUMBERS}`,
    { projectId, sessionId },
  );
  return s ?? null;
}

/** A profile in a list: who, and when it last changed. */
export type ProfileSummary = Pick<ProfileRow, 'id' | 'first_name' | 'last_name' | 'email' | 'avatar' | 'created_at' | 'updated_at'>;

/**
 * Profiles of a project, most recently updated first; `search` matches the id, email or name
 * (case-insensitive substring).
 */
export async function listProfiles(ch: ClickHouseClient, q: { projectId: string; limit: number; offset: number; search?: string }): Promise<ProfileSummary[]> {
  const where = ['project_id = {projectId:String}'];
  const params: Record<string, unknown> = { projectId: q.projectId, limit: q.limit, offset: q.offset };
  if (q.search) {
    where.push(
      `(positionCaseInsensitiveUTF8(id, {search:String}) > 0 OR positionCaseInsensitiveUTF8(email, {search:String}) > 0
        OR positionCaseInsensitiveUTF8(concat(first_name, ' ', last_name), {search:String}) > 0)`,
    );
    params.search = q.search;
  }
  return rows<ProfileSummary>(
    ch,
    `SELECT id, first_name, last_name, email, avatar, created_at, updated_at FROM profiles FINAL WHERE ${where.join(' AND ')}
      ORDER BY updated_at DESC, id LIMIT {limit:UInt32} OFFSET {offset:UInt32} ${NUMBERS}`,
    params,
  );
}

/** The property keys events carry (of one name, if given) in [from, to), most used first. */
export async function propertyKeys(
  ch: ClickHouseClient,
  q: { projectId: string; from: Date; to: Date; name?: string; limit: number },
): Promise<Array<{ key: string; events: number }>> {
  const params: Record<string, unknown> = { projectId: q.projectId, from: chTime(q.from.getTime()), to: chTime(q.to.getTime()), limit: q.limit };
  let byName = '';
  if (q.name !== undefined) {
    byName = 'AND name = {name:String}';
    params.name = q.name;
  }
  return rows(
    ch,
    `SELECT arrayJoin(mapKeys(properties)) AS key, count() AS events FROM events
      WHERE project_id = {projectId:String} AND created_at >= {from:DateTime64(3, 'UTC')} AND created_at < {to:DateTime64(3, 'UTC')} ${byName}
      GROUP BY key ORDER BY events DESC, key LIMIT {limit:UInt32} ${NUMBERS}`,
    params,
  );
}
