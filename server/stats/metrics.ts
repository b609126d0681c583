/**
 * The metric registry: what every number of the query model means, written once (the README's
 * "Metric definitions" says the same in prose). Each entry gives its aggregate over the tables
 * that can answer it — raw `events`, the hourly/daily rollups, closed `sessions` — and, for
 * counts, its contribution per in-memory row, which the live ticks and tiles add up.
 * Adding a metric is adding an entry here.
 *
 * Sources:
 * - `events`: aggregated over the events that match the filters.
 * - `visits`: visitors and sessions. Without event filters or event dimensions they count
 *   visits that *started* in the range (their `session_start` events: every visit has exactly
 *   one, it carries the visit's referrer, campaign, entry page, place and device, and it exists
 *   while the visit is still open). With an event filter or dimension they count the visitors
 *   and sessions that had a matching event ("visitors who signed up"). Breakdowns by exit page
 *   count ended sessions (`sessions` rows).
 * - `sessions`: per-visit measures that are only final once a visit has ended (bounce,
 *   duration, depth): over `sessions` rows, by session start time.
 * - `derived`: computed from other answers by the executor.
 */

import { type BaseMetric, METRICS, PROPERTY_AGGREGATES, type PropertyAggregate } from '../../shared/query-terms.ts';
import type { EventRow } from '../../shared/rows.ts';
import { RESERVED_EVENTS } from '../../shared/track.ts';
import { literal, type Params } from './sql.ts';

export type MetricSource = 'events' | 'visits' | 'sessions' | 'derived';
/** How visitors/sessions are counted in one part of a plan (see the module comment). */
export type VisitMode = 'starts' | 'matches';

export interface MetricDef {
  name: string;
  description: string;
  source: MetricSource;
  /** Aggregate over `events` rows (source events and visits). */
  events?: (p: Params, mode: VisitMode) => string;
  /** Aggregate over the rollups (`events`, `devices`, `sessions` states per hour or day and name), when they answer exactly. */
  rollup?: (mode: VisitMode) => string;
  /** Aggregate over `sessions` rows (FINAL). */
  sessions?: string;
  /** Aggregate over `visits_daily` (visits and devices per visit attribute, 008_visit_rollups.sql), for visits counted by their starts. */
  visitsRollup?: string;
  /** Aggregate over `sessions_daily`/`sessions_hourly` (sums over ended visits, 008_visit_rollups.sql). */
  sessionsRollup?: string;
  /** Event names the aggregate reads (lets the compiler skip the rest through the sort key); undefined: all. */
  names?: (mode: VisitMode) => readonly string[] | undefined;
  /** What one in-memory row adds to the count (counts only), exactly as the SQL counts it. */
  live?: (r: EventRow) => number;
  /** Comparison: percent change, or difference in points (rates and shares). */
  change: 'percent' | 'points';
  unit: 'count' | 'percent' | 'seconds' | 'number';
  /** Value when nothing matched: 0 for counts and sums, null for averages and rates. */
  empty: 0 | null;
}

const { sessionStart: START, sessionEnd: END, screenView: VIEW } = RESERVED_EVENTS;
const SYNTHETIC = [START, END] as const;
const SYNTHETIC_SQL = `(${SYNTHETIC.map(literal).join(', ')})`;
const isSynthetic = (name: string) => name === START || name === END;

const BASE: Record<BaseMetric, MetricDef> = {
  visitors: {
    name: 'visitors',
    description:
      'Distinct devices (a cookieless device id rotates daily, as in Plausible; SDKs with a stored device id keep it). Counts devices that started a visit in the range, or, with an event filter or dimension, devices with a matching event.',
    source: 'visits',
    events: (_p, mode) => (mode === 'starts' ? `uniqIf(device_id, device_id != '' AND name = ${literal(START)})` : `uniqIf(device_id, device_id != '')`),
    rollup: (mode) => (mode === 'starts' ? `uniqMergeIf(devices, name = ${literal(START)})` : 'uniqMerge(devices)'),
    sessions: 'uniq(device_id)',
    visitsRollup: 'uniqMerge(devices)',
    names: (mode) => (mode === 'starts' ? [START] : undefined),
    change: 'percent',
    unit: 'count',
    empty: 0,
  },
  sessions: {
    name: 'sessions',
    description:
      'Visits: sessions that started in the range (a session ends after 30 minutes without events, or when its SDK socket closes), or, with an event filter or dimension, sessions with a matching event.',
    source: 'visits',
    events: (_p, mode) => (mode === 'starts' ? `countIf(name = ${literal(START)})` : `uniqIf(session_id, session_id != '')`),
    rollup: (mode) => (mode === 'starts' ? `countMergeIf(events, name = ${literal(START)})` : 'uniqMerge(sessions)'),
    sessions: 'count()',
    visitsRollup: 'sum(visits)',
    sessionsRollup: 'sum(sessions)',
    names: (mode) => (mode === 'starts' ? [START] : undefined),
    live: (r) => (r.name === START ? 1 : 0),
    change: 'percent',
    unit: 'count',
    empty: 0,
  },
  pageviews: {
    name: 'pageviews',
    description: 'screen_view events (page and screen views).',
    source: 'events',
    events: () => `countIf(name = ${literal(VIEW)})`,
    rollup: () => `countMergeIf(events, name = ${literal(VIEW)})`,
    names: () => [VIEW],
    live: (r) => (r.name === VIEW ? 1 : 0),
    change: 'percent',
    unit: 'count',
    empty: 0,
  },
  events: {
    name: 'events',
    description: 'Events sent by SDKs (page views and custom events), not counting the session_start/session_end events Livepanel writes itself.',
    source: 'events',
    events: () => `countIf(name NOT IN ${SYNTHETIC_SQL})`,
    rollup: () => `countMergeIf(events, name NOT IN ${SYNTHETIC_SQL})`,
    live: (r) => (isSynthetic(r.name) ? 0 : 1),
    change: 'percent',
    unit: 'count',
    empty: 0,
  },
  revenue: {
    name: 'revenue',
    description: 'Sum of the events’ __revenue (integers, as sent; by convention the smallest currency unit).',
    source: 'events',
    events: () => 'sum(revenue)',
    live: (r) => r.revenue,
    change: 'percent',
    unit: 'number',
    empty: 0,
  },
  identified_users: {
    name: 'identified_users',
    description: 'Distinct profile ids among the matching events (visitors that were identified).',
    source: 'events',
    events: () => `uniqIf(profile_id, profile_id != '')`,
    change: 'percent',
    unit: 'count',
    empty: 0,
  },
  bounce_rate: {
    name: 'bounce_rate',
    description: 'Percentage of ended sessions that bounced: a single event (one page view and nothing else).',
    source: 'sessions',
    sessions: 'avg(is_bounce) * 100',
    sessionsRollup: 'sum(bounces) / sum(sessions) * 100',
    change: 'points',
    unit: 'percent',
    empty: null,
  },
  session_duration: {
    name: 'session_duration',
    description:
      'Average length of ended sessions in seconds, from their first to their last event (or last socket heartbeat); single-event sessions count as 0 s.',
    source: 'sessions',
    sessions: 'avg(duration) / 1000',
    sessionsRollup: 'sum(duration) / sum(sessions) / 1000',
    change: 'percent',
    unit: 'seconds',
    empty: null,
  },
  views_per_session: {
    name: 'views_per_session',
    description: 'Average screen_view events per ended session.',
    source: 'sessions',
    sessions: 'avg(screen_view_count)',
    sessionsRollup: 'sum(screen_views) / sum(sessions)',
    change: 'percent',
    unit: 'number',
    empty: null,
  },
  percentage: {
    name: 'percentage',
    description: "A row's visitors as a percentage of all visitors in the range (with the same filters).",
    source: 'derived',
    change: 'points',
    unit: 'percent',
    empty: null,
  },
  conversion_rate: {
    name: 'conversion_rate',
    description:
      'Visitors who had a matching event (the goal: an event filter or event dimension) as a percentage of the visitors of the same row without the event conditions.',
    source: 'derived',
    change: 'points',
    unit: 'percent',
    empty: null,
  },
};

const AGGREGATE_SQL: Record<PropertyAggregate, string> = { sum: 'sumOrNull', avg: 'avgOrNull', min: 'minOrNull', max: 'maxOrNull' };

function propertyMetric(agg: PropertyAggregate, key: string): MetricDef {
  return {
    name: `${agg}:${key}`,
    description: `${agg} of event property ${key} read as a number (events where it is absent or not a number are left out)`,
    source: 'events',
    events: (p) => `${AGGREGATE_SQL[agg]}(toFloat64OrNull(properties[${p.bind(key)}]))`,
    change: 'percent',
    unit: 'number',
    empty: null,
  };
}

/** The definition of metric `name`, or undefined when the registry does not know it. */
export function metric(name: string): MetricDef | undefined {
  if (Object.hasOwn(BASE, name)) return BASE[name as BaseMetric];
  const colon = name.indexOf(':');
  const agg = name.slice(0, colon) as PropertyAggregate;
  if (colon > 0 && PROPERTY_AGGREGATES.includes(agg) && name.length > colon + 1) return propertyMetric(agg, name.slice(colon + 1));
  return undefined;
}

/** Every named metric, for documentation. */
export function baseMetrics(): MetricDef[] {
  return METRICS.map((m) => BASE[m]);
}
