/**
 * The tick coalescer: ingest nodes do not forward every event to every screen. Accepted rows
 * are folded into one pending tick per project (counters, a capped sample, capped geo
 * points), and every `tickMs` each non-empty tick is emitted and reset. Recording is O(rows)
 * with small constant work per row, so it can run inline on the ingest path. No sockets here:
 * `emit` is whatever the caller wires (live.socket.ts sends it to the project's room).
 */
import { LIVE_TICK_LIMITS, type LiveSampleEvent, type LiveTick } from '../../shared/live.ts';
import type { EventRow, WriteBatch } from '../../shared/rows.ts';
import { RESERVED_EVENTS } from '../../shared/track.ts';

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

  add(key: string): void {
    if (!key) return;
    const n = this.map.get(key);
    if (n !== undefined) this.map.set(key, n + 1);
    else if (this.map.size < this.maxKeys) this.map.set(key, 1);
    else this.map.set(OTHER_KEY, (this.map.get(OTHER_KEY) ?? 0) + 1);
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
  pages: Counts;
  referrers: Counts;
  countries: Counts;
  sessionsStarted = 0;
  rows = 0;
  sample: LiveSampleEvent[] = [];
  geo: Array<{ lat: number; lon: number }> = [];
  private readonly geoDevices = new Set<string>();

  constructor(private readonly limits: TickLimits) {
    this.events = new Counts(limits.keys);
    this.pages = new Counts(limits.keys);
    this.referrers = new Counts(limits.keys);
    this.countries = new Counts(limits.keys);
  }

  add(row: EventRow): void {
    this.rows++;
    this.events.add(row.name);
    if (row.name === RESERVED_EVENTS.sessionStart) {
      this.sessionsStarted++;
      this.referrers.add(row.referrer_name || hostOf(row.referrer));
      return;
    }
    if (row.name === RESERVED_EVENTS.sessionEnd) return;
    if (row.name === RESERVED_EVENTS.screenView) this.pages.add(row.path);
    this.countries.add(row.country);
    this.sample.push({ name: row.name, path: row.path, country: row.country, city: row.city, browser: row.browser, created_at: row.created_at });
    if (this.sample.length > this.limits.sample) this.sample.shift();
    // One point per device per tick: a busy visitor must not fill the map alone.
    if (row.latitude !== null && row.longitude !== null && this.geo.length < this.limits.geo && !this.geoDevices.has(row.device_id)) {
      this.geoDevices.add(row.device_id);
      this.geo.push({ lat: row.latitude, lon: row.longitude });
    }
  }

  toTick(projectId: string, node: string, at: number): LiveTick {
    const l = this.limits;
    return {
      projectId,
      node,
      at,
      events: this.events.top(l.events),
      sessionsStarted: this.sessionsStarted,
      pages: this.pages.top(l.pages),
      referrers: this.referrers.top(l.referrers),
      countries: this.countries.top(l.countries),
      sample: this.sample,
      geo: this.geo,
    };
  }
}

function hostOf(url: string): string {
  if (!url) return '';
  try {
    return new URL(url).hostname.replace(/^www\./, '');
  } catch {
    return '';
  }
}

export function createTickCoalescer(opts: TickCoalescerOptions): TickCoalescer {
  const tickMs = opts.tickMs ?? 100;
  const limits: TickLimits = { ...LIVE_TICK_LIMITS, keys: DEFAULT_KEYS, ...opts.limits };
  const now = opts.now ?? Date.now;
  let pending = new Map<string, Pending>();
  let timer: NodeJS.Timeout | undefined;

  function flush(): number {
    if (pending.size === 0) return 0;
    const due = pending;
    pending = new Map();
    const at = now();
    let emitted = 0;
    for (const [projectId, p] of due) {
      if (p.rows === 0) continue;
      try {
        opts.emit(p.toTick(projectId, opts.nodeId, at));
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
