/**
 * A board's live tiles: which tile requests (shared/live-tiles.ts) a board layout
 * (shared/boards.ts) watches at a given instant — "since 09:00" resolved in the project's zone —
 * and the realtime page as a built-in board. The dashboard subscribes exactly these; the server
 * checks a share link's socket against them (a share watches its own view only).
 */
import { type BoardLayout, BoardLayout as BoardLayoutSchema, type BoardSince, type BoardTile } from './boards.ts';
import { LIVE_TILE_LIMITS, type TileRequest } from './live-tiles.ts';
import type { FilterTree } from './query.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

// ---- time of day in a zone -------------------------------------------------------------------

/** Offset of `zone` from UTC at `instant`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(instant: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The latest instant ≤ `now` whose wall-clock time in `zone` is `hhmm` (today's, or yesterday's before that time). */
export function latestTimeOfDay(hhmm: string, zone: string, now: number): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const local = new Date(now + zoneOffsetMs(now, zone));
  for (const back of [0, 1]) {
    const wall = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - back, h, m);
    // Wall time → instant: subtract the offset in force then (checked twice around DST changes).
    let t = wall - zoneOffsetMs(wall, zone);
    t = wall - zoneOffsetMs(t, zone);
    if (t <= now) return t;
  }
  return now - DAY;
}

/** Where a big number counts from, as an instant (`at` clamped to the live channel's one-day reach, by the hour). */
export function sinceInstant(since: BoardSince, zone: string, now: number): number {
  if (since.kind === 'time') return latestTimeOfDay(since.time, zone, now);
  // Clamped to the hour, so the request stays the same (no re-subscribing) within the hour.
  if (since.kind === 'at') return Math.max(Date.parse(since.at), Math.floor(now / HOUR) * HOUR - LIVE_TILE_LIMITS.sinceMs + HOUR);
  return now - since.minutes * MINUTE;
}

// ---- tiles → live tile requests ------------------------------------------------------------

/** Minutes of per-minute history behind a big number's pace and spike detection. */
export const PACE_WINDOW_MINUTES = 60;

/** Request ids of a board tile (a big number also watches its per-minute rate). */
export const requestId = {
  main: (t: BoardTile) => t.id,
  rate: (t: BoardTile) => `${t.id}.rate`,
  online: (t: BoardTile) => `${t.id}.online`,
  active: (t: BoardTile) => `${t.id}.active`,
};

const filters = (f: FilterTree[]) => (f.length > 0 ? { filters: f } : {});

/**
 * The live tiles a board watches at `now` (its "since 09:00" resolved in `zone`). Identical
 * requests at two instants of the same day: the driver re-subscribes only what changed.
 */
export function boardRequests(layout: BoardLayout, zone: string, now: number): TileRequest[] {
  const out: TileRequest[] = [];
  for (const t of layout.tiles) {
    switch (t.type) {
      case 'number':
        if (t.since.kind === 'minutes') {
          out.push({ id: requestId.main(t), spec: { kind: 'rate', metric: t.metric, ...filters(t.filters), minutes: t.since.minutes } });
        } else {
          out.push({ id: requestId.main(t), spec: { kind: 'total', metric: t.metric, ...filters(t.filters), since: sinceInstant(t.since, zone, now) } });
        }
        out.push({ id: requestId.rate(t), spec: { kind: 'rate', metric: t.metric, ...filters(t.filters), minutes: PACE_WINDOW_MINUTES } });
        break;
      case 'sparkline':
        out.push({ id: requestId.main(t), spec: { kind: 'rate', metric: t.metric, ...filters(t.filters), minutes: t.minutes } });
        break;
      case 'top':
        out.push({
          id: requestId.main(t),
          spec: { kind: 'top', metric: t.metric, dimension: t.dimension, ...filters(t.filters), limit: t.limit, minutes: t.minutes },
        });
        break;
      case 'map':
        out.push({ id: requestId.main(t), spec: { kind: 'geo', ...filters(t.filters), minutes: t.minutes } });
        break;
      case 'feed':
        out.push({ id: requestId.main(t), spec: { kind: 'feed', ...filters(t.filters), limit: t.limit } });
        break;
      case 'funnel':
        out.push({
          id: requestId.main(t),
          spec: { kind: 'funnel', steps: t.steps.map((s) => ({ ...(s.label ? { label: s.label } : {}), filters: s.filters })), minutes: t.minutes },
        });
        break;
      case 'visitors':
        out.push({ id: requestId.online(t), spec: { kind: 'online' } }, { id: requestId.active(t), spec: { kind: 'active' } });
        break;
    }
  }
  return out;
}

/**
 * The realtime page, as a built-in board: visitors online and active, events per second and per
 * minute, top pages, referrers, UTM campaigns, countries and devices over the last 30 minutes,
 * the live map and the feed. What a realtime share link's socket may watch is exactly
 * `boardRequests(REALTIME_LAYOUT)` (server/auth/share-view.ts); `REALTIME_PAGE_TILES` in
 * shared/live-tiles.ts is the benchmark's approximation of it (some list lengths differ).
 */
export const REALTIME_LAYOUT: BoardLayout = BoardLayoutSchema.parse({
  highlights: false,
  tiles: [
    { id: 'visitors', type: 'visitors' },
    { id: 'events-per-second', type: 'sparkline', title: 'Events per second', per: 'second' },
    { id: 'events', type: 'sparkline', title: 'Events per minute · last 30 min' },
    { id: 'devices', type: 'top', metric: 'sessions', dimension: 'device:type', limit: 5 },
    { id: 'pages', type: 'top', metric: 'pageviews', dimension: 'event:path', limit: 10, h: 2 },
    { id: 'referrers', type: 'top', metric: 'sessions', dimension: 'session:referrer_name', limit: 10, h: 2 },
    { id: 'countries', type: 'top', metric: 'events', dimension: 'geo:country', limit: 10, h: 2 },
    { id: 'campaigns', type: 'top', metric: 'sessions', dimension: 'session:utm_campaign', limit: 10, h: 2 },
    { id: 'map', type: 'map', w: 2, h: 3 },
    { id: 'feed', type: 'feed', limit: 50, w: 2, h: 3 },
  ],
});
