/**
 * The query compiler: a validated query, a resolved range and a time zone in; one SQL
 * statement and its parameters out. No I/O here — the table-driven tests read the SQL.
 *
 * Steps: look every metric and dimension up in the registry → sort the metrics into parts by
 * the table that can answer them → for each part choose the cheapest table that answers
 * exactly (tables.ts) → build it → join the parts on the dimensions.
 *
 * Parts and tables:
 * - events part (event metrics, and visitors/sessions): the hourly or daily rollup when
 *   every metric has a rollup form, the dimensions are only time (hour or coarser, buckets on
 *   whole UTC hours/days) and event name, and every filter is on the event name; else raw
 *   `events`. Daily rollups are read at the coarsest granules that fit (granules.ts).
 *   When it only counts visits (visitors/sessions without event conditions) it reads
 *   only `session_start` rows — through the sort key — and session attributes are plain
 *   columns there; otherwise session attributes are joined from the session's start (or its
 *   `sessions` row for the exit page) and session conditions become `session_id IN (…)`.
 * - sessions part (bounce rate, duration, views per session; and visits broken down by exit
 *   page): `sessions FINAL`, by session start; event conditions become `id IN (…)`.
 * Profile properties are joined from `profiles FINAL` by profile id.
 *
 * Every value is a bound parameter (sql.ts), property keys included.
 */
import type { Condition, FilterTree, Query } from '../../shared/query.ts';
import { conditionsOf } from '../../shared/query.ts';
import { isTimeDimension, QUERY_LIMITS, type TimeGrain } from '../../shared/query-terms.ts';
import { RESERVED_EVENTS } from '../../shared/track.ts';
import { type DimensionDef, dimension, timeBucketSql } from './dimensions.ts';
import { dimensionOf, type PositiveOp, positiveSql, treeSql } from './filters.ts';
import { GRANULE_COLUMNS, type GranuleFamily, granuleSource } from './granules.ts';
import { invalidQuery } from './invalid.ts';
import { type MetricDef, metric, type VisitMode } from './metrics.ts';
import type { Range } from './range.ts';
import { literal, Params } from './sql.ts';
import {
  allows,
  bucketStartsOf,
  chooseEventTable,
  chooseSessionsTable,
  isKeyedRollup,
  isRollup,
  type KeyedRollupTable,
  type Part,
  type RollupTable,
} from './tables.ts';

/** How far before the range a session may have started and still own events in it. */
export const SESSION_LOOKBACK_MS = 86_400_000;

export interface CompileOptions {
  range: Range;
  tz: string;
  /** Bucket starts of the time dimension (epoch ms), when the caller has them (else computed): decide rollup alignment. */
  bucketStarts?: number[];
  /** Conditions added to the query's (comparison queries restricting to the rows shown). */
  extraFilters?: FilterTree[];
  /** Drop the query's event conditions (the visitors a conversion rate divides by). */
  withoutEventConditions?: boolean;
  /** Rollup families the compiler may read (default: all; the benchmark's baseline passes ['events']). */
  rollups?: readonly string[];
  /** Compute these metrics instead of the query's. */
  metrics?: string[];
  /** Group by these dimensions instead of the query's. */
  dimensions?: string[];
  /** Every row, unordered: no ORDER BY, LIMIT or OFFSET (a statement reading it restricts it). */
  unpaged?: boolean;
  /** Parameter names' prefix (default `p`), to keep a statement's apart from one it holds. */
  paramPrefix?: string;
}

/** A metric the SQL computes: its name and the column holding it. */
export interface MetricColumn {
  metric: string;
  column: string;
}

export interface Plan {
  sql: string;
  params: Record<string, unknown>;
  /** The dimensions, in order; the SQL names their columns d0, d1, … */
  dimensions: string[];
  /** Metrics the SQL computes (the query's and what derived metrics need), columns m0, m1, … */
  columns: MetricColumn[];
  /** Index of the time dimension, or -1. */
  timeIndex: number;
  grain?: TimeGrain;
  /** True when the SQL already applied order, limit and offset (no time dimension). */
  paged: boolean;
  /** Tables read, for `meta.sources`. */
  sources: string[];
}

const START = RESERVED_EVENTS.sessionStart;

export function compile(q: Query, opts: CompileOptions): Plan {
  const p = new Params(opts.paramPrefix);
  const metricNames = opts.metrics ?? q.metrics;
  const dimNames = opts.dimensions ?? q.dimensions ?? [];
  const dims = dimNames.map((d) => lookupDimension(d));
  let filters: FilterTree[] = [...(q.filters ?? []), ...(opts.extraFilters ?? [])];
  if (opts.withoutEventConditions) filters = stripEventConditions(filters);
  const leaves = conditionsOf(filters).map((c) => ({ c, def: dimensionOf(c) }));
  const refs = [...dims, ...leaves.map((l) => l.def)];
  const hasEvent = refs.some((d) => d.scope === 'event');
  const needsEnded = refs.some((d) => d.scope === 'session' && d.events === null);
  const timeIndex = dimNames.findIndex(isTimeDimension);
  const grain = timeIndex >= 0 ? dims[timeIndex]!.grain : undefined;

  // ---- metrics → SQL columns (derived ones read the visitors column).
  const sqlMetrics: string[] = [];
  for (const m of metricNames) {
    const def = lookupMetric(m);
    if (def.source === 'derived') {
      if (m === 'conversion_rate' && !hasEvent) {
        throw invalidQuery('conversion_rate needs a goal: an event filter (event:name, event:path, event:props:…) or an event dimension');
      }
      if (!sqlMetrics.includes('visitors')) sqlMetrics.push('visitors');
    } else if (!sqlMetrics.includes(m)) sqlMetrics.push(m);
  }
  const columns: MetricColumn[] = sqlMetrics.map((metric, i) => ({ metric, column: `m${i}` }));

  // ---- sort metrics into parts.
  const mode: VisitMode = hasEvent ? 'matches' : 'starts';
  const eventPart: Part = { table: 'events', metrics: [], mode };
  const sessionPart: Part = { table: 'sessions', metrics: [], mode };
  for (const [i, m] of sqlMetrics.entries()) {
    const def = lookupMetric(m);
    const entry = { def, column: columns[i]!.column };
    if (def.source === 'sessions' || (def.source === 'visits' && needsEnded)) sessionPart.metrics.push(entry);
    else eventPart.metrics.push(entry);
  }
  if (sessionPart.metrics.length > 0) {
    const bad = dims.find((d) => d.scope === 'event');
    if (bad) {
      const names = sessionPart.metrics.map((m) => m.def.name).join(', ');
      throw invalidQuery(`${names} describe${sessionPart.metrics.length === 1 ? 's' : ''} whole sessions and cannot be broken down by ${bad.name}`);
    }
  }
  if (eventPart.metrics.length > 0) eventPart.table = chooseEventTable(eventPart, dims, leaves, opts, grain);
  if (sessionPart.metrics.length > 0) sessionPart.table = chooseSessionsTable(sessionPart, dims, leaves, opts, grain);

  const ctx: BuildContext = { q, p, opts, dims, filters, grain };
  const parts = [eventPart, sessionPart].filter((part) => part.metrics.length > 0);
  const built = parts.map((part) => buildPart(part, ctx));
  const sources = [...new Set(built.flatMap((b) => b.sources))];

  // ---- combine, order, page.
  const dimCols = dims.map((_, i) => `d${i}`);
  const paged = timeIndex < 0;
  const order = orderBy(q, dimNames, columns, timeIndex);
  const total = paged && !opts.unpaged && q.include?.total_rows ? ', count() OVER () AS total_rows' : '';
  let sql: string;
  if (built.length === 1) {
    sql = `${built[0]!.select}${total}${built[0]!.rest}`;
  } else {
    const select = [...dimCols, ...columns.map((c) => c.column)].join(', ');
    const from = built
      .map((b, i) =>
        i === 0
          ? `(${b.sql}) AS t0`
          : `${dimCols.length ? 'FULL OUTER JOIN' : 'CROSS JOIN'} (${b.sql}) AS t${i}${dimCols.length ? ` USING (${dimCols.join(', ')})` : ''}`,
      )
      .join('\n');
    sql = `SELECT ${select}${total}\nFROM ${from}`;
  }
  if (!opts.unpaged) {
    const page = paged ? ` LIMIT ${p.bind(q.limit ?? DEFAULT_LIMIT, 'UInt32')} OFFSET ${p.bind(q.offset ?? 0, 'UInt32')}` : ` LIMIT ${TIME_ROWS_CAP}`;
    sql += `\nORDER BY ${order}${page}`;
  }
  sql += SETTINGS;
  return { sql, params: p.values, dimensions: dimNames, columns, timeIndex, grain, paged, sources };
}

/**
 * The visitors a conversion rate divides by, for each row `main` (compiled from `q` and `opts`)
 * shows: the query without its event conditions, grouped by its dimensions that are not of
 * events. Not paged: when one of those dimensions is not time, the statement reads `main` as a
 * subquery and keeps the values of its rows (its page, LIMIT and OFFSET), so a row outside the
 * top rows by all visitors still has its denominator, and both statements run side by side.
 */
export function compileDenominator(q: Query, opts: CompileOptions, main: Plan): Plan {
  const dims = main.dimensions.filter((d) => lookupDimension(d).scope !== 'event');
  const denom = compile(q, { ...opts, metrics: ['visitors'], dimensions: dims, withoutEventConditions: true, unpaged: true, paramPrefix: 'r' });
  const keyed = dims.map((d, i) => ({ d, i })).filter(({ d }) => !isTimeDimension(d));
  if (keyed.length === 0) return denom;
  const own = keyed.map(({ i }) => `d${i}`).join(', ');
  const shown = keyed.map(({ d }) => `d${main.dimensions.indexOf(d)}`).join(', ');
  const body = (plan: Plan) => plan.sql.slice(0, -SETTINGS.length);
  const sql = `SELECT * FROM (\n${body(denom)}\n)\nWHERE (${own}) IN (SELECT ${shown} FROM (\n${body(main)}\n))${SETTINGS}`;
  return { ...denom, sql, params: { ...main.params, ...denom.params } };
}

const SETTINGS = `\nSETTINGS join_use_nulls = 1, output_format_json_quote_64bit_integers = 0`;
const DEFAULT_LIMIT = 100;
/** Rows a time query may return before empty buckets are filled (buckets × other values). */
const TIME_ROWS_CAP = QUERY_LIMITS.limit * 10;

function lookupMetric(name: string): MetricDef {
  const def = metric(name);
  if (!def) throw invalidQuery(`unknown metric ${name}`);
  return def;
}

function lookupDimension(name: string): DimensionDef {
  const def = dimension(name);
  if (!def) throw invalidQuery(`unknown dimension ${name}`);
  return def;
}

/** The filter list without its event conditions (an and/or/not left empty disappears). */
export function stripEventConditions(trees: readonly FilterTree[]): FilterTree[] {
  const strip = (t: FilterTree): FilterTree | null => {
    if (t[0] === 'and' || t[0] === 'or') {
      const kept = (t[1] as FilterTree[]).map(strip).filter((x): x is FilterTree => x !== null);
      return kept.length ? [t[0], kept] : null;
    }
    if (t[0] === 'not') {
      const inner = strip(t[1] as FilterTree);
      return inner ? ['not', inner] : null;
    }
    return dimensionOf(t as Condition).scope === 'event' ? null : t;
  };
  return trees.map(strip).filter((x): x is FilterTree => x !== null);
}

interface BuildContext {
  q: Query;
  p: Params;
  opts: CompileOptions;
  dims: DimensionDef[];
  filters: FilterTree[];
  grain?: TimeGrain;
}

interface BuiltPart {
  /** The whole part: SELECT … GROUP BY (used as a subquery). */
  sql: string;
  /** The part split where a window column can be added (single-part plans). */
  select: string;
  rest: string;
  sources: string[];
}

function buildPart(part: Part, ctx: BuildContext): BuiltPart {
  if (isKeyedRollup(part.table)) return buildKeyedRollup(part, ctx);
  if (isRollup(part.table)) return buildRollup(part, ctx);
  if (part.table === 'sessions') return buildSessions(part, ctx);
  return buildEvents(part, ctx);
}

function rangeWhere(ctx: BuildContext, column: string, lookback = 0, lookahead = 0): string {
  const { p, opts } = ctx;
  return `${column} >= ${p.time(opts.range.from - lookback)} AND ${column} < ${p.time(opts.range.to + lookahead)}`;
}

function assemble(selects: string[], from: string, where: string[], groupBy: number, sources: string[], prewhere?: string): BuiltPart {
  const select = `SELECT ${selects.join(', ')}`;
  const group = groupBy > 0 ? `\nGROUP BY ${Array.from({ length: groupBy }, (_, i) => `d${i}`).join(', ')}` : '';
  const pre = prewhere ? `\nPREWHERE ${prewhere}` : '';
  const rest = `\nFROM ${from}${pre}${where.length ? `\nWHERE ${where.join('\n  AND ')}` : ''}${group}`;
  return { sql: select + rest, select, rest, sources };
}

/** The names the part's metrics read, when every one of them says (else undefined: all). */
function prefilterNames(part: Part): string[] | undefined {
  const names = new Set<string>();
  for (const m of part.metrics) {
    const n = m.def.names?.(part.mode);
    if (!n) return undefined;
    for (const x of n) names.add(x);
  }
  return [...names].sort();
}

function nameIn(names: string[]): string {
  return names.length === 1 ? `name = ${literal(names[0]!)}` : `name IN (${names.map(literal).join(', ')})`;
}

function buildRollup(part: Part, ctx: BuildContext): BuiltPart {
  const { p, dims, grain } = ctx;
  const table = part.table as RollupTable;
  const selects = dims.map((d, i) => `${d.scope === 'time' ? timeBucketSql(grain!, 'bucket', p.tz(ctx.opts.tz)) : d.rollup!} AS d${i}`);
  for (const m of part.metrics) selects.push(`${m.def.rollup!(part.mode)} AS ${m.column}`);
  const where = [`project_id = ${p.bind(ctx.q.project_id)}`];
  const names = prefilterNames(part);
  if (names) where.push(nameIn(names));
  const cond = treeSql(ctx.filters, (c, op) => leafOn(c, op, (d) => d.rollup ?? null, ctx));
  if (cond) where.push(cond);
  return fromRollup(table, selects, where, ctx);
}

/** A rollup part's statement: a daily table read at the coarsest granules that fit (granules.ts), else the table over the range. */
function fromRollup(table: RollupTable | KeyedRollupTable, selects: string[], where: string[], ctx: BuildContext): BuiltPart {
  const family = table.endsWith('_daily') ? (table.slice(0, -'_daily'.length) as GranuleFamily) : undefined;
  if (!family || !(family in GRANULE_COLUMNS) || !allows(ctx.opts, 'weekly_monthly')) {
    const [project, ...rest] = where;
    return assemble(selects, table, [project!, rangeWhere(ctx, 'bucket'), ...rest], ctx.dims.length, [table]);
  }
  const src = granuleSource(family, ctx.opts.range, ctx.grain, bucketStartsOf(ctx.opts, ctx.grain), where, ctx.p);
  return assemble(selects, src.from, src.where, ctx.dims.length, src.sources);
}

/** A part read from a (dimension, value)-keyed rollup: one dimension's rows (or the totals, dimension ''). */
function buildKeyedRollup(part: Part, ctx: BuildContext): BuiltPart {
  const { p, dims, grain } = ctx;
  const table = part.table as KeyedRollupTable;
  const keyed = dims.find((d) => d.scope !== 'time') ?? conditionsOf(ctx.filters).map(dimensionOf)[0];
  const selects = dims.map((d, i) => `${d.scope === 'time' ? timeBucketSql(grain!, 'bucket', p.tz(ctx.opts.tz)) : 'value'} AS d${i}`);
  for (const m of part.metrics) selects.push(`${(table === 'visits_daily' ? m.def.visitsRollup : m.def.sessionsRollup)!} AS ${m.column}`);
  const where = [`project_id = ${p.bind(ctx.q.project_id)}`, `dimension = ${p.bind(keyed?.name ?? '')}`];
  // Only conditions on the keyed dimension reach here (keyedDimension).
  const cond = treeSql(ctx.filters, (c, op) => leafSql(c, op, 'value', p));
  if (cond) where.push(cond);
  return fromRollup(table, selects, where, ctx);
}

function buildEvents(part: Part, ctx: BuildContext): BuiltPart {
  const { p, dims, grain } = ctx;
  const project = p.bind(ctx.q.project_id);
  const names = prefilterNames(part);
  // Only session_start rows are read: session attributes are columns of the row itself.
  const startsOnly = names !== undefined && names.length === 1 && names[0] === START;
  const sources = [startsOnly ? 'events:session_start' : 'events'];
  const joins: string[] = [];

  // Session attributes of other rows, joined from the session's start (or its sessions row).
  const joinedSession = dims.filter((d) => d.scope === 'session' && !startsOnly);
  const sessionAlias = new Map<DimensionDef, string>();
  if (joinedSession.length > 0) {
    const fromEnded = joinedSession.some((d) => d.events === null);
    const cols = joinedSession.map((d, i) => {
      sessionAlias.set(d, `ss.s${i}`);
      return `${fromEnded ? d.sessions!(p) : d.events!(p)} AS s${i}`;
    });
    const sub = fromEnded
      ? `SELECT id AS sid, ${cols.join(', ')} FROM sessions FINAL WHERE project_id = ${project} AND ${rangeWhere(ctx, 'created_at', SESSION_LOOKBACK_MS)}`
      : `SELECT session_id AS sid, ${cols.join(', ')} FROM events WHERE project_id = ${project} AND name = ${literal(START)} AND ${rangeWhere(ctx, 'created_at', SESSION_LOOKBACK_MS)}`;
    joins.push(`ANY LEFT JOIN (${sub}) AS ss ON session_id = ss.sid`);
    sources.push(fromEnded ? 'sessions' : 'events:session_start');
  }
  const profileJoin = joinProfiles(dims, ctx, project);
  if (profileJoin) {
    joins.push(profileJoin.join);
    sources.push('profiles');
  }

  const valueSql = (d: DimensionDef): string => {
    if (d.scope === 'time') return timeBucketSql(grain!, 'created_at', p.tz(ctx.opts.tz));
    if (d.scope === 'profile') return profileJoin!.alias.get(d)!;
    const joined = sessionAlias.get(d);
    if (joined) return `ifNull(${joined}, '')`;
    return d.events!(p);
  };
  const selects = dims.map((d, i) => `${valueSql(d)} AS d${i}`);
  for (const m of part.metrics) selects.push(`${m.def.events!(p, part.mode)} AS ${m.column}`);

  const where = [`project_id = ${project}`, rangeWhere(ctx, 'created_at')];
  if (names) where.push(nameIn(names));
  let bySession = false;
  const cond = treeSql(ctx.filters, (c, op) => {
    const def = dimensionOf(c);
    if (def.scope === 'session' && !startsOnly) {
      // Sessions whose start (or, for the exit page, ended row) matches.
      const sub = def.events
        ? `SELECT session_id FROM events WHERE project_id = ${project} AND name = ${literal(START)} AND ${rangeWhere(ctx, 'created_at', SESSION_LOOKBACK_MS)} AND ${leafSql(c, op, def.events(p), p)}`
        : `SELECT id FROM sessions FINAL WHERE project_id = ${project} AND ${rangeWhere(ctx, 'created_at', SESSION_LOOKBACK_MS)} AND ${leafSql(c, op, def.sessions!(p), p)}`;
      bySession = true;
      return `session_id IN (${sub})`;
    }
    if (def.scope === 'session' && def.events === null) {
      const sub = `SELECT id FROM sessions FINAL WHERE project_id = ${project} AND ${rangeWhere(ctx, 'created_at', SESSION_LOOKBACK_MS)} AND ${leafSql(c, op, def.sessions!(p), p)}`;
      bySession = true;
      return `session_id IN (${sub})`;
    }
    return leafOn(c, op, (d) => (d.events ? d.events(p) : null), ctx, project, 'profile_id');
  });
  const from = ['events', ...joins].join('\n');
  // Visit conditions probe every event's session id: as PREWHERE, the other columns are read
  // only for the events that pass (ClickHouse does not move an IN subquery there itself; at 10M
  // events, page views of one source 30 % less CPU). Not beside a join (PREWHERE is the left table's).
  if (cond && bySession && joins.length === 0) return assemble(selects, from, where, dims.length, sources, cond);
  if (cond) where.push(cond);
  return assemble(selects, from, where, dims.length, sources);
}

function buildSessions(part: Part, ctx: BuildContext): BuiltPart {
  const { p, dims, grain } = ctx;
  const project = p.bind(ctx.q.project_id);
  const sources = ['sessions'];
  const profileJoin = joinProfiles(dims, ctx, project);
  if (profileJoin) sources.push('profiles');
  const valueSql = (d: DimensionDef): string => {
    if (d.scope === 'time') return timeBucketSql(grain!, 'created_at', p.tz(ctx.opts.tz));
    if (d.scope === 'profile') return profileJoin!.alias.get(d)!;
    return d.sessions!(p);
  };
  const selects = dims.map((d, i) => `${valueSql(d)} AS d${i}`);
  for (const m of part.metrics) selects.push(`${m.def.sessions!} AS ${m.column}`);
  const where = [`project_id = ${project}`, rangeWhere(ctx, 'created_at')];
  const cond = treeSql(ctx.filters, (c, op) => {
    const def = dimensionOf(c);
    if (def.scope === 'event') {
      // Sessions with a matching event (events can follow the start by up to a day).
      const sub = `SELECT session_id FROM events WHERE project_id = ${project} AND ${rangeWhere(ctx, 'created_at', 0, SESSION_LOOKBACK_MS)} AND ${leafSql(c, op, def.events!(p), p)}`;
      return `id IN (${sub})`;
    }
    return leafOn(c, op, (d) => (d.sessions ? d.sessions(p) : null), ctx, project, 'profile_id');
  });
  if (cond) where.push(cond);
  const from = ['sessions FINAL', ...(profileJoin ? [profileJoin.join] : [])].join('\n');
  return assemble(selects, from, where, dims.length, sources);
}

/** One condition on the table at hand: its column expression, or a profiles subquery for profile properties. */
function leafOn(c: Condition, op: PositiveOp, column: (d: DimensionDef) => string | null, ctx: BuildContext, project?: string, profileColumn?: string): string {
  const def = dimensionOf(c);
  if (def.scope === 'profile' && project && profileColumn) {
    const sub = `SELECT id FROM profiles FINAL WHERE project_id = ${project} AND ${leafSql(c, op, def.profiles!(ctx.p), ctx.p)}`;
    return `${profileColumn} IN (${sub})`;
  }
  const x = column(def);
  if (x === null) throw invalidQuery(`${c[1]} cannot be used as a filter here`);
  return leafSql(c, op, x, ctx.p);
}

function leafSql(c: Condition, op: PositiveOp, x: string, p: Params): string {
  return positiveSql(op, x, c[2], c[3]?.case_sensitive ?? true, p);
}

/** The LEFT JOIN bringing profile properties used as dimensions, with each one's expression. */
function joinProfiles(dims: DimensionDef[], ctx: BuildContext, project: string) {
  const props = dims.filter((d) => d.scope === 'profile');
  if (props.length === 0) return undefined;
  const alias = new Map<DimensionDef, string>();
  const cols = props.map((d, i) => {
    alias.set(d, `ifNull(pp.v${i}, '')`);
    return `${d.profiles!(ctx.p)} AS v${i}`;
  });
  const join = `ANY LEFT JOIN (SELECT id AS pid, ${cols.join(', ')} FROM profiles FINAL WHERE project_id = ${project}) AS pp ON profile_id = pp.pid`;
  return { join, alias };
}

/** ORDER BY: the query's order_by, else time ascending then the first metric descending; dimensions break ties. */
function orderBy(q: Query, dimNames: string[], columns: MetricColumn[], timeIndex: number): string {
  const colOf = (key: string): string => {
    const di = dimNames.indexOf(key);
    if (di >= 0) return `d${di}`;
    const target = key === 'percentage' ? 'visitors' : key;
    if (key === 'conversion_rate') throw invalidQuery('results cannot be ordered by conversion_rate; order by visitors instead');
    const c = columns.find((x) => x.metric === target);
    if (!c) throw invalidQuery(`order_by ${key} is neither a metric nor a dimension of this query`);
    return c.column;
  };
  const terms: string[] = [];
  const used = new Set<string>();
  const add = (col: string, dir: 'ASC' | 'DESC') => {
    if (used.has(col)) return;
    used.add(col);
    terms.push(`${col} ${dir}`);
  };
  for (const [key, dir] of q.order_by ?? []) add(colOf(key), dir === 'asc' ? 'ASC' : 'DESC');
  if (timeIndex >= 0) add(`d${timeIndex}`, 'ASC');
  if (columns[0]) add(columns[0].column, 'DESC');
  dimNames.forEach((_, i) => {
    add(`d${i}`, 'ASC');
  });
  return terms.join(', ');
}
