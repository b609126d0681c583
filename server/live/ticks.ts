/**
 * The tick coalescer: ingest nodes do not forward every event to every screen. Accepted rows
 * are folded into one pending tick per project (counters, a capped sample, capped geo
 * points), and every `tickMs` each non-empty tick is emitted and reset. Recording is O(rows)
 * with small constant work per row, so it can run inline on the ingest path. No sockets here:
 * `emit` is whatever the caller wires (live.socket.ts sends it to the project's room).
 *
 * Every count is a query-model metric by a query-model dimension, read through the same
 * registry the stored queries compile from (server/stats/metrics.ts, dimensions.ts), so a
 * dashboard adding ticks up over some minutes sees what `POST /api/v1/query` answers for them.
 */
import { LIVE_TICK_LIMITS, type LiveSampleEvent, type LiveTick } from '../../shared/live.ts';
import type { EventRow, WriteBatch } from '../../shared/rows.ts';
import { RESERVED_EVENTS } from '../../shared/track.ts';
import { dimension } from '../stats/dimensions.ts';
import { baseMetrics, metric } from '../stats/metrics.ts';
import { chMs, type TileSet } from './tiles.ts';

/** What each counter of a tick counts, in query-model terms. */
export const TICK_COUNTERS = {
  /** Page views by path. */
  pages: { metric: 'pageviews', dimension: 'event:path' },
  /** Visits by source (direct visits have no source: sessionsStarted minus the sum). */
  referrers: { metric: 'sessions', dimension: 'session:referrer_name' },
  /** Events by country. */
  countries: { metric: 'events', dimension: 'geo:country' },
} as const;
type CounterName = keyof typeof TICK_COUNTERS;

/** A counter resolved against the registry once: the row's weight and its key. */
const COUNTERS = (Object.keys(TICK_COUNTERS) as CounterName[]).map((name) => {
  const m = metric(TICK_COUNTERS[name].metric)!;
  const d = dimension(TICK_COUNTERS[name].dimension)!;
  if (!m.live || !d.row) throw new Error(`tick counter ${name}: ${m.name} by ${d.name} cannot be counted live`);
  return { name, weight: m.live, key: d.row };
});
/** The metrics a tick totals (every one the registry can count row by row). */
const TOTALS = baseMetrics().filter((m) => m.live);
const SESSIONS = metric('sessions')!.live!;

export type TickLimits = { [K in keyof typeof LIVE_TICK_LIMITS]: number } & {
  /** Distinct keys one counter map holds per tick; later new keys count under `(other)`. */
  keys: number;
};

export interface TickCoalescerOptions {
  /** Id of this node, copied into every tick. */
  nodeId: string;
  /** Receives each non-empty tick; a throw is reported to `onError`, other ticks still go. */
  emit(tick: LiveTick): void;
  /** Emission period (default 100 ms). */
  tickMs?: number;
  limits?: Partial<TickLimits>;
  /** Clock for `tick.at` (default `Date.now`). */
  now?: () => number;
  onError?: (err: unknown, projectId: string) => void;
  /** The watched tiles: rows are folded into them too, and their deltas ride on the project's tick. */
  tiles?: TileSet;
  /** At each tick, per batch it carries: seconds from the batch's receipt to the tick. */
  onLatency?: (seconds: number) => void;
}

export interface TickCoalescer {
  /** Folds the rows of one accepted batch into the project's pending tick. */
  record(projectId: string, batch: WriteBatch): void;
  /** Emits every non-empty pending tick now and resets them; returns how many were emitted. */
  flush(): number;
  /** Starts the `tickMs` timer (idempotent). */
  start(): void;
  /** Stops the timer; pending rows are dropped unless `flush()` is called first. */
  stop(): void;
  /** Projects with a pending (non-empty) tick. */
  readonly pending: number;
}

export const OTHER_KEY = '(other)';
const DEFAULT_KEYS = 1000;

/** Counts by key, with a bound on distinct keys. */
class Counts {
  private readonly map = new Map<string, number>();
  constructor(private readonly maxKeys: number) {}

  add(key: string, by = 1): void {
    if (!key) return;
    const n = this.map.get(key);
    if (n !== undefined) this.map.set(key, n + by);
    else if (this.map.size < this.maxKeys) this.map.set(key, by);
    else this.map.set(OTHER_KEY, (this.map.get(OTHER_KEY) ?? 0) + by);
  }

  /** The `n` largest counts as a plain object (ties: first seen wins). */
  top(n: number): Record<string, number> {
    const entries = [...this.map];
    if (entries.length > n) entries.sort((a, b) => b[1] - a[1]).length = n;
    return Object.fromEntries(entries);
  }
}

class Pending {
  events: Counts;
  counters: Record<CounterName, Counts>;
  totals: Record<string, number> = Object.fromEntries(TOTALS.map((m) => [m.name, 0]));
  sessionsStarted = 0;
  rows = 0;
  /** Receipt (epoch ms) of each batch folded in (bounded: a sample past 256). */
  readonly received: number[] = [];
  sample: LiveSampleEvent[] = [];
  geo: Array<{ lat: number; lon: number }> = [];
  private readonly geoDevices = new Set<string>();

  constructor(private readonly limits: TickLimits) {
    this.events = new Counts(limits.keys);
    this.counters = { pages: new Counts(limits.keys), referrers: new Counts(limits.keys), countries: new Counts(limits.keys) };
  }

  add(row: EventRow): void {
    this.rows++;
    this.events.add(row.name);
    for (const m of TOTALS) this.totals[m.name]! += m.live!(row);
    this.sessionsStarted += SESSIONS(row);
    for (const c of COUNTERS) {
      const w = c.weight(row);
      if (w > 0) this.counters[c.name].add(c.key(row), w);
    }
    // Livepanel's own session_start/session_end are counted above but are not shown as activity.
    if (row.name === RESERVED_EVENTS.sessionStart || row.name === RESERVED_EVENTS.sessionEnd) return;
    this.sample.push({ name: row.name, path: row.path, country: row.country, city: row.city, browser: row.browser, created_at: row.created_at });
    if (this.sample.length > this.limits.sample) this.sample.shift();
    // One point per device per tick: a busy visitor must not fill the map alone.
    if (row.latitude !== null && row.longitude !== null && this.geo.length < this.limits.geo && !this.geoDevices.has(row.device_id)) {
      this.geoDevices.add(row.device_id);
      this.geo.push({ lat: row.latitude, lon: row.longitude });
    }
  }

  toTick(projectId: string, node: string, at: number, seq: number): LiveTick {
    const l = this.limits;
    let oldest = at;
    for (const r of this.received) if (r < oldest) oldest = r;
    return {
      projectId,
      node,
      at,
      seq,
      oldest,
      events: this.events.top(l.events),
      sessionsStarted: this.sessionsStarted,
      totals: this.totals,
      pages: this.counters.pages.top(l.pages),
      referrers: this.counters.referrers.top(l.referrers),
      countries: this.counters.countries.top(l.countries),
      sample: this.sample,
      geo: this.geo,
    };
  }
}

export function createTickCoalescer(opts: TickCoalescerOptions): TickCoalescer {
  const tickMs = opts.tickMs ?? 100;
  const limits: TickLimits = { ...LIVE_TICK_LIMITS, keys: DEFAULT_KEYS, ...opts.limits };
  const now = opts.now ?? Date.now;
  let pending = new Map<string, Pending>();
  let timer: NodeJS.Timeout | undefined;
  const seqs = new Map<string, number>();

  function flush(): number {
    if (pending.size === 0 && !opts.tiles?.projects().length) return 0;
    const due = pending;
    pending = new Map();
    const at = now();
    let emitted = 0;
    // Tile deltas can come without new rows (a live funnel's, answered by the progress store after the rows' tick).
    for (const projectId of opts.tiles?.projects() ?? []) if (!due.has(projectId)) due.set(projectId, new Pending(limits));
    // A funnel lost its shared progress: skip a sequence number, so every screen sees a lost tick and re-syncs.
    for (const projectId of opts.tiles?.takeLost() ?? []) if (seqs.has(projectId)) seqs.set(projectId, seqs.get(projectId)! + 1);
    for (const [projectId, p] of due) {
      try {
        const tiles = opts.tiles?.drain(projectId);
        if (p.rows === 0 && !tiles) continue;
        const seq = (seqs.get(projectId) ?? 0) + 1;
        seqs.set(projectId, seq);
        const tick = p.toTick(projectId, opts.nodeId, at, seq);
        if (tiles) tick.tiles = tiles;
        opts.emit(tick);
        if (opts.onLatency) for (const r of p.received) opts.onLatency(Math.max(0, at - r) / 1000);
        emitted++;
      } catch (err) {
        opts.onError?.(err, projectId);
      }
    }
    return emitted;
  }

  return {
    record(projectId, batch) {
      if (batch.events.length === 0) return;
      let p = pending.get(projectId);
      if (!p) {
        p = new Pending(limits);
        pending.set(projectId, p);
      }
      for (const row of batch.events) p.add(row);
      const first = batch.events[0]!;
      if (p.received.length < 256) p.received.push(chMs(first.received_at));
      opts.tiles?.record(projectId, batch.events);
    },
    flush,
    start() {
      if (timer) return;
      timer = setInterval(flush, tickMs);
      timer.unref(); // never what keeps a process alive
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    get pending() {
      return pending.size;
    },
  };
}
