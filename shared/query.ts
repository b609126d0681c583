/**
 * The query model: one JSON shape for every number Livepanel shows — the dashboard's cards,
 * charts and tables and the public `POST /api/v1/query` — compiled to SQL by server/stats.
 *
 *   { project_id, date_range, timezone?, metrics, dimensions?, filters?, compare?,
 *     order_by?, limit?, offset?, include? }
 *
 * This module checks shape and bounds only; what a metric or dimension means, and which
 * combinations make sense, is the registry's business (server/stats/). The vocabulary lives
 * in query-terms.ts (no zod) so the dashboard can share it. The OpenAPI document is generated
 * from these schemas (server/api/openapi.ts).
 */
import safeRegex from 'safe-regex2';
import { z } from 'zod';
import {
  COMPARE_MODES,
  DATE_RANGES,
  DIMENSIONS,
  FILTER_OPS,
  type FilterOp,
  isTimeDimension,
  METRICS,
  NUMERIC_OPS,
  PROPERTY_AGGREGATES,
  QUERY_LIMITS,
  UNARY_OPS,
} from './query-terms.ts';

const L = QUERY_LIMITS;

const IsoDate = z.iso.date().describe('A whole day (YYYY-MM-DD) in the query time zone');
const IsoDateTime = z.iso.datetime({ offset: true }).describe('An instant, with its offset (Z or ±hh:mm)');
const RangeBound = z.union([IsoDate, IsoDateTime]);
/** `[from, to]`: dates are whole local days, both included; date-times are instants, `to` excluded. */
export const CustomRange = z.tuple([RangeBound, RangeBound]).describe('[from, to]: dates include both days; date-times include from, exclude to');
export type CustomRange = z.infer<typeof CustomRange>;

export const DateRange = z.union([z.enum(DATE_RANGES), CustomRange]);
export type DateRange = z.infer<typeof DateRange>;

/** True when the runtime (and so ClickHouse's tz database, in practice) knows the IANA zone. */
export function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][\w+\-/]{0,63}$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
export const TimeZone = z.string().max(64).refine(isTimeZone, 'unknown IANA time zone').describe('IANA time zone, e.g. Europe/Berlin');

const propertyKey = z.string().min(1).max(L.propertyKey);
const PROPERTY_METRIC = new RegExp(`^(${PROPERTY_AGGREGATES.join('|')}):`);

export const Metric = z.union([
  z.enum(METRICS),
  z
    .string()
    .regex(PROPERTY_METRIC, `a metric name or sum:/avg:/min:/max: followed by a property key`)
    .refine((m) => propertyKey.safeParse(m.slice(m.indexOf(':') + 1)).success, `property key must be 1–${L.propertyKey} characters`),
]);
export type Metric = z.infer<typeof Metric>;

export const Dimension = z.union([
  z.enum(DIMENSIONS),
  z
    .string()
    .regex(/^(event|profile):props:/, 'a dimension name, or event:props:<key> / profile:props:<key>')
    .refine((d) => propertyKey.safeParse(d.replace(/^(event|profile):props:/, '')).success, `property key must be 1–${L.propertyKey} characters`),
]);
export type Dimension = z.infer<typeof Dimension>;

const FilterValue = z.union([z.string().max(L.valueLength), z.number().finite()]);
const ConditionOptions = z.object({ case_sensitive: z.boolean().optional() }).strict();

/** `[op, dimension, values, {case_sensitive?}]`. */
export const Condition = z
  .tuple([z.enum(FILTER_OPS), Dimension, z.array(FilterValue).max(L.filterValues), ConditionOptions.optional()])
  .superRefine(([op, dim, values], ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (isTimeDimension(dim)) issue('time dimensions cannot be filtered: use date_range');
    if (UNARY_OPS.includes(op)) {
      if (values.length > 0) issue(`${op} takes no values`);
      return;
    }
    if (values.length === 0) issue(`${op} needs at least one value`);
    if (NUMERIC_OPS.includes(op)) {
      if (values.length !== 1 || !Number.isFinite(Number(values[0])) || values[0] === '') issue(`${op} takes exactly one number`);
    }
    if (op === 'matches' || op === 'not_matches') for (const v of values) checkPattern(String(v), issue);
  });
export type Condition = [FilterOp, Dimension, Array<string | number>, { case_sensitive?: boolean }?];

/**
 * A pattern must compile and must not be one a backtracking engine can take exponential time
 * on: ClickHouse evaluates it with RE2 (safe), but live tiles evaluate filters in JavaScript.
 */
function checkPattern(p: string, issue: (m: string) => void) {
  try {
    new RegExp(p);
  } catch {
    issue(`invalid regular expression: ${p.slice(0, 80)}`);
    return;
  }
  if (!safeRegex(p)) issue(`regular expression may take exponential time (nested repetition): ${p.slice(0, 80)}`);
}

export type FilterTree = Condition | ['and', FilterTree[]] | ['or', FilterTree[]] | ['not', FilterTree];
export const FilterTree: z.ZodType<FilterTree> = z.lazy(() =>
  z.union([
    z.tuple([z.literal('and'), z.array(FilterTree).min(1).max(L.filterLeaves)]),
    z.tuple([z.literal('or'), z.array(FilterTree).min(1).max(L.filterLeaves)]),
    z.tuple([z.literal('not'), FilterTree]),
    Condition,
  ]),
) as z.ZodType<FilterTree>;

export const Compare = z.union([z.enum(COMPARE_MODES), CustomRange]);
export type Compare = z.infer<typeof Compare>;

export const Include = z
  .object({
    /** Every time bucket of the range, in order (with a time dimension). */
    time_labels: z.boolean().optional(),
    /** Rows the query has before limit/offset. */
    total_rows: z.boolean().optional(),
    /** The metrics over the whole range with no dimensions (same filters). */
    totals: z.boolean().optional(),
  })
  .strict();
export type Include = z.infer<typeof Include>;

export const Query = z
  .object({
    project_id: z.string().min(1).max(64),
    date_range: DateRange,
    /** Default: the project's time zone, else UTC. */
    timezone: TimeZone.optional(),
    metrics: z.array(Metric).min(1).max(L.metrics),
    dimensions: z.array(Dimension).max(L.dimensions).optional(),
    /** Conditions, all of which must hold (each may itself be an and/or/not tree). */
    filters: z.array(FilterTree).max(L.filterLeaves).optional(),
    compare: Compare.optional(),
    /** `[[metric or dimension, 'asc'|'desc'], …]`; default: time ascending, else the first metric descending. */
    order_by: z
      .array(z.tuple([z.string(), z.enum(['asc', 'desc'])]))
      .max(L.dimensions + L.metrics)
      .optional(),
    limit: z.number().int().min(1).max(L.limit).optional(),
    offset: z.number().int().min(0).max(1_000_000).optional(),
    include: Include.optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const dims = q.dimensions ?? [];
    dup(q.metrics, (m) => issue(['metrics'], `metric ${m} is listed twice`));
    dup(dims, (d) => issue(['dimensions'], `dimension ${d} is listed twice`));
    if (dims.filter(isTimeDimension).length > 1) issue(['dimensions'], 'at most one time dimension');
    for (const [i, [key]] of (q.order_by ?? []).entries()) {
      if (!(q.metrics as string[]).includes(key) && !(dims as string[]).includes(key)) {
        issue(['order_by', i], `order_by ${key} is neither a metric nor a dimension of this query`);
      }
    }
    const shape = treeShape(q.filters ?? []);
    if (shape.depth > L.filterDepth) issue(['filters'], `filters nest deeper than ${L.filterDepth}`);
    if (shape.leaves > L.filterLeaves) issue(['filters'], `more than ${L.filterLeaves} conditions`);
  });
export type Query = z.infer<typeof Query>;
/** What callers may send (defaults not applied yet). */
export type QueryInput = z.input<typeof Query>;

function dup<T>(xs: T[], report: (x: T) => void) {
  const seen = new Set<T>();
  for (const x of xs) {
    if (seen.has(x)) report(x);
    seen.add(x);
  }
}

/** Depth and number of conditions of a filter list (an implicit `and`). */
export function treeShape(trees: FilterTree[]): { depth: number; leaves: number } {
  let leaves = 0;
  const walk = (t: FilterTree, depth: number): number => {
    if (t[0] === 'and' || t[0] === 'or') return Math.max(depth, ...(t[1] as FilterTree[]).map((c) => walk(c, depth + 1)));
    if (t[0] === 'not') return walk(t[1] as FilterTree, depth + 1);
    leaves++;
    return depth;
  };
  const depth = Math.max(0, ...trees.map((t) => walk(t, 1)));
  return { depth, leaves };
}

/** Every condition of a filter list, in order (for scope checks and evaluation planning). */
export function conditionsOf(trees: FilterTree[]): Condition[] {
  const out: Condition[] = [];
  const walk = (t: FilterTree) => {
    if (t[0] === 'and' || t[0] === 'or') for (const c of t[1] as FilterTree[]) walk(c);
    else if (t[0] === 'not') walk(t[1] as FilterTree);
    else out.push(t as Condition);
  };
  for (const t of trees) walk(t);
  return out;
}

// ---- results

const Cell = z.number().nullable();
export const QueryResultRow = z.object({
  /** One value per requested dimension (time dimensions: their label in the query's zone). */
  dimensions: z.array(z.string()),
  /** One value per requested metric; null where it has no value (an average of nothing). */
  metrics: z.array(Cell),
  /** With `compare`: the same row in the comparison range, and the change per metric. */
  comparison: z
    .object({
      dimensions: z.array(z.string()),
      metrics: z.array(Cell),
      /** Percent change for counts and averages; difference in points for rates and percentages; null when undefined. */
      change: z.array(Cell),
    })
    .optional(),
});
export type QueryResultRow = z.infer<typeof QueryResultRow>;

export const QueryMeta = z.object({
  metrics: z.array(z.string()),
  dimensions: z.array(z.string()),
  /** The resolved range: UTC instants, `to` excluded. */
  date_range: z.tuple([z.string(), z.string()]),
  comparison_range: z.tuple([z.string(), z.string()]).optional(),
  timezone: z.string(),
  time_labels: z.array(z.string()).optional(),
  comparison_time_labels: z.array(z.string()).optional(),
  total_rows: z.number().int().optional(),
  totals: z.array(Cell).optional(),
  /** Which stored tables answered (for the curious and the benchmark). */
  sources: z.array(z.string()),
  query_ms: z.number(),
  /** True when this answer came from the result cache. */
  cached: z.boolean(),
});
export type QueryMeta = z.infer<typeof QueryMeta>;

export const QueryResponse = z.object({ results: z.array(QueryResultRow), meta: QueryMeta });
export type QueryResponse = z.infer<typeof QueryResponse>;
