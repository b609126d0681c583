/**
 * A share link's fixed filter on live tiles (README "Share links", docs/realtime.md "Share
 * links"). A realtime or board link watches its view's tiles with the filter ANDed into every
 * tile, and only where the live count stays what `POST /api/v1/query` answers for the same
 * filter — the dashboard uses this to know which tiles a filtered link shows, the server to
 * decide what the link's socket watches.
 *
 * A live tile reads each condition on the event row it counts. That agrees with the query
 * model when the condition's dimension is on that row as the query model reads it:
 *  - place, device and profile id (`geo:*`, `device:*`, `profile:id`): on every row — any tile;
 *  - event dimensions (`event:name`, `event:path`, `event:props:*`): on each event — tiles
 *    counting events (events, page views, revenue, property sums, the feed, the map, funnels),
 *    but not visits: with an event condition the query model counts visits *with a matching
 *    event*, a distinct count ticks cannot add up;
 *  - visit dimensions (`session:*`, the entry page, source, campaign): on the visit's first
 *    event only — tiles counting visits (`sessions`), not events (the query model gives every
 *    event of the visit its source; a later page view does not carry it);
 *  - profile properties, the exit page, time: on no live row — no tile.
 * Visitors online and active (presence) are whole-project counts of devices: a filtered link
 * does not show them rather than show numbers outside its filter.
 */
import type { TileSpec } from './live-tiles.ts';
import { conditionsOf, type FilterTree } from './query.ts';

export type DimensionScope = 'event' | 'session' | 'any' | 'profile' | 'time' | 'ended';

/** Where a dimension's value lives, from its name (the query model's scopes; `ended`: known once the visit has ended). */
export function dimensionScope(name: string): DimensionScope {
  if (name === 'session:exit_path') return 'ended';
  if (name.startsWith('event:')) return 'event';
  if (name.startsWith('session:')) return 'session';
  if (name.startsWith('profile:props:')) return 'profile';
  if (name.startsWith('time:')) return 'time';
  return 'any';
}

/** Why a fixed filter cannot be put on a live (realtime or board) link at all, or null. */
export function liveFilterProblem(filter: readonly FilterTree[]): string | null {
  for (const c of conditionsOf([...filter])) {
    const scope = dimensionScope(c[1]);
    if (scope === 'profile' || scope === 'time' || scope === 'ended') return `${c[1]} cannot be evaluated on a live event; share the overview instead`;
  }
  return null;
}

export type FilteredTile = { ok: true; spec: TileSpec } | { ok: false; message: string };

/** `spec` with the fixed `filter` ANDed in (funnels: into every step), or why the live view cannot show that tile under it. */
export function withShareFilter(spec: TileSpec, filter: readonly FilterTree[]): FilteredTile {
  if (filter.length === 0) return { ok: true, spec };
  if (spec.kind === 'online' || spec.kind === 'active') {
    return { ok: false, message: 'Visitors online and active are counted over the whole project; a link with a fixed filter does not show them' };
  }
  const visits = 'metric' in spec && spec.metric === 'sessions';
  for (const c of conditionsOf([...filter])) {
    const scope = dimensionScope(c[1]);
    if (scope === 'any') continue;
    if (scope === 'event' && !visits) continue;
    if (scope === 'session' && visits) continue;
    if (scope === 'event')
      return { ok: false, message: `Visits cannot be counted live under a filter on ${c[1]} (a visit with a matching event is a distinct count)` };
    if (scope === 'session') return { ok: false, message: `Events cannot be counted live under a filter on ${c[1]} (only a visit's first event carries it)` };
    return { ok: false, message: `${c[1]} cannot be evaluated on a live event` };
  }
  if (spec.kind === 'funnel') return { ok: true, spec: { ...spec, steps: spec.steps.map((s) => ({ ...s, filters: and(s.filters, filter, 10) })) } };
  return { ok: true, spec: { ...spec, filters: and(spec.filters ?? [], filter, 20) } };
}

/** `own` AND `filter` as one filter list of at most `max` entries (what a tile spec holds: shared/live-tiles.ts), so every node parses it alike. */
function and(own: readonly FilterTree[], filter: readonly FilterTree[], max: number): FilterTree[] {
  return own.length < max ? [...own, ['and', [...filter]]] : [['and', [...own, ...filter]]];
}
