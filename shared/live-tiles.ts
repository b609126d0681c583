/**
 * Live tiles: the wire contract of the numbers a realtime page or a board shows, on the live
 * channel (shared/live.ts). A tile is a small query-model query (metric, dimension, filters,
 * window) that every ingest node can evaluate row by row as events are accepted, so a screen
 * watching it costs the same at 10 or 10,000 events per second. Design note: docs/realtime.md.
 *
 * Time axis: tiles place an event by the instant the server received it (`received_at`), and
 * so does the backfill. That is what makes the seam exact: a row is stamped before it can reach
 * any tile, so "received before the watermark" (backfill) and "received at or after it"
 * (ticks) split every event into exactly one side. (The query model places events by
 * `created_at`; the two agree unless an SDK sends timestamps of events it queued offline.)
 *
 * Flow:
 *  1. The dashboard (already in the project's room) sends `tiles:subscribe` with its tiles.
 *  2. The ack gives, per tile, its `key` (tiles with the same spec share one key and one
 *     aggregation) and the `watermark` W: a whole-second instant, in the near future when the
 *     ack is sent, from which ticks carry the tile.
 *  3. Ticks (`tick.tiles[key]`) carry deltas bucketed by the received second. The client adds
 *     only buckets whose second is ≥ W (the rest belongs to the backfill).
 *  4. `tiles:backfill` arrives once the store holds everything received before W: the tile's
 *     value over its window, up to W (excluded), in minute buckets. The client adds it.
 *  Totals = backfill + Σ tick buckets ≥ W: no gap, nothing twice.
 */
import { z } from 'zod';
import { ErrorCode } from './errors.ts';
import { Dimension, FilterTree } from './query.ts';

export const LIVE_TILE_LIMITS = {
  /** Tiles one socket may watch (over all its projects). */
  perSocket: 64,
  /** Distinct tile specs a project's nodes aggregate at once (over every screen watching it). */
  perProject: 256,
  /** Rows a `top` tile returns / keys a top delta carries per tick (past it: `(other)`). */
  top: 50,
  /** Longest sliding window, minutes. */
  minutes: 60,
  /** Furthest back a `since` tile may start (ms): one day. */
  sinceMs: 86_400_000,
  /** Steps of a live funnel. */
  funnelSteps: 5,
  /** Events a feed tile keeps. */
  feed: 50,
  /** Map points a geo tile keeps. */
  geo: 500,
  /** Seconds a `rate` tile's backfill gives per second (just before its watermark: the per-second bars). */
  rateSeconds: 60,
} as const;

/** Key of the bucket a delta counts under when a tile's per-tick key budget is spent. */
export const TILE_OTHER_KEY = '(other)';

const PROPERTY_KEY = /^sum:.{1,200}$/s;
/**
 * What a counting tile adds up: additive query-model metrics only (distinct counts such as
 * `visitors` do not add up across ticks; online/active visitors come from presence).
 * `sessions` counts visits started (their session_start events); `sum:<key>` sums an event
 * property read as a number (absent or non-numeric values are left out).
 */
export const TileMetric = z.union([
  z.enum(['events', 'pageviews', 'sessions', 'revenue']),
  z.string().regex(PROPERTY_KEY, 'events, pageviews, sessions, revenue or sum:<property key>'),
]);
export type TileMetric = z.infer<typeof TileMetric>;

const Filters = z.array(FilterTree).max(20).optional();
/** Sliding window: the last `minutes` whole minutes, the current one included. */
const Minutes = z.number().int().min(1).max(LIVE_TILE_LIMITS.minutes);
/** Fixed start: an instant (ISO 8601 with offset, or epoch ms), at most a day back. */
const Since = z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]);

/**
 * A tile spec. Filters are query-model filter trees (shared/query.ts) over dimensions a single
 * event row can tell (not profile properties, not the exit page). Counting tiles take either a
 * fixed start (`since`) or a sliding window (`minutes`), never both.
 */
export const TileSpec = z.discriminatedUnion('kind', [
  /** One number: `metric` over matching events since `since` ("signups since 09:00"); goal and pace are the client's. */
  z.strictObject({ kind: z.literal('total'), metric: TileMetric, filters: Filters, since: Since }),
  /** Per-minute series of `metric` over the last `minutes` minutes (a sparkline; events/s = per-minute / 60). */
  z.strictObject({ kind: z.literal('rate'), metric: TileMetric, filters: Filters, minutes: Minutes }),
  /** The top `limit` values of `dimension` by `metric` over the window (top pages, referrers, countries…). */
  z.strictObject({
    kind: z.literal('top'),
    metric: TileMetric,
    dimension: Dimension,
    filters: Filters,
    limit: z.number().int().min(1).max(LIVE_TILE_LIMITS.top).default(10),
    minutes: Minutes.optional(),
    since: Since.optional(),
  }),
  /**
   * Visits that did step 1, then step 2, … within the same visit (session), counted when they
   * reach each step, over the window. Each step is a filter list matching the step's events.
   */
  z.strictObject({
    kind: z.literal('funnel'),
    steps: z
      .array(z.strictObject({ label: z.string().max(100).optional(), filters: z.array(FilterTree).min(1).max(10) }))
      .min(2)
      .max(LIVE_TILE_LIMITS.funnelSteps),
    minutes: Minutes.optional(),
    since: Since.optional(),
  }),
  /** The most recent matching events with their properties (the live feed); excludes session_start/session_end. */
  z.strictObject({ kind: z.literal('feed'), filters: Filters, limit: z.number().int().min(1).max(LIVE_TILE_LIMITS.feed).default(20) }),
  /** Recent located events as map points (one per device per tick), over the last `minutes`. */
  z.strictObject({ kind: z.literal('geo'), filters: Filters, minutes: Minutes.default(5) }),
  /** Built-in: visitors online now (distinct devices with an open SDK socket). Values come in `presence`. */
  z.strictObject({ kind: z.literal('online') }),
  /** Built-in: visitors active in the last 5 minutes (distinct devices with an event). Values come in `presence`. */
  z.strictObject({ kind: z.literal('active') }),
]);
export type TileSpec = z.infer<typeof TileSpec>;
export type TileSpecInput = z.input<typeof TileSpec>;
export type TileKind = TileSpec['kind'];

/** Tile kinds whose values arrive in `presence`, not in ticks or backfills. */
export const PRESENCE_TILE_KINDS: readonly TileKind[] = ['online', 'active'];

/** One event of a feed tile. */
export const TileFeedEvent = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  country: z.string(),
  city: z.string(),
  browser: z.string(),
  os: z.string(),
  device: z.string(),
  referrer_name: z.string(),
  profile_id: z.string(),
  /** Flattened event properties (dotted keys, string values), as stored. */
  properties: z.record(z.string(), z.string()),
  /** UTC 'YYYY-MM-DD hh:mm:ss.sss', as stored. */
  created_at: z.string(),
  /** When the server received it (epoch ms). */
  received: z.number().int(),
});
export type TileFeedEvent = z.infer<typeof TileFeedEvent>;

export const TileGeoPoint = z.object({ lat: z.number(), lon: z.number(), country: z.string() });
export type TileGeoPoint = z.infer<typeof TileGeoPoint>;

/**
 * A tile's value in one bucket, by kind: `total`/`rate` a number; `top` counts by dimension
 * value; `funnel` visits reaching each step (one number per step); `feed` events, oldest
 * first; `geo` points.
 */
export const TileValue = z.union([z.number(), z.record(z.string(), z.number()), z.array(z.number()), z.array(TileFeedEvent), z.array(TileGeoPoint)]);
export type TileValue = z.infer<typeof TileValue>;

/** `[bucket start (epoch ms), value]`. Tick buckets are whole seconds; backfill buckets whole minutes. */
export const TileBucket = z.tuple([z.number().int(), TileValue]);
export type TileBucket = z.infer<typeof TileBucket>;

/** A tile a client asks for: its own id (unique on the socket) and the spec. */
export const TileRequest = z.object({ id: z.string().min(1).max(64), spec: TileSpec });
export type TileRequest = z.infer<typeof TileRequest>;

/** Body of `tiles:subscribe`: add (or replace, by id) these tiles of one project. */
export const TilesSubscribe = z.object({ projectId: z.string().min(1).max(64), tiles: z.array(TileRequest).min(1).max(LIVE_TILE_LIMITS.perSocket) });
export type TilesSubscribe = z.infer<typeof TilesSubscribe>;

/** Body of `tiles:unsubscribe`: stop these tile ids (absent: every tile of the project on this socket). */
export const TilesUnsubscribe = z.object({
  projectId: z.string().min(1).max(64),
  ids: z.array(z.string().min(1).max(64)).max(LIVE_TILE_LIMITS.perSocket).optional(),
});
export type TilesUnsubscribe = z.infer<typeof TilesUnsubscribe>;

/** One accepted tile in a `tiles:subscribe` answer. */
export const TileAccepted = z.object({
  id: z.string(),
  /** Shared aggregation key: `tick.tiles[key]`, `tiles:backfill.key`. */
  key: z.string(),
  /** Whole-second instant (epoch ms): ticks count buckets ≥ it; the backfill everything before it. Absent for presence tiles. */
  watermark: z.number().int().optional(),
});
export type TileAccepted = z.infer<typeof TileAccepted>;

export const TilesSubscribeResult = z.union([
  z.object({ ok: z.literal(true), tiles: z.array(TileAccepted) }),
  z.object({ ok: z.literal(false), code: ErrorCode, message: z.string(), /** Index of the offending tile, when one is. */ index: z.number().int().optional() }),
]);
export type TilesSubscribeResult = z.infer<typeof TilesSubscribeResult>;

/** Server → client: a tile's value over its window before its watermark (answered from the store). */
export const TileBackfill = z.object({
  projectId: z.string(),
  id: z.string(),
  key: z.string(),
  watermark: z.number().int(),
  /**
   * Minute buckets (received time) from the window's start up to the watermark; a `since`
   * tile's first bucket starts at `since`. Feed and geo: one bucket holding the latest items.
   */
  buckets: z.array(TileBucket),
  /**
   * `rate` tiles: buckets from this instant on are whole seconds (the last
   * LIVE_TILE_LIMITS.rateSeconds before the watermark), so per-second bars start full, not at zero.
   */
  secondsFrom: z.number().int().optional(),
  /** False when the store could not answer (then `buckets` is empty and the tile counts from W only). */
  ok: z.boolean(),
});
export type TileBackfill = z.infer<typeof TileBackfill>;

/** `tick.tiles`: per tile key, this node's deltas bucketed by received second. */
export const TickTiles = z.record(z.string(), z.array(TileBucket));
export type TickTiles = z.infer<typeof TickTiles>;

/** The realtime page's built-in figures, as tiles (ids are the page's). */
export const REALTIME_PAGE_TILES: readonly TileRequest[] = [
  { id: 'online', spec: { kind: 'online' } },
  { id: 'active', spec: { kind: 'active' } },
  { id: 'events-per-minute', spec: { kind: 'rate', metric: 'events', minutes: 30 } },
  { id: 'pages', spec: { kind: 'top', metric: 'pageviews', dimension: 'event:path', limit: 10, minutes: 30 } },
  { id: 'referrers', spec: { kind: 'top', metric: 'sessions', dimension: 'session:referrer_name', limit: 10, minutes: 30 } },
  { id: 'campaigns', spec: { kind: 'top', metric: 'sessions', dimension: 'session:utm_campaign', limit: 10, minutes: 30 } },
  { id: 'countries', spec: { kind: 'top', metric: 'events', dimension: 'geo:country', limit: 50, minutes: 30 } },
  { id: 'devices', spec: { kind: 'top', metric: 'sessions', dimension: 'device:type', limit: 10, minutes: 30 } },
  { id: 'map', spec: { kind: 'geo', minutes: 5 } },
  { id: 'feed', spec: { kind: 'feed', limit: 50 } },
];
