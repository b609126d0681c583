/**
 * Client side of live tiles (shared/live-tiles.ts, docs/realtime.md): folds a tile's backfill
 * and the tick deltas after its watermark into the value a screen shows, over the tile's window.
 * Totals = backfill (everything received before the watermark W) + tick buckets ≥ W, so a
 * screen that opens mid-stream agrees with the store. Every aggregate is bounded (minute
 * buckets pruned as the window slides, feeds and map points capped), so a TV showing the same
 * board for weeks keeps a flat memory profile.
 *
 * No sockets and no reactivity here: tiles.socket.ts feeds a TileEngine, live-board.svelte.ts
 * publishes its snapshots to the view. Time comes from the caller (a test clock in tests).
 */
import type { LivePresence, LiveTick } from '$shared/live.ts';
import {
  LIVE_TILE_LIMITS,
  type TileAccepted,
  type TileBackfill,
  type TileBucket,
  type TileFeedEvent,
  type TileGeoPoint,
  type TileRequest,
  type TileSpec,
} from '$shared/live-tiles.ts';

const MINUTE = 60_000;
const minuteOf = (t: number) => Math.floor(t / MINUTE) * MINUTE;

/** A map point with when it was seen (for fading out). */
export interface MapPoint extends TileGeoPoint {
  t: number;
}

export type TileSnapshot =
  | { kind: 'total'; value: number }
  /**
   * Per-minute values over the window, oldest first; the last entry is the current (partial)
   * minute. `perSecond`: the last 60 seconds (before the watermark from the backfill, after it
   * from ticks), the last entry the current second.
   */
  | { kind: 'rate'; perMinute: number[]; minuteStart: number; perSecond: number[] }
  | { kind: 'top'; rows: Array<{ key: string; count: number }>; total: number }
  | { kind: 'funnel'; steps: number[] }
  | { kind: 'feed'; events: TileFeedEvent[] }
  | { kind: 'geo'; points: MapPoint[]; countries: Map<string, number> }
  | { kind: 'online'; value: number | null }
  | { kind: 'active'; value: number | null };

/** Where a tile's value stands: waiting for its backfill, complete, or counting from its watermark only (the store could not answer). */
export type TileSync = 'pending' | 'ready' | 'partial';

/** Seconds a rate tile keeps per second. */
export const SECONDS = 60;

interface Aggregate {
  /** `perSecond`: a second bucket (ticks; a rate backfill's last seconds), else a whole minute. */
  add(start: number, value: unknown, perSecond?: boolean): void;
  snapshot(now: number): TileSnapshot;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCounts = (v: unknown): v is Record<string, number> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Total implements Aggregate {
  value = 0;
  add(_start: number, v: unknown) {
    if (isNum(v)) this.value += v;
  }
  snapshot(): TileSnapshot {
    return { kind: 'total', value: this.value };
  }
}

/** Per-minute sums over the last `minutes` (buckets older than the window are dropped). */
class Rate implements Aggregate {
  readonly byMinute = new Map<number, number>();
  readonly bySecond = new Map<number, number>();
  constructor(readonly minutes: number) {}
  add(start: number, v: unknown, perSecond = false) {
    if (!isNum(v)) return;
    const m = minuteOf(start);
    this.byMinute.set(m, (this.byMinute.get(m) ?? 0) + v);
    if (perSecond) {
      const s = Math.floor(start / 1000) * 1000;
      this.bySecond.set(s, (this.bySecond.get(s) ?? 0) + v);
    }
  }
  snapshot(now: number): TileSnapshot {
    const last = minuteOf(now);
    const first = last - (this.minutes - 1) * MINUTE;
    for (const m of this.byMinute.keys()) if (m < first) this.byMinute.delete(m);
    const perMinute = new Array<number>(this.minutes).fill(0);
    for (const [m, n] of this.byMinute) if (m <= last) perMinute[(m - first) / MINUTE] = n;
    const lastSecond = Math.floor(now / 1000) * 1000;
    const firstSecond = lastSecond - (SECONDS - 1) * 1000;
    const perSecond = new Array<number>(SECONDS).fill(0);
    for (const [s, n] of this.bySecond) {
      if (s < firstSecond) this.bySecond.delete(s);
      else if (s <= lastSecond) perSecond[(s - firstSecond) / 1000] = n;
    }
    return { kind: 'rate', perMinute, minuteStart: first, perSecond };
  }
}

function addCounts(into: Map<string, number>, from: Record<string, number> | Map<string, number>) {
  for (const [k, n] of from instanceof Map ? from : Object.entries(from)) if (isNum(n)) into.set(k, (into.get(k) ?? 0) + n);
}

/** Counts by key: over a sliding window (per-minute maps) or since a moment (one map). */
class Top implements Aggregate {
  readonly byMinute = new Map<number, Map<string, number>>();
  constructor(
    readonly minutes: number | null,
    readonly limit: number,
  ) {}
  add(start: number, v: unknown) {
    if (!isCounts(v)) return;
    const m = this.minutes === null ? 0 : minuteOf(start);
    let counts = this.byMinute.get(m);
    if (!counts) {
      counts = new Map();
      this.byMinute.set(m, counts);
    }
    addCounts(counts, v as Record<string, number>);
  }
  snapshot(now: number): TileSnapshot {
    const sum = new Map<string, number>();
    const last = minuteOf(now);
    const first = this.minutes === null ? -Infinity : last - (this.minutes - 1) * MINUTE;
    for (const [m, counts] of this.byMinute) {
      if (m < first) this.byMinute.delete(m);
      else if (m <= last || this.minutes === null) addCounts(sum, counts);
    }
    let total = 0;
    for (const n of sum.values()) total += n;
    const rows = [...sum]
      .map(([key, count]) => ({ key, count }))
      .filter((r) => r.count > 0)
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
      .slice(0, this.limit);
    return { kind: 'top', rows, total };
  }
}

class Funnel implements Aggregate {
  readonly byMinute = new Map<number, number[]>();
  constructor(
    readonly minutes: number | null,
    readonly steps: number,
  ) {}
  add(start: number, v: unknown) {
    if (!Array.isArray(v)) return;
    const m = this.minutes === null ? 0 : minuteOf(start);
    let counts = this.byMinute.get(m);
    if (!counts) {
      counts = new Array<number>(this.steps).fill(0);
      this.byMinute.set(m, counts);
    }
    for (let i = 0; i < this.steps; i++) if (isNum(v[i])) counts[i]! += v[i] as number;
  }
  snapshot(now: number): TileSnapshot {
    const steps = new Array<number>(this.steps).fill(0);
    const last = minuteOf(now);
    const first = this.minutes === null ? -Infinity : last - (this.minutes - 1) * MINUTE;
    for (const [m, counts] of this.byMinute) {
      if (m < first) this.byMinute.delete(m);
      else for (let i = 0; i < this.steps; i++) steps[i]! += counts[i] ?? 0;
    }
    return { kind: 'funnel', steps };
  }
}

/** The newest events, newest first, at most `limit`, each once (by id). */
class Feed implements Aggregate {
  events: TileFeedEvent[] = [];
  readonly ids = new Set<string>();
  constructor(readonly limit: number) {}
  add(_start: number, v: unknown) {
    if (!Array.isArray(v)) return;
    let changed = false;
    for (const e of v as TileFeedEvent[]) {
      if (!e || typeof e.id !== 'string' || this.ids.has(e.id)) continue;
      this.events.push(e);
      this.ids.add(e.id);
      changed = true;
    }
    if (!changed) return;
    this.events.sort((a, b) => b.received - a.received || (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
    if (this.events.length > this.limit) {
      for (const e of this.events.splice(this.limit)) this.ids.delete(e.id);
    }
  }
  snapshot(): TileSnapshot {
    return { kind: 'feed', events: this.events.slice() };
  }
}

/** Map points seen over the last `minutes`, newest last, at most LIVE_TILE_LIMITS.geo. */
class Geo implements Aggregate {
  points: MapPoint[] = [];
  constructor(readonly minutes: number) {}
  add(start: number, v: unknown) {
    if (!Array.isArray(v)) return;
    for (const p of v as TileGeoPoint[])
      if (p && isNum(p.lat) && isNum(p.lon)) this.points.push({ lat: p.lat, lon: p.lon, country: p.country ?? '', t: start });
    if (this.points.length > LIVE_TILE_LIMITS.geo) this.points.splice(0, this.points.length - LIVE_TILE_LIMITS.geo);
  }
  snapshot(now: number): TileSnapshot {
    const from = now - this.minutes * MINUTE;
    if (this.points.length > 0 && this.points[0]!.t < from) this.points = this.points.filter((p) => p.t >= from);
    const countries = new Map<string, number>();
    for (const p of this.points) if (p.country) countries.set(p.country, (countries.get(p.country) ?? 0) + 1);
    return { kind: 'geo', points: this.points.slice(), countries };
  }
}

function aggregateFor(spec: TileSpec): Aggregate | null {
  switch (spec.kind) {
    case 'total':
      return new Total();
    case 'rate':
      return new Rate(spec.minutes);
    case 'top':
      return new Top(spec.minutes ?? (spec.since === undefined ? LIVE_TILE_LIMITS.minutes : null), spec.limit);
    case 'funnel':
      return new Funnel(spec.minutes ?? (spec.since === undefined ? LIVE_TILE_LIMITS.minutes : null), spec.steps.length);
    case 'feed':
      return new Feed(spec.limit);
    case 'geo':
      return new Geo(spec.minutes);
    default:
      return null; // online/active come from presence
  }
}

interface Tile {
  id: string;
  spec: TileSpec;
  /** The shared aggregation key and watermark from the subscribe answer (null until then). */
  key: string | null;
  watermark: number | null;
  sync: TileSync;
  agg: Aggregate | null;
}

/** How long a node that sends nothing is remembered for gap detection. */
const NODE_TTL_MS = 10 * MINUTE;

export class TileEngine {
  readonly #tiles = new Map<string, Tile>();
  /** Tile ids by aggregation key (several ids may share one). */
  readonly #byKey = new Map<string, string[]>();
  #online: number | null = null;
  #active: number | null = null;
  /** Last tick sequence per node, to notice a lost tick (and ask to re-sync). */
  readonly #seqs = new Map<string, { seq: number; seen: number }>();
  /** Newest server time seen (tick `at`, presence `at`), for the latency readout. */
  latencyMs: number | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** Replaces the set of tiles (all values reset: they are re-synced after subscribing). */
  setTiles(requests: readonly TileRequest[]): void {
    this.#tiles.clear();
    this.#byKey.clear();
    for (const r of requests) this.#tiles.set(r.id, { id: r.id, spec: r.spec, key: null, watermark: null, sync: 'pending', agg: aggregateFor(r.spec) });
  }

  /** Replaces one tile (a changed spec, e.g. "since 09:00" rolling over to the next day): reset, pending. */
  replaceTile(r: TileRequest): void {
    this.#unlink(r.id);
    this.#tiles.set(r.id, { id: r.id, spec: r.spec, key: null, watermark: null, sync: 'pending', agg: aggregateFor(r.spec) });
  }

  get requests(): TileRequest[] {
    return [...this.#tiles.values()].map((t) => ({ id: t.id, spec: t.spec }));
  }

  /**
   * Forgets every value and watermark (a lost connection: the next subscribe re-syncs from the
   * store). Presence is a whole value, not a delta: it is kept (the view hides it while not
   * live) and replaced by the one the server sends on every (re)join.
   */
  reset(): void {
    for (const t of this.#tiles.values()) {
      t.key = null;
      t.watermark = null;
      t.sync = 'pending';
      t.agg = aggregateFor(t.spec);
    }
    this.#byKey.clear();
    this.#seqs.clear();
  }

  /** The subscribe answer: each tile's key and watermark. Presence tiles are ready at once. */
  accept(accepted: readonly TileAccepted[]): void {
    for (const a of accepted) {
      const t = this.#tiles.get(a.id);
      if (!t) continue;
      this.#unlink(a.id);
      t.key = a.key;
      t.watermark = a.watermark ?? null;
      t.agg = aggregateFor(t.spec);
      t.sync = t.agg === null ? 'ready' : 'pending';
      const ids = this.#byKey.get(a.key);
      if (ids) ids.push(a.id);
      else this.#byKey.set(a.key, [a.id]);
    }
  }

  /** A tile's backfill: everything before its watermark. Ignored unless it matches the tile's current subscription. */
  addBackfill(b: TileBackfill): void {
    const t = this.#tiles.get(b.id);
    if (!t?.agg || t.key !== b.key || t.watermark !== b.watermark || t.sync !== 'pending') return;
    // A rate's last seconds before W come per second (secondsFrom): they fill the per-second bars too.
    for (const [start, value] of b.buckets) t.agg.add(start, value, b.secondsFrom !== undefined && start >= b.secondsFrom);
    t.sync = b.ok ? 'ready' : 'partial';
  }

  /**
   * Folds one node's tick in. Returns false when the tick shows a lost one from that node (its
   * sequence jumped): the totals can no longer be trusted, and the caller re-syncs.
   */
  addTick(tick: LiveTick): boolean {
    const now = this.now();
    this.latencyMs = tick.oldest !== undefined ? Math.max(0, now - tick.oldest) : this.latencyMs;
    let intact = true;
    if (tick.seq !== undefined) {
      const last = this.#seqs.get(tick.node);
      if (last && tick.seq > last.seq + 1) intact = false;
      this.#seqs.set(tick.node, { seq: tick.seq, seen: now });
      if (this.#seqs.size > 16) for (const [n, s] of this.#seqs) if (now - s.seen > NODE_TTL_MS) this.#seqs.delete(n);
    }
    if (tick.tiles) {
      for (const [key, buckets] of Object.entries(tick.tiles)) {
        const ids = this.#byKey.get(key);
        if (!ids) continue;
        for (const id of ids) {
          const t = this.#tiles.get(id)!;
          if (t.agg && t.watermark !== null) addAfter(t.agg, buckets, t.watermark);
        }
      }
    }
    return intact;
  }

  setPresence(p: LivePresence): void {
    this.#online = p.online;
    if (p.active !== undefined) this.#active = p.active;
  }

  sync(id: string): TileSync {
    return this.#tiles.get(id)?.sync ?? 'pending';
  }

  /** True when every tile has its backfill (or could not have one). */
  get synced(): boolean {
    for (const t of this.#tiles.values()) if (t.sync === 'pending' && t.key !== null) return false;
    for (const t of this.#tiles.values()) if (t.key === null) return false;
    return true;
  }

  snapshot(id: string): TileSnapshot | null {
    const t = this.#tiles.get(id);
    if (!t) return null;
    if (t.spec.kind === 'online') return { kind: 'online', value: this.#online };
    if (t.spec.kind === 'active') return { kind: 'active', value: this.#active };
    return t.agg?.snapshot(this.now()) ?? null;
  }

  #unlink(id: string) {
    const t = this.#tiles.get(id);
    if (!t?.key) return;
    const ids = this.#byKey.get(t.key)?.filter((x) => x !== id) ?? [];
    if (ids.length > 0) this.#byKey.set(t.key, ids);
    else this.#byKey.delete(t.key);
  }
}

function addAfter(agg: Aggregate, buckets: readonly TileBucket[], watermark: number) {
  for (const [start, value] of buckets) if (start >= watermark) agg.add(start, value, true);
}
