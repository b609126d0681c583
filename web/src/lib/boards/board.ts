/**
 * Boards in the dashboard: a board's tiles → the live channel's tile requests, "since 09:00"
 * in the project's zone, goal and pace math ("1,204 signups since 09:00, 68% of target,
 * +14/min"), spike detection against the last hour's rate, milestones to flash, and the
 * layout ⇄ JSON round trip of the editor. No Svelte and no sockets: unit-tested as is.
 */

import { boardRequests } from '$shared/board-tiles.ts';
import { BOARD_LIMITS, type BoardLayout, BoardLayout as BoardLayoutSchema, type BoardSince, type BoardTile, type BoardTileType } from '$shared/boards.ts';
import type { FilterTree } from '$shared/query.ts';
import { withShareFilter } from '$shared/share-view.ts';

// Tiles → live tile requests, time of day in a zone, the realtime page's layout: shared with the server, which checks a share's socket against them.
export {
  boardRequests,
  latestTimeOfDay,
  PACE_WINDOW_MINUTES,
  REALTIME_LAYOUT,
  requestId,
  sinceInstant,
  zoneOffsetMs,
} from '$shared/board-tiles.ts';

const MINUTE = 60_000;

// ---- a share link's fixed filter ------------------------------------------------------------

/**
 * The tiles of `layout` a link with the fixed `filter` shows: those whose every live tile has an
 * exact count under it (shared/share-view.ts; the server ANDs the filter in). The rest are
 * hidden rather than shown with numbers outside the filter.
 */
export function underFilter(layout: BoardLayout, filter: readonly FilterTree[] | null | undefined): { layout: BoardLayout; hidden: BoardTile[] } {
  if (!filter || filter.length === 0) return { layout, hidden: [] };
  const hidden: BoardTile[] = [];
  const tiles = layout.tiles.filter((t) => {
    const ok = boardRequests({ ...layout, tiles: [t] }, 'UTC', Date.now()).every((r) => withShareFilter(r.spec, filter).ok);
    if (!ok) hidden.push(t);
    return ok;
  });
  return { layout: { ...layout, tiles }, hidden };
}

// ---- goal, pace, spikes --------------------------------------------------------------------

/** Complete minutes the pace averages over (plus the current minute so far). */
export const PACE_MINUTES = 5;

/**
 * Per-minute pace from a per-minute series whose last entry is the current minute (started at
 * `currentMinuteStart`): the last PACE_MINUTES complete minutes plus the current one so far,
 * divided by the time they cover.
 */
export function pacePerMinute(perMinute: readonly number[], currentMinuteStart: number, now: number): number {
  if (perMinute.length === 0) return 0;
  const elapsed = Math.min(1, Math.max(0, (now - currentMinuteStart) / MINUTE));
  const full = Math.min(PACE_MINUTES, perMinute.length - 1);
  let sum = perMinute[perMinute.length - 1]!;
  for (let i = 2; i <= full + 1; i++) sum += perMinute[perMinute.length - i]!;
  const minutes = full + elapsed;
  return minutes > 0 ? sum / minutes : 0;
}

export interface GoalProgress {
  /** value / goal (may exceed 1). */
  fraction: number;
  reached: boolean;
  remaining: number;
  /** Minutes to the goal at the current pace (null when reached or not moving). */
  etaMinutes: number | null;
}

/** What a number tile shows: its count, its pace per minute, whether that pace is spiking, and its goal's progress. */
export interface NumberView {
  value: number;
  pace: number;
  spiking: boolean;
  goal?: GoalProgress;
}

export function goalProgress(value: number, goal: number, pace: number): GoalProgress {
  const remaining = Math.max(0, goal - value);
  const reached = value >= goal;
  return { fraction: goal > 0 ? value / goal : 0, reached, remaining, etaMinutes: reached || pace <= 0 ? null : remaining / pace };
}

/** A spike: the current rate at least this many times the last hour's average… */
export const SPIKE_FACTOR = 2;
/** …and at least this many per minute (a quiet metric going from 1 to 3 is not news). */
export const SPIKE_MIN_PER_MINUTE = 10;
/** The current minute counts once this much of it has passed (a few seconds say little). */
const SPIKE_MIN_ELAPSED = 0.25;

/**
 * Whether the metric is spiking: the current minute's projected rate (or, early in a minute,
 * the last complete minute) against the average of the complete minutes before it.
 */
export function isSpike(perMinute: readonly number[], currentMinuteStart: number, now: number): boolean {
  if (perMinute.length < 3) return false;
  const elapsed = (now - currentMinuteStart) / MINUTE;
  const current = elapsed >= SPIKE_MIN_ELAPSED ? perMinute[perMinute.length - 1]! / Math.min(1, elapsed) : perMinute[perMinute.length - 2]!;
  const history = elapsed >= SPIKE_MIN_ELAPSED ? perMinute.slice(0, -1) : perMinute.slice(0, -2);
  if (history.length === 0) return false;
  const mean = history.reduce((a, b) => a + b, 0) / history.length;
  return current >= SPIKE_MIN_PER_MINUTE && current >= SPIKE_FACTOR * Math.max(mean, 1);
}

export type Milestone = { kind: 'goal'; tileId: string; goal: number } | { kind: 'spike'; tileId: string; rate: number };

/**
 * Turns successive readings into milestones to flash: a goal crossed while watching (not one
 * already reached when the board opened or re-synced) and the start of a spike. One entry per
 * tile, so memory stays flat however long the board runs.
 */
export class MilestoneWatch {
  readonly #last = new Map<string, { reached: boolean; spiking: boolean }>();

  /** Forget readings (after a re-sync the first reading is a baseline again). */
  reset(): void {
    this.#last.clear();
  }

  observe(tileId: string, reading: { reached?: boolean; spiking?: boolean; goal?: number; rate?: number }): Milestone[] {
    const prev = this.#last.get(tileId);
    const now = { reached: reading.reached ?? false, spiking: reading.spiking ?? false };
    this.#last.set(tileId, now);
    if (!prev) return [];
    const out: Milestone[] = [];
    if (now.reached && !prev.reached && reading.goal !== undefined) out.push({ kind: 'goal', tileId, goal: reading.goal });
    if (now.spiking && !prev.spiking) out.push({ kind: 'spike', tileId, rate: reading.rate ?? 0 });
    return out;
  }

  /** Drops tiles no longer on the board. */
  retain(ids: Iterable<string>): void {
    const keep = new Set(ids);
    for (const id of this.#last.keys()) if (!keep.has(id)) this.#last.delete(id);
  }
}

// ---- formatting ----------------------------------------------------------------------------

const grouped = new Intl.NumberFormat('en-US');
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** A big number: grouped up to a million ("1,204"), compact beyond ("12.3M"). */
export function formatBig(n: number): string {
  const r = Math.round(n);
  return Math.abs(r) < 1_000_000 ? grouped.format(r) : compact.format(r);
}

/** "+14/min", "+0.4/min", "+1.2k/min". */
export function formatPace(perMinute: number): string {
  const p = Math.max(0, perMinute);
  const text = p >= 1000 ? compact.format(p) : p >= 10 ? String(Math.round(p)) : p === 0 ? '0' : String(Math.round(p * 10) / 10);
  return `+${text}/min`;
}

/** "68%" (whole percent, "99%" until actually reached). */
export function formatPercent(fraction: number): string {
  const pct = Math.floor(fraction * 100);
  return `${fraction >= 1 ? Math.max(100, pct) : Math.min(99, pct)}%`;
}

/** "since 09:00", "since Nov 30, 14:05", "last 30 min". */
export function sinceLabel(since: BoardSince, zone: string): string {
  if (since.kind === 'time') return `since ${since.time}`;
  if (since.kind === 'minutes') return `last ${since.minutes} min`;
  const d = new Date(since.at);
  if (Number.isNaN(d.getTime())) return '';
  return `since ${new Intl.DateTimeFormat('en-US', { timeZone: zone, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d)}`;
}

/** "in 12 min", "in 3 h 10 min". */
export function formatEta(minutes: number): string {
  const m = Math.ceil(minutes);
  if (m < 60) return `in ${m} min`;
  const h = Math.floor(m / 60);
  return h >= 48 ? `in ${Math.round(h / 24)} days` : `in ${h} h ${m % 60} min`;
}

/** The big number as one sentence (for screen readers and the tile's title): "1,204 signups since 09:00, 68% of target, +14/min". */
export function numberSentence(o: { value: number; unit?: string; since: BoardSince; zone: string; goal?: number; pace: number }): string {
  const parts = [`${formatBig(o.value)}${o.unit ? ` ${o.unit}` : ''} ${sinceLabel(o.since, o.zone)}`];
  if (o.goal) parts.push(`${formatPercent(o.value / o.goal)} of target`);
  parts.push(formatPace(o.pace));
  return parts.join(', ');
}

// ---- editing -------------------------------------------------------------------------------

export const TILE_TYPES: Array<{ type: BoardTileType; label: string }> = [
  { type: 'number', label: 'Big number (goal & pace)' },
  { type: 'sparkline', label: 'Sparkline' },
  { type: 'top', label: 'Top list' },
  { type: 'map', label: 'World map' },
  { type: 'feed', label: 'Live feed' },
  { type: 'funnel', label: 'Live funnel' },
  { type: 'visitors', label: 'Visitors online' },
];

/** A fresh tile of `type` with an id not in `taken` and sensible defaults. */
export function newTile(type: BoardTileType, taken: Iterable<string>): BoardTile {
  const used = new Set(taken);
  let n = 1;
  while (used.has(`${type}-${n}`)) n++;
  const id = `${type}-${n}`;
  const base = { id, title: '', w: 1, h: 1, filters: [] as FilterTree[] };
  switch (type) {
    case 'number':
      return { ...base, type, metric: 'events', since: { kind: 'time', time: '09:00' }, w: 2 };
    case 'sparkline':
      return { ...base, type, metric: 'events', minutes: 30, per: 'minute', w: 2 };
    case 'top':
      return { ...base, type, metric: 'pageviews', dimension: 'event:path', limit: 8, minutes: 30 };
    case 'map':
      return { ...base, type, minutes: 5, w: 2, h: 2 };
    case 'feed':
      return { ...base, type, limit: 20, h: 2 };
    case 'funnel':
      return {
        id,
        title: '',
        w: 2,
        h: 1,
        type,
        minutes: 60,
        steps: [
          { label: 'Visited', filters: [['is', 'event:name', ['screen_view']]] },
          { label: 'Signed up', filters: [['is', 'event:name', ['signup']]] },
        ],
      };
    case 'visitors':
      return { id, title: '', w: 1, h: 1, type };
  }
}

/** Moves the tile at `from` to `to` (a new array). */
export function moveTile<T>(tiles: readonly T[], from: number, to: number): T[] {
  const out = tiles.slice();
  if (from < 0 || from >= out.length || to < 0 || to >= out.length) return out;
  const [t] = out.splice(from, 1);
  out.splice(to, 0, t!);
  return out;
}

/** The layout as the editor's JSON text (stable key order from the schema's parse). */
export function layoutToJson(layout: BoardLayout): string {
  return JSON.stringify(BoardLayoutSchema.parse(layout), null, 2);
}

/** Parses the editor's JSON text: the layout with defaults filled in, or the first problem in words. */
export function layoutFromJson(text: string): { ok: true; layout: BoardLayout } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `Not JSON: ${(err as Error).message}` };
  }
  const parsed = BoardLayoutSchema.safeParse(json);
  if (parsed.success) return { ok: true, layout: parsed.data };
  const issue = parsed.error.issues[0]!;
  return { ok: false, error: `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}` };
}

/** Simple filter on one event name, the editor's common case. */
export const eventNameFilter = (name: string): FilterTree[] => (name.trim() ? [['is', 'event:name', [name.trim()]]] : []);

/** The event name of a filter list made by `eventNameFilter` ('' for anything else). */
export function eventNameOf(filters: readonly FilterTree[]): string {
  const f = filters[0];
  if (filters.length === 1 && Array.isArray(f) && f[0] === 'is' && f[1] === 'event:name' && Array.isArray(f[2]) && f[2].length === 1) return String(f[2][0]);
  return '';
}

/** A launch board to start from: signups against a goal, visitors, the signup rate, map, pages, referrers, a funnel and the feed. */
export function launchLayout(): BoardLayout {
  const signup: FilterTree[] = [['is', 'event:name', ['signup']]];
  return BoardLayoutSchema.parse({
    tiles: [
      { id: 'signups', type: 'number', filters: signup, since: { kind: 'time', time: '09:00' }, goal: 1000, unit: 'signups', w: 2 },
      { id: 'visitors', type: 'visitors' },
      { id: 'signup-rate', type: 'sparkline', title: 'Signups per minute', filters: signup, minutes: 30 },
      { id: 'map', type: 'map', w: 2, h: 2 },
      { id: 'pages', type: 'top', metric: 'pageviews', dimension: 'event:path' },
      { id: 'referrers', type: 'top', metric: 'sessions', dimension: 'session:referrer_name' },
      {
        id: 'funnel',
        type: 'funnel',
        w: 2,
        steps: [
          { label: 'Visited', filters: [['is', 'event:name', ['screen_view']]] },
          { label: 'Signed up', filters: signup },
        ],
      },
      { id: 'feed', type: 'feed', w: 2, h: 2 },
    ],
  });
}

export { BOARD_LIMITS };
