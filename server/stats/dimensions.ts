/**
 * The dimension registry: what every dimension of the query model means, written once. Each
 * entry gives its value as SQL on the tables that hold it and as a function of an in-memory
 * row, so stored queries (the compiler), the live ticks and live tiles all read the same
 * thing. Adding a dimension is adding an entry here.
 *
 * Scopes decide where a value lives:
 * - `event`: a property of each event (its name, page, properties). On `events` rows.
 * - `session`: a property of the visit, fixed when it starts (entry page, referrer,
 *   campaign). On the session's `session_start` event (which copies its first event's context)
 *   and on the `sessions` row written when it ends. `session:exit_path` is known only once the
 *   session has ended (`sessions` rows).
 * - `any`: the visitor's place, device and profile id, on every event and session row.
 * - `profile`: a property of the identified profile (`profiles` table), joined by profile id.
 * - `time`: buckets of the event (or session start) time in the query's time zone.
 */

import { DIMENSIONS, type FixedDimension, type TimeGrain } from '../../shared/query-terms.ts';
import type { EventRow, SessionRow } from '../../shared/rows.ts';
import type { Params } from './sql.ts';

export type DimensionScope = 'event' | 'session' | 'any' | 'profile' | 'time';

/** SQL of a value, given the parameters being bound (property dimensions bind their key). */
export type SqlOf = (p: Params) => string;

export interface DimensionDef {
  name: string;
  scope: DimensionScope;
  description: string;
  /**
   * The value on an `events` row. For `session` dimensions: on the session's `session_start`
   * row (null when it is not there: the exit page).
   */
  events: SqlOf | null;
  /** The value on a `sessions` row (null for event dimensions). */
  sessions: SqlOf | null;
  /** The value on a `profiles` row (profile properties only). */
  profiles?: SqlOf;
  /** The rollups' column for it (only the event name is kept there). */
  rollup?: string;
  /**
   * The value on an in-memory event row (shared/rows.ts), as the SQL reads it: the ticks and
   * live tiles evaluate dimensions and filters with it. For `session` dimensions it is the
   * value on the session's `session_start` row; null where a row cannot tell (profile
   * properties, the exit page).
   */
  row: ((r: EventRow) => string) | null;
  /** The value on a closed session's row. */
  session: ((s: SessionRow) => string) | null;
  /** Time dimensions: the bucket size. */
  grain?: TimeGrain;
}

const col =
  (c: string): SqlOf =>
  () =>
    c;

type EventCol = keyof EventRow & keyof SessionRow;
/** On events, session_start rows and sessions rows alike (place, device, profile id). */
function anyCol(name: string, column: EventCol, description: string): DimensionDef {
  return {
    name,
    scope: 'any',
    description,
    events: col(column),
    sessions: col(column),
    row: (r) => String(r[column]),
    session: (s) => String(s[column]),
  };
}

/** A session attribute: its column on the session_start event row and on the sessions row. */
function sessionCol(name: string, eventColumn: keyof EventRow, sessionColumn: keyof SessionRow, description: string): DimensionDef {
  return {
    name,
    scope: 'session',
    description,
    events: col(eventColumn),
    sessions: col(sessionColumn),
    row: (r) => String(r[eventColumn]),
    session: (s) => String(s[sessionColumn]),
  };
}

function time(grain: TimeGrain): DimensionDef {
  return {
    name: `time:${grain}`,
    scope: 'time',
    grain,
    description: `Start of the ${grain} the event happened in (sessions: the ${grain} it started), in the query's time zone`,
    // The time column and zone are applied by timeBucketSql (the compiler knows which table).
    events: null,
    sessions: null,
    row: null,
    session: null,
  };
}

const FIXED: Record<FixedDimension, DimensionDef> = {
  'time:minute': time('minute'),
  'time:hour': time('hour'),
  'time:day': time('day'),
  'time:week': time('week'),
  'time:month': time('month'),
  'event:name': {
    name: 'event:name',
    scope: 'event',
    description: 'Event name (`screen_view` for page views; `session_start`/`session_end` are written by Livepanel around each visit)',
    events: col('name'),
    sessions: null,
    rollup: 'name',
    row: (r) => r.name,
    session: null,
  },
  'event:path': {
    name: 'event:path',
    scope: 'event',
    description: 'Path of the page the event happened on (no query string)',
    events: col('path'),
    sessions: null,
    row: (r) => r.path,
    session: null,
  },
  'event:origin': {
    name: 'event:origin',
    scope: 'event',
    description: 'Origin (scheme and host) of the page the event happened on',
    events: col('origin'),
    sessions: null,
    row: (r) => r.origin,
    session: null,
  },
  'session:entry_path': sessionCol('session:entry_path', 'path', 'entry_path', 'Path of the first page of the visit'),
  'session:exit_path': {
    name: 'session:exit_path',
    scope: 'session',
    description: 'Path of the last page of the visit (known once the session has ended)',
    events: null,
    sessions: col('exit_path'),
    row: null,
    session: (s) => s.exit_path,
  },
  'session:referrer': sessionCol('session:referrer', 'referrer', 'referrer', 'Referring URL of the visit (origin and path; empty for direct visits)'),
  'session:referrer_name': sessionCol(
    'session:referrer_name',
    'referrer_name',
    'referrer_name',
    'Source of the visit: a known name (Google, Hacker News), the referring host, or the campaign source; empty for direct visits',
  ),
  'session:referrer_type': sessionCol(
    'session:referrer_type',
    'referrer_type',
    'referrer_type',
    'Kind of source: search, social, email, paid, link, unknown; empty for direct',
  ),
  'session:utm_source': sessionCol('session:utm_source', 'utm_source', 'utm_source', 'utm_source of the landing URL'),
  'session:utm_medium': sessionCol('session:utm_medium', 'utm_medium', 'utm_medium', 'utm_medium of the landing URL'),
  'session:utm_campaign': sessionCol('session:utm_campaign', 'utm_campaign', 'utm_campaign', 'utm_campaign of the landing URL'),
  'session:utm_term': sessionCol('session:utm_term', 'utm_term', 'utm_term', 'utm_term of the landing URL'),
  'session:utm_content': sessionCol('session:utm_content', 'utm_content', 'utm_content', 'utm_content of the landing URL'),
  'geo:country': anyCol('geo:country', 'country', 'ISO 3166-1 alpha-2 country code from the visitor IP (GeoIP)'),
  'geo:region': anyCol('geo:region', 'region', 'Region (state, province) from GeoIP'),
  'geo:city': anyCol('geo:city', 'city', 'City from GeoIP'),
  'device:type': anyCol('device:type', 'device', 'desktop, mobile, tablet, … from the user agent'),
  'device:browser': anyCol('device:browser', 'browser', 'Browser name from the user agent'),
  'device:browser_version': anyCol('device:browser_version', 'browser_version', 'Browser version'),
  'device:os': anyCol('device:os', 'os', 'Operating system'),
  'device:os_version': anyCol('device:os_version', 'os_version', 'Operating system version'),
  'device:brand': anyCol('device:brand', 'brand', 'Device brand (mobile devices)'),
  'device:model': anyCol('device:model', 'model', 'Device model (mobile devices)'),
  'profile:id': anyCol('profile:id', 'profile_id', 'Identified profile id (empty for anonymous visitors)'),
};

function eventProperty(key: string): DimensionDef {
  return {
    name: `event:props:${key}`,
    scope: 'event',
    description: `Event property ${key} (flattened dotted key; empty when absent)`,
    events: (p) => `properties[${p.bind(key)}]`,
    sessions: null,
    row: (r) => r.properties[key] ?? '',
    session: null,
  };
}

function profileProperty(key: string): DimensionDef {
  return {
    name: `profile:props:${key}`,
    scope: 'profile',
    description: `Property ${key} of the identified profile (empty for anonymous visitors)`,
    events: null,
    sessions: null,
    profiles: (p) => `properties[${p.bind(key)}]`,
    row: null,
    session: null,
  };
}

/** The definition of dimension `name`, or undefined when the registry does not know it. */
export function dimension(name: string): DimensionDef | undefined {
  if (Object.hasOwn(FIXED, name)) return FIXED[name as FixedDimension];
  if (name.startsWith('event:props:') && name.length > 'event:props:'.length) return eventProperty(name.slice('event:props:'.length));
  if (name.startsWith('profile:props:') && name.length > 'profile:props:'.length) return profileProperty(name.slice('profile:props:'.length));
  return undefined;
}

/** Every fixed dimension, for documentation (README, OpenAPI). */
export function fixedDimensions(): DimensionDef[] {
  return DIMENSIONS.map((d) => FIXED[d]);
}

/**
 * The time bucket of `column` (a UTC DateTime/DateTime64) in zone `tz` (a bound parameter).
 * The same expression serves events, sessions and the rollups' hourly/daily buckets, and the
 * executor parses its output into labels (time-labels.ts).
 */
export function timeBucketSql(grain: TimeGrain, column: string, tz: string): string {
  switch (grain) {
    case 'minute':
      return `toStartOfMinute(${column}, ${tz})`;
    case 'hour':
      return `toStartOfHour(${column}, ${tz})`;
    case 'day':
      return `toDate(${column}, ${tz})`;
    case 'week':
      return `toMonday(${column}, ${tz})`;
    case 'month':
      return `toStartOfMonth(${column}, ${tz})`;
  }
}
