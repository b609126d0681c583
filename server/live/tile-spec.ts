/**
 * Resolves a tile spec (shared/live-tiles.ts) against the query-model registry once: the row
 * predicate of its filters, what one row adds (the metric), the dimension it groups by, its
 * window, and a key shared by every screen asking for the same spec. The same resolution
 * drives the nodes' incremental aggregation (tiles.ts) and the store backfill
 * (tile-backfill.ts), so both count exactly the same rows the same way.
 */
import { createHash } from 'node:crypto';
import { LIVE_TILE_LIMITS, PRESENCE_TILE_KINDS, type TileSpec } from '../../shared/live-tiles.ts';
import type { Condition, FilterTree } from '../../shared/query.ts';
import type { EventRow } from '../../shared/rows.ts';
import { RESERVED_EVENTS } from '../../shared/track.ts';
import { type DimensionDef, dimension } from '../stats/dimensions.ts';
import { rowPredicate } from '../stats/filters.ts';
import { invalidQuery } from '../stats/invalid.ts';
import { metric } from '../stats/metrics.ts';

/** Events older (by their own timestamp) than this before they arrived are left out of tiles, live and backfilled alike. */
export const TILE_MAX_LATENESS_MS = 86_400_000;
const DEFAULT_MINUTES = 30;

export interface ResolvedTile {
  key: string;
  spec: TileSpec;
  kind: TileSpec['kind'];
  /** The spec's filters (feed: without Livepanel's own session events). */
  filters: FilterTree[];
  /** Whether a row belongs to the tile at all (filters). */
  match: (r: EventRow) => boolean;
  /** What a matching row adds (counting kinds). */
  weight?: (r: EventRow) => number;
  /** SQL of the metric's sum over matching rows (counting kinds). */
  metricSql?: string;
  /** Metric name (counting kinds). */
  metric?: string;
  /** Grouping dimension (`top`). */
  dim?: DimensionDef;
  /** Funnel steps: a predicate and the filters of each. */
  steps?: Array<{ match: (r: EventRow) => boolean; filters: FilterTree[] }>;
  /** Fixed start (epoch ms), or undefined for a sliding window. */
  since?: number;
  /** Sliding window in minutes (when `since` is undefined). */
  minutes?: number;
  /** Items kept (`top` rows, feed events). */
  limit?: number;
}

/** Stable JSON: object keys sorted, so equal specs give equal keys. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
/** An event property read as a number the way ClickHouse's toFloat64OrNull reads it (0 when it is not one). */
export function propertyNumber(v: string | undefined): number {
  if (v === undefined || !NUMBER.test(v)) return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function resolveMetric(name: string): { weight: (r: EventRow) => number; sql: (bind: (v: string) => string) => string } {
  if (name.startsWith('sum:')) {
    const key = name.slice(4);
    return { weight: (r) => propertyNumber(r.properties[key]), sql: (bind) => `sum(ifNull(toFloat64OrNull(properties[${bind(key)}]), 0))` };
  }
  const def = metric(name);
  if (!def?.live) throw invalidQuery(`metric ${name} cannot be counted live`);
  const sql: Record<string, string> = {
    events: `countIf(name NOT IN ('${RESERVED_EVENTS.sessionStart}', '${RESERVED_EVENTS.sessionEnd}'))`,
    pageviews: `countIf(name = '${RESERVED_EVENTS.screenView}')`,
    sessions: `countIf(name = '${RESERVED_EVENTS.sessionStart}')`,
    revenue: 'sum(revenue)',
  };
  if (!sql[name]) throw invalidQuery(`metric ${name} cannot be counted live`);
  return { weight: def.live, sql: () => sql[name]! };
}

/** The spec with `since` as epoch ms (ISO and epoch forms of one instant are one tile). */
function normalised(spec: TileSpec): TileSpec {
  return 'since' in spec && spec.since !== undefined ? { ...spec, since: typeof spec.since === 'number' ? spec.since : Date.parse(spec.since) } : spec;
}

/** The key every screen watching `spec` shares (what `resolveTile` gives it), without checking the spec can be evaluated. */
export function tileKey(spec: TileSpec): string {
  return createHash('sha1')
    .update(canonical(normalised(spec)))
    .digest('base64url')
    .slice(0, 16);
}

const SYNTHETIC: Condition = ['is_not', 'event:name', [RESERVED_EVENTS.sessionStart, RESERVED_EVENTS.sessionEnd]];

/**
 * Resolves a parsed spec; throws AppError `invalid_query` when a node cannot evaluate it row by
 * row (profile properties, the exit page, time dimensions) or `since` is out of bounds.
 */
export function resolveTile(spec: TileSpec, now = Date.now()): ResolvedTile {
  const norm = normalised(spec);
  const key = tileKey(norm);
  const base = { key, spec: norm, kind: norm.kind };
  if (PRESENCE_TILE_KINDS.includes(norm.kind)) return { ...base, filters: [], match: () => false };

  let since: number | undefined;
  let minutes: number | undefined;
  if ('since' in norm && norm.since !== undefined) {
    since = norm.since as number;
    if (!Number.isFinite(since) || since < now - LIVE_TILE_LIMITS.sinceMs || since > now + 86_400_000) {
      throw invalidQuery(`since must lie within the last ${LIVE_TILE_LIMITS.sinceMs / 3_600_000} hours`);
    }
  } else if ('minutes' in norm) minutes = norm.minutes ?? DEFAULT_MINUTES;
  else if (norm.kind !== 'feed') minutes = DEFAULT_MINUTES;

  const filters = [...(('filters' in norm && norm.filters) || [])];
  if (norm.kind === 'feed' || norm.kind === 'geo') filters.push(SYNTHETIC);
  const match = rowPredicate(filters);
  const out: ResolvedTile = { ...base, filters, match, since, minutes };

  if ('metric' in norm) {
    const m = resolveMetric(norm.metric);
    out.metric = norm.metric;
    out.weight = m.weight;
  }
  if (norm.kind === 'top') {
    const d = dimension(norm.dimension);
    if (!d?.row || !d.events || d.scope === 'time') throw invalidQuery(`${norm.dimension} cannot be evaluated on a live event`);
    out.dim = d;
    out.limit = norm.limit;
  }
  if (norm.kind === 'feed') out.limit = norm.limit;
  if (norm.kind === 'funnel') out.steps = norm.steps.map((s) => ({ match: rowPredicate(s.filters), filters: s.filters }));
  return out;
}

/** SQL of a resolved counting tile's metric, binding through `bind`. */
export function metricSql(t: ResolvedTile, bind: (v: string) => string): string {
  return resolveMetric(t.metric!).sql(bind);
}

/**
 * A funnel tile's shape for the progress store: its steps and the longest time from a chain's
 * step 1 to its last step (a `since` funnel: a day, as far back as it may start; a sliding one:
 * its window), the `window` of ClickHouse's windowFunnel that the store's backfill replays.
 */
export function funnelShape(t: ResolvedTile): { steps: number; windowMs: number } {
  return { steps: t.steps!.length, windowMs: t.since !== undefined ? TILE_MAX_LATENESS_MS : (t.minutes ?? DEFAULT_MINUTES) * 60_000 };
}

/** Where a funnel tile's progress lives in the FunnelProgress store. */
export const funnelScope = (projectId: string, key: string) => `${encodeURIComponent(projectId)}:${key}`;

/** Bit k set when row `r` matches step k+1 of funnel `t`. */
export function funnelMask(t: ResolvedTile, r: EventRow): number {
  let mask = 0;
  for (let i = 0; i < t.steps!.length; i++) if (t.steps![i]!.match(r)) mask |= 1 << i;
  return mask;
}
