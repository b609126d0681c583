/**
 * Which table answers a part of a plan (compile.ts): the rollups that answer it exactly — by
 * event name, by name and path, by a visit attribute, sums over ended visits — at the hour or
 * UTC day granule the range and time buckets line up with, else raw `events` or `sessions`.
 * The dimension lists below must match the rollup views' ARRAY JOIN lists
 * (008_visit_rollups.sql); rollups.int.test.ts checks every one against raw answers.
 */
import type { Condition } from '../../shared/query.ts';
import { QUERY_LIMITS, type TimeGrain } from '../../shared/query-terms.ts';
import type { CompileOptions } from './compile.ts';
import type { DimensionDef } from './dimensions.ts';
import type { MetricDef, VisitMode } from './metrics.ts';
import { buckets } from './range.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** One part of a plan: the metrics one table answers, and how visits are counted there. */
export interface Part {
  table: 'events' | RollupTable | 'sessions' | KeyedRollupTable;
  metrics: Array<{ def: MetricDef; column: string }>;
  mode: VisitMode;
}

/**
 * Rollup families, smallest first: each keeps aggregate states per hour or UTC day and the
 * listed columns (005_rollups.sql, 007_page_rollups.sql).
 */
const ROLLUPS = [
  { family: 'events', columns: ['name'] },
  { family: 'pages', columns: ['name', 'path'] },
] as const;
export type RollupTable = `${(typeof ROLLUPS)[number]['family']}_${'hourly' | 'daily'}`;
export const isRollup = (t: Part['table']): t is RollupTable => t !== 'events' && t !== 'sessions' && !isKeyedRollup(t);

/**
 * Rollups keyed by (dimension, value) (008_visit_rollups.sql): visits by their start
 * (`visits_daily`), ended visits' sums (`sessions_daily`, and `sessions_hourly` for the totals
 * only). The dimension lists must match the views' ARRAY JOIN lists.
 */
export const VISIT_ROLLUP_DIMENSIONS: readonly string[] = [
  'session:entry_path',
  'session:referrer',
  'session:referrer_name',
  'session:referrer_type',
  'session:utm_source',
  'session:utm_medium',
  'session:utm_campaign',
  'session:utm_term',
  'session:utm_content',
  'geo:country',
  'geo:region',
  'geo:city',
  'device:type',
  'device:browser',
  'device:browser_version',
  'device:os',
  'device:os_version',
  'device:brand',
  'device:model',
];
export const SESSION_ROLLUP_DIMENSIONS: readonly string[] = [...VISIT_ROLLUP_DIMENSIONS, 'session:exit_path'];
export type KeyedRollupTable = 'visits_daily' | 'sessions_daily' | 'sessions_hourly';
export const isKeyedRollup = (t: Part['table']): t is KeyedRollupTable => t === 'visits_daily' || t === 'sessions_daily' || t === 'sessions_hourly';

/** The smallest rollup that answers the events part exactly, else raw events. */
export function chooseEventTable(
  part: Part,
  dims: DimensionDef[],
  leaves: Array<{ c: Condition; def: DimensionDef }>,
  opts: CompileOptions,
  grain: TimeGrain | undefined,
): Part['table'] {
  const exact =
    part.metrics.every((m) => m.def.rollup) && dims.every((d) => d.scope === 'time' || d.rollup) && leaves.every((l) => l.def.rollup) && grain !== 'minute';
  if (!exact) return chooseVisitsTable(part, dims, leaves, opts, grain);
  const needed = new Set([...dims, ...leaves.map((l) => l.def)].flatMap((d) => (d.rollup ? [d.rollup] : [])));
  const family = ROLLUPS.find(
    (r) => (opts.rollups ?? [r.family]).includes(r.family) && [...needed].every((c) => (r.columns as readonly string[]).includes(c)),
  )?.family;
  if (!family) return 'events';
  const align = alignment(opts, grain);
  if (align === 'day') return `${family}_daily`;
  if (align === 'hour') return `${family}_hourly`;
  return 'events';
}

export const bucketStartsOf = (opts: CompileOptions, grain: TimeGrain | undefined): number[] =>
  opts.bucketStarts ?? (grain ? buckets(opts.range, grain, opts.tz, { max: QUERY_LIMITS.timeBuckets }).buckets.map((b) => b.start) : []);

/** Whether the range and bucket starts fall on whole UTC days ('day'), whole hours ('hour'), or neither. */
function alignment(opts: CompileOptions, grain: TimeGrain | undefined): 'day' | 'hour' | null {
  if (grain === 'minute') return null;
  const instants = [opts.range.from, opts.range.to, ...bucketStartsOf(opts, grain)];
  if (grain !== 'hour' && instants.every((t) => t % DAY === 0)) return 'day';
  if (instants.every((t) => t % HOUR === 0)) return 'hour';
  return null;
}

/**
 * The one non-time dimension of a keyed-rollup part, when the part can read one: every
 * condition is on that dimension (or there are none) and it is in `allowed`. `undefined`: no
 * keyed rollup; `null`: no dimension (the totals).
 */
function keyedDimension(dims: DimensionDef[], leaves: Array<{ c: Condition; def: DimensionDef }>, allowed: readonly string[]): DimensionDef | null | undefined {
  const others = dims.filter((d) => d.scope !== 'time');
  if (others.length > 1) return undefined;
  // Without a breakdown, conditions on one attribute read that attribute's rows: every visit
  // has exactly one value of it, so sums and uniq states over the matching values are exact.
  const d = others[0] ?? leaves[0]?.def ?? null;
  if (d && !allowed.includes(d.name)) return undefined;
  if (leaves.some((l) => l.def.name !== d?.name)) return undefined;
  return d;
}

export const allows = (opts: CompileOptions, family: string) => !opts.rollups || opts.rollups.includes(family);

/** `visits_daily` for visits and visitors by their starts, broken down by one visit attribute, place or device. */
function chooseVisitsTable(
  part: Part,
  dims: DimensionDef[],
  leaves: Array<{ c: Condition; def: DimensionDef }>,
  opts: CompileOptions,
  grain: TimeGrain | undefined,
): Part['table'] {
  if (part.mode !== 'starts' || !allows(opts, 'visits') || !part.metrics.every((m) => m.def.visitsRollup)) return 'events';
  // Totals (no dimension) come from events_daily/hourly, chosen before this.
  if (!keyedDimension(dims, leaves, VISIT_ROLLUP_DIMENSIONS)) return 'events';
  return alignment(opts, grain) === 'day' ? 'visits_daily' : 'events';
}

/** `sessions_daily` (or `sessions_hourly` for totals) for per-visit measures, else `sessions FINAL`. */
export function chooseSessionsTable(
  part: Part,
  dims: DimensionDef[],
  leaves: Array<{ c: Condition; def: DimensionDef }>,
  opts: CompileOptions,
  grain: TimeGrain | undefined,
): Part['table'] {
  if (!allows(opts, 'sessions') || !part.metrics.every((m) => m.def.sessionsRollup)) return 'sessions';
  const d = keyedDimension(dims, leaves, SESSION_ROLLUP_DIMENSIONS);
  if (d === undefined) return 'sessions';
  const align = alignment(opts, grain);
  if (align === 'day') return 'sessions_daily';
  if (align === 'hour' && d === null) return 'sessions_hourly';
  return 'sessions';
}
