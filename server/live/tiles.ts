/**
 * Incremental tile aggregation on a node: the tiles some screen watches, per project, each
 * folding accepted rows into deltas bucketed by the second the row was received. A tick takes
 * the project's deltas (`drain`) and resets them. Work per row is one predicate and one map
 * update per watched tile of its project; what a tick carries per tile is capped (keys, feed
 * events, map points), so a screen's cost does not grow with the event rate.
 */
import { LIVE_TILE_LIMITS, TILE_OTHER_KEY, type TickTiles, type TileBucket, type TileFeedEvent, type TileGeoPoint } from '../../shared/live-tiles.ts';
import type { EventRow } from '../../shared/rows.ts';
import { createMemoryFunnelProgress } from '../engines/funnel-progress.memory.ts';
import type { FunnelApplied, FunnelProgress } from '../engines/funnel-progress.ts';
import { FunnelTracker } from './funnel-tracker.ts';
import { funnelMask, funnelScope, funnelShape, type ResolvedTile, TILE_MAX_LATENESS_MS } from './tile-spec.ts';

/** Keys one `top` delta holds per tick before new keys count under `(other)`. */
const TOP_KEYS_PER_TICK = 200;
/** Map points per tick and tile. */
const GEO_PER_TICK = 50;
/** Feed events per tick and tile (the latest; 100 a second at most is more than anyone reads, and keeps a screen's bytes flat). */
const FEED_PER_TICK = 10;

/** Epoch ms of a stored UTC time 'YYYY-MM-DD hh:mm:ss.sss'. */
export function chMs(s: string): number {
  return Date.parse(`${s.replace(' ', 'T')}Z`);
}

type Acc = number | Map<string, number> | number[] | TileFeedEvent[] | TileGeoPoint[];

class TileAgg {
  private pending = new Map<number, Acc>();
  private readonly geoDevices = new Set<string>();

  /** `funnel`: funnel tiles keep their visits' progress in the shared store (funnel-tracker.ts). */
  constructor(
    readonly tile: ResolvedTile,
    readonly funnel?: FunnelTracker,
  ) {}

  add(r: EventRow, received: number, created: number): void {
    const t = this.tile;
    if (t.since !== undefined && received < t.since) return;
    if (created < received - TILE_MAX_LATENESS_MS) return;
    if (!t.match(r)) return;
    const sec = received - (received % 1000);
    switch (t.kind) {
      case 'total':
      case 'rate': {
        const w = t.weight!(r);
        if (w !== 0) this.pending.set(sec, ((this.pending.get(sec) as number | undefined) ?? 0) + w);
        return;
      }
      case 'top': {
        const w = t.weight!(r);
        if (w === 0) return;
        let m = this.pending.get(sec) as Map<string, number> | undefined;
        if (!m) {
          m = new Map();
          this.pending.set(sec, m);
        }
        const k = t.dim!.row!(r);
        const n = m.get(k);
        if (n !== undefined) m.set(k, n + w);
        else if (m.size < TOP_KEYS_PER_TICK) m.set(k, w);
        else m.set(TILE_OTHER_KEY, (m.get(TILE_OTHER_KEY) ?? 0) + w);
        return;
      }
      case 'funnel': {
        const mask = r.session_id ? funnelMask(t, r) : 0;
        if (mask !== 0) this.funnel!.add({ session: r.session_id, mask, at: received });
        return;
      }
      case 'feed': {
        let list = this.pending.get(sec) as TileFeedEvent[] | undefined;
        if (!list) {
          list = [];
          this.pending.set(sec, list);
        }
        list.push(feedEvent(r, received));
        if (list.length > Math.min(t.limit!, FEED_PER_TICK)) list.shift();
        return;
      }
      case 'geo': {
        if (r.latitude === null || r.longitude === null || this.geoDevices.has(r.device_id)) return;
        let list = this.pending.get(sec) as TileGeoPoint[] | undefined;
        if (!list) {
          list = [];
          this.pending.set(sec, list);
        }
        if (list.length >= GEO_PER_TICK) return;
        this.geoDevices.add(r.device_id);
        list.push({ lat: r.latitude, lon: r.longitude, country: r.country });
        return;
      }
    }
  }

  drain(): TileBucket[] | undefined {
    if (this.funnel) {
      this.funnel.poll();
      return this.funnel.drain();
    }
    if (this.pending.size === 0) return undefined;
    const out: TileBucket[] = [];
    for (const [sec, acc] of this.pending) {
      if (acc instanceof Map) out.push([sec, top(acc, LIVE_TILE_LIMITS.top)]);
      else out.push([sec, acc]);
    }
    this.pending = new Map();
    this.geoDevices.clear();
    return out.sort((a, b) => a[0] - b[0]);
  }
}

/** The `n` largest counts, the rest summed under `(other)` (so the delta still adds up). */
function top(m: Map<string, number>, n: number): Record<string, number> {
  if (m.size <= n) return Object.fromEntries(m);
  const entries = [...m].sort((a, b) => b[1] - a[1]);
  const out = Object.fromEntries(entries.slice(0, n));
  let rest = 0;
  for (const [k, v] of entries.slice(n)) rest += k === TILE_OTHER_KEY ? 0 : v;
  const other = m.get(TILE_OTHER_KEY) ?? 0;
  if (!(TILE_OTHER_KEY in out)) out[TILE_OTHER_KEY] = rest + other;
  else out[TILE_OTHER_KEY] = (out[TILE_OTHER_KEY] ?? 0) + rest;
  return out;
}

export function feedEvent(r: EventRow, received: number): TileFeedEvent {
  return {
    id: r.id,
    name: r.name,
    path: r.path,
    country: r.country,
    city: r.city,
    browser: r.browser,
    os: r.os,
    device: r.device,
    referrer_name: r.referrer_name,
    profile_id: r.profile_id,
    properties: r.properties,
    created_at: r.created_at,
    received,
  };
}

export interface TileSet {
  /** Starts aggregating `tile` for `projectId` (idempotent); false when the project holds its limit of tiles. */
  watch(projectId: string, tile: ResolvedTile): boolean;
  /** Stops aggregating it. */
  unwatch(projectId: string, key: string): void;
  /** Whether the project has any watched tile. */
  has(projectId: string): boolean;
  /** The project's watched tiles by key. */
  tiles(projectId: string): ReadonlyMap<string, ResolvedTile>;
  /** Every project with a watched tile. */
  projects(): string[];
  /** Folds accepted rows of one project into its tiles. */
  record(projectId: string, rows: readonly EventRow[]): void;
  /** Takes (and resets) the project's pending deltas; undefined when none. */
  drain(projectId: string): TickTiles | undefined;
  /** Counts rows a funnel's seed replayed (FunnelProgress.seed's answer) into the tile's next deltas. */
  countFunnel(projectId: string, key: string, applied: FunnelApplied): void;
  /** Projects with a funnel whose epoch went away since the last call (their screens must re-sync). */
  takeLost(): string[];
  /** Resolves once tiles started so far are ready to count (funnels: an older epoch retired). */
  whenReady(): Promise<void>;
}

export interface TileSetOptions {
  perProject?: number;
  /** Where funnel tiles keep their visits' progress (default: in this process). */
  progress?: FunnelProgress;
  onError?: (err: unknown) => void;
}

export function createTileSet(opts: TileSetOptions = {}): TileSet {
  const perProject = opts.perProject ?? LIVE_TILE_LIMITS.perProject;
  const progress = opts.progress ?? createMemoryFunnelProgress();
  const starting = new Set<Promise<void>>();
  /** When this node last took rows of each project (a funnel started afresh retires an epoch older than that). */
  const lastRows = new Map<string, number>();
  const lost = new Set<string>();
  const byProject = new Map<string, Map<string, TileAgg>>();
  let lastStr = '';
  let lastMs = 0;
  const ms = (s: string) => {
    if (s !== lastStr) {
      lastStr = s;
      lastMs = chMs(s);
    }
    return lastMs;
  };

  return {
    watch(projectId, tile) {
      let m = byProject.get(projectId);
      if (m?.has(tile.key)) return true;
      if (!m) {
        m = new Map();
        byProject.set(projectId, m);
      }
      if (m.size >= perProject) return false;
      let funnel: FunnelTracker | undefined;
      if (tile.kind === 'funnel') {
        funnel = new FunnelTracker({
          progress,
          scope: funnelScope(projectId, tile.key),
          shape: funnelShape(tile),
          missedUpTo: lastRows.get(projectId),
          onError: opts.onError,
          onLost: () => lost.add(projectId),
        });
        const p = funnel.retired.finally(() => starting.delete(p));
        starting.add(p);
      }
      m.set(tile.key, new TileAgg(tile, funnel));
      return true;
    },
    unwatch(projectId, key) {
      const m = byProject.get(projectId);
      if (!m) return;
      m.delete(key);
      if (m.size === 0) byProject.delete(projectId);
    },
    has: (projectId) => byProject.has(projectId),
    tiles(projectId) {
      const m = byProject.get(projectId);
      return new Map([...(m ?? [])].map(([k, a]) => [k, a.tile]));
    },
    projects: () => [...byProject.keys()],
    record(projectId, rows) {
      if (rows.length > 0) lastRows.set(projectId, Date.now());
      const m = byProject.get(projectId);
      if (!m) return;
      for (const r of rows) {
        const received = ms(r.received_at);
        const created = r.created_at === r.received_at ? received : chMs(r.created_at);
        for (const a of m.values()) a.add(r, received, created);
      }
    },
    drain(projectId) {
      const m = byProject.get(projectId);
      if (!m) return undefined;
      let out: TickTiles | undefined;
      for (const [key, a] of m) {
        const d = a.drain();
        if (!d) continue;
        out ??= {};
        out[key] = d;
      }
      return out;
    },
    takeLost() {
      const out = [...lost];
      lost.clear();
      return out;
    },
    countFunnel(projectId, key, applied) {
      byProject.get(projectId)?.get(key)?.funnel?.countAll(applied.rows, applied.levels);
    },
    async whenReady() {
      await Promise.all(starting);
    },
  };
}
