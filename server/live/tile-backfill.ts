/**
 * A tile's backfill: its value over its window for the rows received before a watermark,
 * answered by the store (minute buckets; a `rate` tile's last minute before the watermark per
 * second, the finest the stored rows tell, so its per-second bars do not start at zero). The SQL is built from the same registry entries the query compiler
 * uses (dimension expressions, filter operators) and the same resolution as the live
 * aggregation (tile-spec.ts), over raw `events` rows placed by `received_at`.
 *
 * When to answer: rows received before W are still on their way to the store for a moment
 * (request, queue, writer). The backfill reads once W plus `settleMs` has passed, then again
 * every `stableMs` until two reads agree, which they do once the writer has stored every row
 * received before W (rows stamped before W stop arriving once their requests end).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LIVE_TILE_LIMITS, type TileBucket, type TileFeedEvent } from '../../shared/live-tiles.ts';
import type { Condition } from '../../shared/query.ts';
import { emptyState, type FunnelState, stepFunnel } from '../engines/funnel-progress.ts';
import { dimensionOf, positiveSql, treeSql } from '../stats/filters.ts';
import { invalidQuery } from '../stats/invalid.ts';
import { Params } from '../stats/sql.ts';
import type { ClickHouseClient } from '../store/clickhouse.ts';
import { funnelShape, metricSql, type ResolvedTile, TILE_MAX_LATENESS_MS } from './tile-spec.ts';

const MINUTE = 60_000;
/** How far a row's own time may lie after its arrival (the timestamp step's future skew). */
const FUTURE_SKEW_MS = 61_000;
/** A feed's backfill looks this far back. */
const FEED_LOOKBACK_MS = 30 * MINUTE;

/** Where a `rate` tile's backfill up to `watermark` switches from minute to second buckets. */
export const secondsFrom = (watermark: number) => watermark - LIVE_TILE_LIMITS.rateSeconds * 1000;

/** Start of the tile's window as seen at `at` (the watermark). */
export function windowStart(t: ResolvedTile, at: number): number {
  if (t.since !== undefined) return t.since;
  if (t.minutes !== undefined) return at - (at % MINUTE) - (t.minutes - 1) * MINUTE;
  return at - FEED_LOOKBACK_MS;
}

/** The SQL and parameters answering tile `t` of `projectId` for rows received in [from, to). */
export function backfillSql(projectId: string, t: ResolvedTile, from: number, to: number): { sql: string; params: Record<string, unknown> } {
  const p = new Params();
  const bind = (v: string) => p.bind(v);
  const where = [
    `project_id = ${p.bind(projectId)}`,
    `received_at >= ${p.time(from)}`,
    `received_at < ${p.time(to)}`,
    // The sort key is on created_at: bound it (rows arriving later than the lateness bound are left out live too).
    `created_at >= ${p.time(from - TILE_MAX_LATENESS_MS)}`,
    `created_at < ${p.time(to + FUTURE_SKEW_MS)}`,
    `created_at >= received_at - toIntervalMillisecond(${TILE_MAX_LATENESS_MS})`,
  ];
  const cond = (trees: ResolvedTile['filters']) =>
    treeSql(trees, (c: Condition, op) => {
      const def = dimensionOf(c);
      if (!def.events || !def.row) throw invalidQuery(`${c[1]} cannot be evaluated on a live event`);
      return positiveSql(op, def.events(p), c[2], c[3]?.case_sensitive ?? true, p);
    });
  const f = cond(t.filters);
  if (f) where.push(f);
  const W = `\nFROM events\nWHERE ${where.join('\n  AND ')}`;
  const minute = `intDiv(toUnixTimestamp64Milli(received_at), ${MINUTE}) * ${MINUTE}`;
  let bucket = t.since !== undefined ? `toInt64(${p.bind(String(t.since))})` : minute;
  // A rate's last seconds before `to` (its watermark) per second: the per-second bars start full.
  if (t.kind === 'rate')
    bucket = `if(toUnixTimestamp64Milli(received_at) >= ${secondsFrom(to)}, intDiv(toUnixTimestamp64Milli(received_at), 1000) * 1000, ${minute})`;
  let sql: string;
  switch (t.kind) {
    case 'total':
    case 'rate':
      sql = `SELECT toString(${bucket}) AS b, ${metricSql(t, bind)} AS v${W}\nGROUP BY b HAVING v != 0 ORDER BY b`;
      break;
    case 'top':
      sql = `SELECT toString(${bucket}) AS b, ${t.dim!.events!(p)} AS k, ${metricSql(t, bind)} AS v${W}\nGROUP BY b, k HAVING v != 0 ORDER BY b, v DESC LIMIT 500 BY b`;
      break;
    case 'funnel': {
      // Each visit's step rows (received ms, bit k = step k+1), replayed by funnelStates with windowFunnel's rule.
      const mask = t.steps!.map((s, k) => `(toUInt8(${cond(s.filters) || '1'}) * ${1 << k})`).join(' + ');
      sql = `SELECT session_id AS s, groupArray((toString(toUnixTimestamp64Milli(received_at)), m)) AS ev FROM (SELECT session_id, received_at, ${mask} AS m${W} AND session_id != '') WHERE m != 0\nGROUP BY session_id`;
      break;
    }
    case 'feed':
      sql = `SELECT id, name, path, country, city, browser, os, device, referrer_name, profile_id, properties, toString(created_at) AS created_at, toString(toUnixTimestamp64Milli(received_at)) AS received${W}\nORDER BY received_at DESC LIMIT ${t.limit!}`;
      break;
    case 'geo':
      sql = `SELECT toString(${minute}) AS b, latitude AS lat, longitude AS lon, country${W} AND latitude IS NOT NULL AND longitude IS NOT NULL\nORDER BY received_at DESC LIMIT 1 BY b, device_id LIMIT 500`;
      break;
    default:
      throw invalidQuery(`${t.kind} tiles have no backfill`);
  }
  return { sql, params: p.values };
}

type Row = Record<string, unknown>;

/** Turns the backfill's rows into buckets (see TileBackfill in shared/live-tiles.ts). */
export function toBuckets(t: ResolvedTile, rows: Row[], from: number): TileBucket[] {
  switch (t.kind) {
    case 'total':
    case 'rate':
      return rows.map((r) => [Number(r.b), Number(r.v)]);
    case 'top': {
      const by = new Map<number, Record<string, number>>();
      for (const r of rows) {
        const b = Number(r.b);
        let m = by.get(b);
        if (!m) {
          m = {};
          by.set(b, m);
        }
        m[String(r.k)] = Number(r.v);
      }
      return [...by];
    }
    case 'funnel':
      return funnelStates(t, rows, from).buckets;
    case 'feed': {
      const events: TileFeedEvent[] = rows.reverse().map((r) => ({
        id: String(r.id),
        name: String(r.name),
        path: String(r.path),
        country: String(r.country),
        city: String(r.city),
        browser: String(r.browser),
        os: String(r.os),
        device: String(r.device),
        referrer_name: String(r.referrer_name),
        profile_id: String(r.profile_id),
        properties: (r.properties ?? {}) as Record<string, string>,
        created_at: String(r.created_at),
        received: Number(r.received),
      }));
      return events.length ? [[from, events]] : [];
    }
    case 'geo': {
      const by = new Map<number, Array<{ lat: number; lon: number; country: string }>>();
      for (const r of rows.reverse()) {
        const b = Number(r.b);
        let list = by.get(b);
        if (!list) {
          list = [];
          by.set(b, list);
        }
        list.push({ lat: Number(r.lat), lon: Number(r.lon), country: String(r.country) });
      }
      return [...by].sort((a, b) => a[0] - b[0]);
    }
    default:
      return [];
  }
}

/**
 * A funnel's answer from its visits' step rows: visits reaching each step, in the minute they
 * reached it (a `since` funnel: one bucket at `since`), for steps reached from `from` on; and
 * every visit's progress at the end (the seed of the tile's live progress). Steps are replayed
 * in time order (conditions of one row lowest first) with the rule of ClickHouse's windowFunnel.
 */
export function funnelStates(t: ResolvedTile, rows: Row[], from: number): { buckets: TileBucket[]; states: Array<[string, FunnelState]> } {
  const shape = funnelShape(t);
  const by = new Map<number, number[]>();
  const states: Array<[string, FunnelState]> = [];
  for (const r of rows) {
    const steps: Array<[number, number]> = [];
    for (const [at, m] of r.ev as Array<[string, number]>) for (let k = 0; k < shape.steps; k++) if (Number(m) & (1 << k)) steps.push([Number(at), k]);
    steps.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const s = emptyState(shape.steps);
    for (const [at, k] of steps) {
      const before = s.level;
      stepFunnel(s, 1 << k, at, shape);
      if (s.level === before || at < from) continue;
      const b = t.since !== undefined ? t.since : at - (at % MINUTE);
      let counts = by.get(b);
      if (!counts) {
        counts = new Array<number>(shape.steps).fill(0);
        by.set(b, counts);
      }
      for (let i = before; i < s.level; i++) counts[i]!++;
    }
    if (s.starts[0]! >= 0) states.push([String(r.s), s]);
  }
  return { buckets: [...by].sort((a, b) => a[0] - b[0]), states };
}

/** Where a tile's backfill reads from: its window's start, or for a sliding funnel one funnel window earlier (chains that began before it). */
function readFrom(t: ResolvedTile, watermark: number): number {
  const from = windowStart(t, watermark);
  return t.kind === 'funnel' && t.since === undefined ? from - funnelShape(t).windowMs : from;
}

async function read(ch: ClickHouseClient, projectId: string, t: ResolvedTile, watermark: number): Promise<Row[]> {
  const { sql, params } = backfillSql(projectId, t, readFrom(t, watermark), watermark);
  const rs = await ch.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  return rs.json<Row>();
}

/** Reads tile `t` for rows received in [its window start, watermark). */
export async function readTile(ch: ClickHouseClient, projectId: string, t: ResolvedTile, watermark: number): Promise<TileBucket[]> {
  const from = windowStart(t, watermark);
  if (from >= watermark) return [];
  return toBuckets(t, await read(ch, projectId, t, watermark), from);
}

/** A funnel tile's backfill and its visits' progress before `watermark` (the seed of its live progress). */
export async function readFunnel(
  ch: ClickHouseClient,
  projectId: string,
  t: ResolvedTile,
  watermark: number,
): Promise<{ buckets: TileBucket[]; states: Array<[string, FunnelState]> }> {
  const from = windowStart(t, watermark);
  if (from >= watermark) return { buckets: [], states: [] };
  return funnelStates(t, await read(ch, projectId, t, watermark), from);
}

export interface BackfillTiming {
  /** Wait after the watermark before the first read (default 2500 ms: longer than the writer's flush interval). */
  settleMs?: number;
  /** Between two reads that must agree (default 1200 ms). */
  stableMs?: number;
  /** Give up agreeing after this long past the watermark, answering the last read (default 30 s). */
  maxMs?: number;
  now?: () => number;
}

/** The backfill once the store holds every row received before `watermark` (see the module comment). */
export async function settledBackfill(
  read: () => Promise<TileBucket[]>,
  watermark: number,
  timing: BackfillTiming = {},
  signal?: AbortSignal,
): Promise<TileBucket[]> {
  const now = timing.now ?? Date.now;
  const settle = timing.settleMs ?? 2500;
  const stable = timing.stableMs ?? 1200;
  const max = timing.maxMs ?? 30_000;
  const wait = watermark + settle - now();
  if (wait > 0) await sleep(wait, undefined, { signal });
  let last = JSON.stringify(await read());
  for (;;) {
    await sleep(stable, undefined, { signal });
    const next = await read();
    const s = JSON.stringify(next);
    if (s === last || now() > watermark + max) return next;
    last = s;
  }
}
