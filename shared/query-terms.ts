/**
 * The vocabulary of the query model (shared/query.ts): date ranges, metrics, dimensions,
 * filter operators and comparison modes, as plain constants with no dependencies, so the
 * dashboard can use them without bundling zod. What each term means is defined once, in the
 * server's registry (server/stats/metrics.ts, server/stats/dimensions.ts) and the README.
 */

/** Named date ranges, resolved in the query's (or the project's) IANA time zone. */
export const DATE_RANGES = ['30m', 'today', 'yesterday', '24h', '7d', '30d', 'month', 'last_month', '12mo', 'all'] as const;
export type DateRangeName = (typeof DATE_RANGES)[number];

export const METRICS = [
  'visitors',
  'sessions',
  'pageviews',
  'events',
  'views_per_session',
  'bounce_rate',
  'session_duration',
  'revenue',
  'conversion_rate',
  'identified_users',
  'percentage',
] as const;
export type BaseMetric = (typeof METRICS)[number];

/** `sum:<property key>` and friends: an aggregate of an event property read as a number. */
export const PROPERTY_AGGREGATES = ['sum', 'avg', 'min', 'max'] as const;
export type PropertyAggregate = (typeof PROPERTY_AGGREGATES)[number];
export type PropertyMetric = `${PropertyAggregate}:${string}`;
export type Metric = BaseMetric | PropertyMetric;

export const TIME_GRAINS = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type TimeGrain = (typeof TIME_GRAINS)[number];

/** Dimensions with a fixed name; `event:props:<key>` and `profile:props:<key>` come on top. */
export const DIMENSIONS = [
  'time:minute',
  'time:hour',
  'time:day',
  'time:week',
  'time:month',
  'event:name',
  'event:path',
  'event:origin',
  'session:entry_path',
  'session:exit_path',
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
  'profile:id',
] as const;
export type FixedDimension = (typeof DIMENSIONS)[number];
export const PROPERTY_DIMENSION_PREFIXES = ['event:props:', 'profile:props:'] as const;
export type Dimension = FixedDimension | `event:props:${string}` | `profile:props:${string}`;

export const FILTER_OPS = [
  'is',
  'is_not',
  'contains',
  'not_contains',
  'starts_with',
  'ends_with',
  'matches',
  'not_matches',
  'gt',
  'gte',
  'lt',
  'lte',
  'is_set',
  'is_not_set',
] as const;
export type FilterOp = (typeof FILTER_OPS)[number];
/** Operators that compare a value as a number (one value). */
export const NUMERIC_OPS: readonly FilterOp[] = ['gt', 'gte', 'lt', 'lte'];
/** Operators that take no values. */
export const UNARY_OPS: readonly FilterOp[] = ['is_set', 'is_not_set'];

export const COMPARE_MODES = ['previous_period', 'year_over_year'] as const;
export type CompareMode = (typeof COMPARE_MODES)[number];

/** Bounds every query is held to (a request past them is a 400, never a slow query). */
export const QUERY_LIMITS = {
  metrics: 20,
  dimensions: 4,
  /** Nesting of and/or/not. */
  filterDepth: 6,
  /** Leaf conditions in the whole tree. */
  filterLeaves: 50,
  /** Values of one condition. */
  filterValues: 100,
  /** Characters of one value (or regular expression). */
  valueLength: 1000,
  /** Characters of a property key. */
  propertyKey: 200,
  /** Rows in one answer. */
  limit: 10_000,
  /** Time buckets one answer may span (pick a coarser grain past that). */
  timeBuckets: 2000,
} as const;

export function isTimeDimension(d: string): d is `time:${TimeGrain}` {
  return d.startsWith('time:');
}

/** The property key of `event:props:<key>` / `profile:props:<key>` / `sum:<key>`, else undefined. */
export function propertyKeyOf(name: string): string | undefined {
  for (const p of [...PROPERTY_DIMENSION_PREFIXES, ...PROPERTY_AGGREGATES.map((a) => `${a}:`)]) {
    if (name.startsWith(p)) return name.slice(p.length);
  }
  return undefined;
}
