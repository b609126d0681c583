/**
 * The rows Livepanel writes to ClickHouse, as they travel from the ingest pipeline through the
 * event queue to the writer. Column names match `db/clickhouse/*.sql` exactly so a row can be
 * inserted as JSONEachRow without renaming. Times are UTC strings 'YYYY-MM-DD hh:mm:ss.sss'.
 */
import { z } from 'zod';

const Str = z.string();
const Time = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
const Coord = z.number().nullable();

export const EventRow = z.object({
  id: z.uuid(),
  project_id: Str,
  name: Str,
  device_id: Str,
  profile_id: Str,
  session_id: Str,
  created_at: Time,
  received_at: Time,
  path: Str,
  origin: Str,
  title: Str,
  referrer: Str,
  referrer_name: Str,
  referrer_type: Str,
  utm_source: Str,
  utm_medium: Str,
  utm_campaign: Str,
  utm_term: Str,
  utm_content: Str,
  revenue: z.number().int().nonnegative(),
  duration: z.number().int().nonnegative(),
  /** Flattened to dotted keys, values stringified: `{a:{b:1}}` → `{'a.b':'1'}`. */
  properties: z.record(z.string(), z.string()),
  groups: z.array(Str),
  country: Str,
  region: Str,
  city: Str,
  latitude: Coord,
  longitude: Coord,
  os: Str,
  os_version: Str,
  browser: Str,
  browser_version: Str,
  device: Str,
  brand: Str,
  model: Str,
  sdk_name: Str,
  sdk_version: Str,
});
export type EventRow = z.infer<typeof EventRow>;
/** The event columns in table order: the order of compact rows (job payloads, inserts). */
export const EVENT_COLUMNS: readonly (keyof EventRow & string)[] = Object.keys(EventRow.shape) as (keyof EventRow & string)[];

/** One closed session (written once, when it closes). */
export const SessionRow = z.object({
  id: Str,
  project_id: Str,
  device_id: Str,
  profile_id: Str,
  created_at: Time,
  ended_at: Time,
  duration: z.number().int().nonnegative(),
  event_count: z.number().int().nonnegative(),
  screen_view_count: z.number().int().nonnegative(),
  is_bounce: z.number().int().min(0).max(1),
  entry_path: Str,
  entry_origin: Str,
  exit_path: Str,
  exit_origin: Str,
  referrer: Str,
  referrer_name: Str,
  referrer_type: Str,
  utm_source: Str,
  utm_medium: Str,
  utm_campaign: Str,
  utm_term: Str,
  utm_content: Str,
  revenue: z.number().int().nonnegative(),
  country: Str,
  region: Str,
  city: Str,
  os: Str,
  os_version: Str,
  browser: Str,
  browser_version: Str,
  device: Str,
  brand: Str,
  model: Str,
});
export type SessionRow = z.infer<typeof SessionRow>;

/**
 * A change to a profile. Applied in order by the writer, which reads the current profile,
 * applies the change and writes a new version (profiles is a ReplacingMergeTree).
 */
export const ProfileOp = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('identify'),
    project_id: Str,
    profile_id: Str,
    at: Time,
    first_name: Str.optional(),
    last_name: Str.optional(),
    email: Str.optional(),
    avatar: Str.optional(),
    properties: z.record(z.string(), z.string()),
  }),
  z.object({
    op: z.literal('increment'),
    project_id: Str,
    profile_id: Str,
    at: Time,
    property: Str,
    by: z.number(),
  }),
  z.object({
    op: z.literal('assign_groups'),
    project_id: Str,
    profile_id: Str,
    at: Time,
    groups: z.array(Str),
  }),
]);
export type ProfileOp = z.infer<typeof ProfileOp>;

export const GroupRow = z.object({
  project_id: Str,
  id: Str,
  type: Str,
  name: Str,
  properties: z.record(z.string(), z.string()),
  updated_at: Time,
});
export type GroupRow = z.infer<typeof GroupRow>;

export const ReplayRow = z.object({
  project_id: Str,
  session_id: Str,
  device_id: Str,
  chunk_index: z.number().int().nonnegative(),
  started_at: Time,
  ended_at: Time,
  events_count: z.number().int().nonnegative(),
  is_full_snapshot: z.number().int().min(0).max(1),
  payload: Str,
});
export type ReplayRow = z.infer<typeof ReplayRow>;

/** Everything one accepted request or frame asks to write, in arrival order per kind. */
export const WriteBatch = z.object({
  events: z.array(EventRow),
  sessions: z.array(SessionRow),
  profiles: z.array(ProfileOp),
  groups: z.array(GroupRow),
  replays: z.array(ReplayRow),
});
export type WriteBatch = z.infer<typeof WriteBatch>;

/** An event row with every column empty (ids, names, places, devices), for builders to fill in. */
export function blankEventRow(over: Partial<EventRow> = {}): EventRow {
  // Formatting the time costs on the ingest hot path: only when the caller gives none.
  const now = over.created_at && over.received_at ? over.created_at : chTime(Date.now());
  return Object.assign(eventRowAt(now), over);
}

/**
 * `blankEventRow` with both times set to `time`, for the ingest hot path (one per event): no
 * options object to spread, and every row built with the same shape, its fields assigned in place.
 */
export function eventRowAt(time: string): EventRow {
  return {
    id: '',
    project_id: '',
    name: '',
    device_id: '',
    profile_id: '',
    session_id: '',
    created_at: time,
    received_at: time,
    path: '',
    origin: '',
    title: '',
    referrer: '',
    referrer_name: '',
    referrer_type: '',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    utm_term: '',
    utm_content: '',
    revenue: 0,
    duration: 0,
    properties: {},
    groups: [],
    country: '',
    region: '',
    city: '',
    latitude: null,
    longitude: null,
    os: '',
    os_version: '',
    browser: '',
    browser_version: '',
    device: '',
    brand: '',
    model: '',
    sdk_name: '',
    sdk_version: '',
  };
}

export function emptyBatch(): WriteBatch {
  return { events: [], sessions: [], profiles: [], groups: [], replays: [] };
}

export function batchSize(b: WriteBatch): number {
  return b.events.length + b.sessions.length + b.profiles.length + b.groups.length + b.replays.length;
}

/** Appends every row of `from` to `into` (keeps order). */
export function mergeInto(into: WriteBatch, from: WriteBatch): WriteBatch {
  into.events.push(...from.events);
  into.sessions.push(...from.sessions);
  into.profiles.push(...from.profiles);
  into.groups.push(...from.groups);
  into.replays.push(...from.replays);
  return into;
}

/** Earliest and latest times a ClickHouse DateTime64(3) column holds (1900-01-01 … 2299-12-31). */
export const CH_TIME_MIN = Date.UTC(1900, 0, 1);
export const CH_TIME_MAX = Date.UTC(2299, 11, 31, 23, 59, 59, 999);

/**
 * ClickHouse DateTime64(3) text for a JS time, clamped to the column's range (a client date
 * like `+275760-09-13` would otherwise format as text ClickHouse cannot parse); not a number → epoch.
 */
export function chTime(ms: number): string {
  // Every event of a batch has the same receive time, and a busy server formats the same
  // millisecond many times over: the last answer is kept (formatting was ≈ 4 % of ingest CPU).
  if (ms === lastMs) return lastText;
  // Whole milliseconds, as Date keeps them (truncated toward zero).
  const t = Number.isNaN(ms) ? 0 : Math.trunc(Math.min(Math.max(ms, CH_TIME_MIN), CH_TIME_MAX));
  // Times alternate within one second (a `/track` request writes its event and, one
  // millisecond before, its session_start): the second's text is kept, the milliseconds added.
  const second = Math.floor(t / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondText = new Date(second * 1000).toISOString().replace('T', ' ').slice(0, 19);
  }
  const milli = t - second * 1000;
  const text = `${lastSecondText}${milli < 10 ? '.00' : milli < 100 ? '.0' : '.'}${milli}`;
  lastMs = ms;
  lastText = text;
  return text;
}
let lastMs = Number.NaN;
let lastText = '';
let lastSecond = Number.NaN;
let lastSecondText = '';

/** Inverse of chTime. */
export function parseChTime(s: string): number {
  return Date.parse(`${s.replace(' ', 'T')}Z`);
}
