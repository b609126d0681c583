/**
 * Runs query-model queries: resolves the range in the query's (or the project's) time zone,
 * looks in the result cache, compiles (compile.ts) and runs the main query and what it needs
 * beside it — totals for percentages, the visitors a conversion rate divides by, the
 * comparison range — and shapes one answer: every time bucket present (empty ones filled),
 * labels in the zone, comparison values and changes.
 *
 * Caching: answers are cached in the Cache engine under a hash of the normalised query and
 * its resolved instants — for `pastTtlMs` when the range (and comparison) ended before now,
 * for `liveTtlMs` when it reaches now. `meta.cached` says which answer came from the cache.
 */
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { LRUCache } from 'lru-cache';
import type { FilterTree, Query, QueryResponse, QueryResultRow } from '../../shared/query.ts';
import { isTimeDimension, QUERY_LIMITS } from '../../shared/query-terms.ts';
import { parseChTime } from '../../shared/rows.ts';
import type { Cache } from '../engines/cache.ts';
import { createStatementBatcher, type Row } from './batch.ts';
import { compile, compileDenominator, type Plan, stripEventConditions } from './compile.ts';
import { dimension } from './dimensions.ts';
import { invalidQuery } from './invalid.ts';
import { type MetricDef, metric } from './metrics.ts';
import { type Bucket, buckets, iso, type Range, resolveComparison, resolveRange } from './range.ts';

export interface QueryEngineOptions {
  ch: ClickHouseClient;
  cache?: Cache;
  /** The project's IANA time zone, when it has one (default: UTC); answers are remembered for 30 s. */
  projectTimezone?: (projectId: string) => Promise<string | undefined>;
  /** Cache lifetime of answers whose ranges have ended (default 10 minutes). */
  pastTtlMs?: number;
  /** Cache lifetime of answers whose range reaches now (default 5 s). */
  liveTtlMs?: number;
  now?: () => number;
  /** Rollup families to read (default: all; see tables.ts). */
  rollups?: readonly string[];
  /** Run the statements that wait together as one (chDB, which runs one statement at a time: batch.ts). */
  batch?: boolean;
}

export interface QueryEngine {
  /** Answers a validated query; throws AppError `invalid_query` for one that cannot be answered. */
  run(q: Query): Promise<QueryResponse>;
}

export function createQueryEngine(opts: QueryEngineOptions): QueryEngine {
  const now = opts.now ?? Date.now;
  const zones = new LRUCache<string, { tz: string | undefined }>({ max: 10_000, ttl: 30_000 });
  async function projectZone(projectId: string): Promise<string | undefined> {
    const hit = zones.get(projectId);
    if (hit) return hit.tz;
    const tz = await opts.projectTimezone?.(projectId);
    zones.set(projectId, { tz });
    return tz;
  }
  const pastTtl = opts.pastTtlMs ?? 600_000;
  const liveTtl = opts.liveTtlMs ?? 5_000;

  // Identical statements in flight run once: the pages of a dashboard ask for the same totals
  // (the visitors a percentage divides by) several times at once.
  const inFlight = new Map<string, Promise<Row[]>>();
  const batcher = opts.batch ? createStatementBatcher(opts.ch) : undefined;
  function rows(plan: Plan): Promise<Row[]> {
    const key = `${plan.sql}\n${JSON.stringify(plan.params)}`;
    const running = inFlight.get(key);
    if (running) return running;
    const p = (
      batcher ? batcher.run(plan) : opts.ch.query({ query: plan.sql, query_params: plan.params, format: 'JSONEachRow' }).then((rs) => rs.json<Row>())
    ).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  }

  async function earliestEvent(projectId: string): Promise<number | null> {
    const rs = await opts.ch.query({
      query: 'SELECT toString(minOrNull(bucket)) AS first FROM events_daily WHERE project_id = {p:String}',
      query_params: { p: projectId },
      format: 'JSONEachRow',
    });
    const [r] = await rs.json<{ first: string | null }>();
    return r?.first ? parseChTime(`${r.first}.000`) : null;
  }

  return {
    async run(q) {
      const started = performance.now();
      const at = now();
      const tz = q.timezone ?? (await projectZone(q.project_id)) ?? 'UTC';
      const earliest = q.date_range === 'all' ? await earliestEvent(q.project_id) : undefined;
      const range = resolveRange(q.date_range, tz, at, earliest);
      const cmpRange = resolveComparison(range, q.compare, tz);
      const dims = q.dimensions ?? [];
      const grainDim = dims.find(isTimeDimension);
      const grain = grainDim ? dimension(grainDim)!.grain! : undefined;
      const bucketsOf = (r: Range): Bucket[] | undefined => {
        if (!grain) return undefined;
        const b = buckets(r, grain, tz, { max: QUERY_LIMITS.timeBuckets, until: at });
        if (b.truncated) throw invalidQuery(`the range has more than ${QUERY_LIMITS.timeBuckets} ${grain}s: pick a coarser time dimension`);
        return b.buckets;
      };
      const mainBuckets = bucketsOf(range);
      const cmpBuckets = cmpRange && bucketsOf(cmpRange);

      const key = cacheKey(q, tz, range, cmpRange);
      const cached = opts.cache && (await opts.cache.get<QueryResponse>(key).catch(() => undefined));
      if (cached) return { ...cached, meta: { ...cached.meta, cached: true, query_ms: elapsed(started) } };

      // A comparison that needs no restriction to the rows shown (time only, or no dimensions)
      // runs beside the main answer; one that does waits for the rows.
      const independent = cmpRange !== undefined && (q.dimensions ?? []).every(isTimeDimension);
      const [current, early] = await Promise.all([
        answer(q, range, tz, mainBuckets, undefined),
        independent ? answer(q, cmpRange, tz, cmpBuckets, undefined) : undefined,
      ]);
      let comparison: Answer | undefined = early;
      if (cmpRange && !independent) {
        const restrict = restrictTo(q, current.rows);
        // Restricted to the rows shown, it needs all of its rows: not the page's offset.
        const all = { ...q, limit: QUERY_LIMITS.limit, offset: 0 };
        comparison = restrict === null ? undefined : await answer(all, cmpRange, tz, cmpBuckets, restrict);
      }
      const results = shape(q, current, comparison, mainBuckets, cmpBuckets);
      const paged = page(q, results, current.plan.paged);
      const response: QueryResponse = {
        results: paged.rows,
        meta: {
          metrics: q.metrics,
          dimensions: dims,
          date_range: [iso(range.from), iso(range.to)],
          ...(cmpRange && { comparison_range: [iso(cmpRange.from), iso(cmpRange.to)] as [string, string] }),
          timezone: tz,
          ...(q.include?.time_labels && mainBuckets && { time_labels: mainBuckets.map((b) => b.label) }),
          ...(q.include?.time_labels && cmpBuckets && { comparison_time_labels: cmpBuckets.map((b) => b.label) }),
          ...(q.include?.total_rows && { total_rows: paged.total ?? current.total }),
          ...(q.include?.totals && current.totals && { totals: current.totals }),
          sources: current.sources,
          query_ms: 0,
          cached: false,
        },
      };
      response.meta.query_ms = elapsed(started);
      if (opts.cache) {
        const live = range.to > at || (cmpRange !== undefined && cmpRange.to > at);
        await opts.cache.set(key, response, live ? liveTtl : pastTtl).catch(() => {});
      }
      return response;
    },
  };

  /** One range's answer: the main rows plus what derived metrics divide by. */
  async function answer(q: Query, range: Range, tz: string, bks: Bucket[] | undefined, restrict: FilterTree[] | undefined): Promise<Answer> {
    const base = { range, tz, bucketStarts: bks?.map((b) => b.start), extraFilters: restrict, rollups: opts.rollups };
    const dims = q.dimensions ?? [];
    const plan = compile(q, base);
    const wantsTotals = q.metrics.includes('percentage') || q.include?.totals;
    // A conversion rate whose goal is only a dimension has no total.
    const totalMetrics =
      stripEventConditions(q.filters ?? []).length === (q.filters ?? []).length ? q.metrics.filter((m) => m !== 'conversion_rate') : q.metrics;
    // Totals are one row, whichever page of rows is shown.
    const whole = { ...q, offset: 0 };
    const totalsPlan = wantsTotals && totalMetrics.length > 0 ? compile(whole, { ...base, dimensions: [], metrics: totalMetrics }) : undefined;
    const cr = q.metrics.includes('conversion_rate');
    const baseDims = dims.filter((d) => dimension(d)!.scope !== 'event');
    const denomPlan = cr ? compileDenominator(q, base, plan) : undefined;
    const denomTotalPlan =
      cr && q.include?.totals ? compile(whole, { ...base, metrics: ['visitors'], dimensions: [], withoutEventConditions: true }) : undefined;
    const [main, totals, denom, denomTotal] = await Promise.all([rows(plan), opt(totalsPlan, rows), opt(denomPlan, rows), opt(denomTotalPlan, rows)]);

    const first = totals?.[0];
    const totalVisitors = first ? cell(first, totalsPlan!, 'visitors') : null;
    const denominators = new Map<string, number>();
    if (denom && denomPlan) {
      for (const r of denom) denominators.set(keyOf(baseDims.map((_, i) => label(r[`d${i}`]))), numberOf(r[colOf(denomPlan, 'visitors')]) ?? 0);
    }
    const dimIndexes = baseDims.map((d) => dims.indexOf(d));
    const values = (r: Row | undefined, p: Plan, dimValues: string[], denomOf: (dimValues: string[]) => number | undefined): Array<number | null> =>
      q.metrics.map((m) => {
        const def = metric(m)!;
        if (m === 'percentage') {
          const v = r ? cell(r, p, 'visitors') : 0;
          return totalVisitors ? round(((v ?? 0) * 100) / totalVisitors) : null;
        }
        if (m === 'conversion_rate') {
          const v = r ? (cell(r, p, 'visitors') ?? 0) : 0;
          const d = denomOf(dimValues);
          return d ? round((v * 100) / d) : null;
        }
        const raw = r ? cell(r, p, m) : null;
        return raw === null ? def.empty : round(raw);
      });
    const denomOfRow = (dimValues: string[]) => denominators.get(keyOf(dimIndexes.map((i) => dimValues[i]!)));
    const totalsRow =
      totals && totalsPlan
        ? values(totals[0], totalsPlan, [], () => (denomTotal ? (numberOf(denomTotal[0]?.[colOf(denomTotalPlan!, 'visitors')]) ?? undefined) : undefined))
        : undefined;
    const shaped = main.map((r) => {
      const dimValues = dims.map((_, i) => label(r[`d${i}`]));
      return { dimensions: dimValues, metrics: values(r, plan, dimValues, denomOfRow) };
    });
    const empty = (dimValues: string[]) => values(undefined, plan, dimValues, denomOfRow);
    const total = plan.paged && main.length > 0 && 'total_rows' in main[0]! ? Number(main[0]!.total_rows) : plan.paged ? 0 : undefined;
    return { plan, rows: shaped, empty, totals: totalsRow, total, sources: [...new Set([plan, totalsPlan, denomPlan].flatMap((x) => x?.sources ?? []))] };
  }
}

interface Answer {
  plan: Plan;
  rows: Array<{ dimensions: string[]; metrics: Array<number | null> }>;
  /** Metric values of a row with nothing in it (for filled buckets). */
  empty(dimValues: string[]): Array<number | null>;
  totals?: Array<number | null>;
  total?: number;
  sources: string[];
}

async function opt<T, R>(x: T | undefined, f: (x: T) => Promise<R>): Promise<R | undefined> {
  return x === undefined ? undefined : f(x);
}

const elapsed = (since: number) => Math.round((performance.now() - since) * 10) / 10;

function colOf(plan: Plan, metricName: string): string {
  const c = plan.columns.find((x) => x.metric === metricName);
  if (!c) throw new Error(`plan has no column for ${metricName}`);
  return c.column;
}

/** A metric's value in a result row, null when the plan did not compute it or it is null. */
function cell(r: Row, plan: Plan, metricName: string): number | null {
  const c = plan.columns.find((x) => x.metric === metricName);
  return c ? numberOf(r[c.column]) : null;
}

function numberOf(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

const round = (n: number) => (Number.isInteger(n) ? n : Math.round(n * 100) / 100);

/** A dimension value as the API shows it: DateTime text trimmed to minutes, everything else as text. */
function label(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/.test(s) ? s.slice(0, 16) : s;
}

const keyOf = (values: string[]) => JSON.stringify(values);

function cacheKey(q: Query, tz: string, range: Range, cmp: Range | undefined): string {
  const normal = {
    p: q.project_id,
    tz,
    r: [range.from, range.to],
    c: cmp ? [cmp.from, cmp.to] : null,
    m: q.metrics,
    d: q.dimensions ?? [],
    f: q.filters ?? [],
    o: q.order_by ?? [],
    l: q.limit ?? null,
    off: q.offset ?? 0,
    i: [q.include?.time_labels ?? false, q.include?.total_rows ?? false, q.include?.totals ?? false],
  };
  return `query:${q.project_id}:${createHash('sha256').update(JSON.stringify(normal)).digest('base64url')}`;
}

/**
 * Conditions restricting a comparison to the rows the main answer shows (each non-time
 * dimension to its values); null when there is nothing to compare; undefined when no
 * restriction is needed (time only, or no dimensions).
 */
function restrictTo(q: Query, shown: Array<{ dimensions: string[] }>): FilterTree[] | null | undefined {
  const dims = q.dimensions ?? [];
  const others = dims.map((d, i) => ({ d, i })).filter(({ d }) => !isTimeDimension(d));
  if (others.length === 0) return undefined;
  if (shown.length === 0) return null;
  return others.map(({ d, i }) => ['is', d, [...new Set(shown.map((r) => r.dimensions[i]!))]] as FilterTree);
}

/** Fills empty time buckets, attaches the comparison, sorts time answers. */
function shape(q: Query, cur: Answer, cmp: Answer | undefined, mainBuckets: Bucket[] | undefined, cmpBuckets: Bucket[] | undefined): QueryResultRow[] {
  const dims = q.dimensions ?? [];
  const ti = dims.findIndex(isTimeDimension);
  let rows = cur.rows;
  if (ti >= 0 && mainBuckets) rows = fillBuckets(rows, ti, mainBuckets, cur.empty);
  if (!cmp) return ti >= 0 ? sortTimeRows(q, rows, ti) : rows;

  const defs = q.metrics.map((m) => metric(m)!);
  const cmpByKey = new Map(cmp.rows.map((r) => [keyOf(r.dimensions), r]));
  const labelIndex = new Map((mainBuckets ?? []).map((b, i) => [b.label, i]));
  const withComparison = rows.map((r) => {
    let cmpDims = r.dimensions;
    if (ti >= 0) {
      const b = cmpBuckets?.[labelIndex.get(r.dimensions[ti]!) ?? -1];
      cmpDims = r.dimensions.map((v, i) => (i === ti ? (b?.label ?? '') : v));
    }
    const other = cmpByKey.get(keyOf(cmpDims));
    const metrics = other ? other.metrics : cmp.empty(cmpDims);
    return { ...r, comparison: { dimensions: cmpDims, metrics, change: defs.map((d, i) => change(d, r.metrics[i]!, metrics[i]!)) } };
  });
  return ti >= 0 ? sortTimeRows(q, withComparison, ti) : withComparison;
}

function change(def: MetricDef, cur: number | null, prev: number | null): number | null {
  if (cur === null || prev === null) return null;
  if (def.change === 'points') return round(cur - prev);
  if (prev === 0) return cur === 0 ? 0 : null;
  return round(((cur - prev) * 100) / prev);
}

/** Every bucket for every combination of the other dimensions that has data (or the bare series). */
function fillBuckets(rows: Answer['rows'], ti: number, bks: Bucket[], empty: Answer['empty']): Answer['rows'] {
  const have = new Map(rows.map((r) => [keyOf(r.dimensions), r]));
  const combos = new Map<string, string[]>();
  for (const r of rows) {
    const others = r.dimensions.filter((_, i) => i !== ti);
    combos.set(keyOf(others), others);
  }
  if (combos.size === 0) combos.set('[]', []);
  const out: Answer['rows'] = [];
  for (const others of combos.values()) {
    for (const b of bks) {
      const dims = [...others.slice(0, ti), b.label, ...others.slice(ti)];
      out.push(have.get(keyOf(dims)) ?? { dimensions: dims, metrics: empty(dims) });
    }
  }
  // Rows outside the buckets (none unless a bucket label repeats across a clock change) are kept.
  const filled = new Set(out.map((r) => keyOf(r.dimensions)));
  for (const r of rows) if (!filled.has(keyOf(r.dimensions))) out.push(r);
  return out;
}

/** Time answers are sorted here (after filling): the query's order_by, then time, then the first metric. */
function sortTimeRows<T extends { dimensions: string[]; metrics: Array<number | null> }>(q: Query, rows: T[], ti: number): T[] {
  const dims = q.dimensions ?? [];
  const terms: Array<{ get: (r: T) => string | number; desc: boolean }> = [];
  const byKey = (key: string, desc: boolean) => {
    const di = dims.indexOf(key);
    if (di >= 0) return { get: (r: T) => r.dimensions[di]!, desc };
    const mi = q.metrics.indexOf(key);
    return { get: (r: T) => r.metrics[mi] ?? Number.NEGATIVE_INFINITY, desc };
  };
  for (const [key, dir] of q.order_by ?? []) terms.push(byKey(key, dir === 'desc'));
  terms.push({ get: (r) => r.dimensions[ti]!, desc: false });
  terms.push({ get: (r) => r.metrics[0] ?? Number.NEGATIVE_INFINITY, desc: true });
  dims.forEach((_, i) => {
    terms.push({ get: (r) => r.dimensions[i]!, desc: false });
  });
  return [...rows].sort((a, b) => {
    for (const t of terms) {
      const x = t.get(a);
      const y = t.get(b);
      if (x < y) return t.desc ? 1 : -1;
      if (x > y) return t.desc ? -1 : 1;
    }
    return 0;
  });
}

/** Time answers are paged here (the SQL paged the others). */
function page(q: Query, rows: QueryResultRow[], sqlPaged: boolean): { rows: QueryResultRow[]; total?: number } {
  if (sqlPaged) return { rows };
  const offset = q.offset ?? 0;
  return { rows: rows.slice(offset, offset + (q.limit ?? QUERY_LIMITS.limit)), total: rows.length };
}
