/**
 * One node's side of a live funnel tile (docs/realtime.md "Live funnels"): it turns the rows
 * this node accepts into per-visit step rows, feeds them through the shared FunnelProgress
 * (server/engines/funnel-progress.ts) once the tile's epoch is ready, and keeps the resulting
 * deltas (visits reaching each step, by received second) for the next tick.
 *
 * Until this node knows the tile's epoch the rows are held here (bounded); then the rows from
 * the epoch's start go to the store, which holds them until the seed and replays every node's
 * in received order: a visit whose step 1 lies before the watermark is known from the store's
 * seed by the time its step 2 is applied, whichever node each step reached. Rows go through
 * `advance` one call at a time, in arrival order, so the cost is one store call per batch (or
 * fewer: calls coalesce while one is in flight), not one per event.
 */
import type { TileBucket } from '../../shared/live-tiles.ts';
import type { FunnelEpoch, FunnelProgress, FunnelRow, FunnelShape } from '../engines/funnel-progress.ts';

/** Rows held back while the epoch is not ready (the oldest go first past it). */
const MAX_HELD = 100_000;
/** How often a node with a ready epoch checks it is still the tile's (and keeps it alive). */
const READY_CHECK_MS = 2000;
/** Wait after a failed store call before trying again. */
const RETRY_MS = 1000;

export interface FunnelTrackerOptions {
  progress: FunnelProgress;
  /**
   * This node took rows of the project up to this instant without aggregating the tile: an
   * epoch that began before it lacks them and is retired. Undefined: the node took none (a
   * node just started), so the tile's epoch is complete as far as this node goes.
   */
  missedUpTo?: number;
  /** The tile's scope in the store (project and tile key). */
  scope: string;
  shape: FunnelShape;
  now?: () => number;
  onError?: (err: unknown) => void;
  /**
   * The epoch this node counted under went away (retired by a node that missed rows, or its
   * seed failed): what screens add up for this funnel can no longer be trusted, and they must
   * re-sync (a new subscription claims and seeds a new epoch).
   */
  onLost?: () => void;
}

export class FunnelTracker {
  readonly startedAt: number;
  /** Resolves once an epoch older than this tracker is retired (before the node acknowledges the tile). */
  readonly retired: Promise<void>;
  private epoch: FunnelEpoch | null = null;
  private held: FunnelRow[] = [];
  private queue: FunnelRow[] = [];
  private busy = false;
  private polling = false;
  private lastPoll = 0;
  private retryAt = 0;
  private pending = new Map<number, number[]>();
  private readonly now: () => number;

  constructor(private readonly o: FunnelTrackerOptions) {
    this.now = o.now ?? Date.now;
    this.startedAt = this.now();
    // Rows this node took before it aggregated the tile never reached the progress store.
    this.retired = o.missedUpTo === undefined ? Promise.resolve() : o.progress.retire(o.scope, o.missedUpTo + 1).catch((err) => o.onError?.(err));
  }

  add(row: FunnelRow): void {
    if (this.epoch) {
      if (row.at >= this.epoch.from) this.queue.push(row);
      this.pump();
      return;
    }
    this.held.push(row);
    if (this.held.length > MAX_HELD) this.held.splice(0, this.held.length - MAX_HELD);
  }

  /** Called every tick: follows the epoch (held rows go once it is ready) and retries a failed call. */
  poll(): void {
    const now = this.now();
    if (this.queue.length > 0 && now >= this.retryAt) this.pump();
    if (this.polling || (this.epoch && now - this.lastPoll < READY_CHECK_MS)) return;
    this.polling = true;
    this.lastPoll = now;
    this.o.progress.epoch(this.o.scope).then(
      (e) => {
        this.polling = false;
        this.follow(e);
      },
      (err) => {
        this.polling = false;
        this.o.onError?.(err);
      },
    );
  }

  /** Takes the deltas gathered since the last call (visits reaching each step, by received second). */
  drain(): TileBucket[] | undefined {
    if (this.pending.size === 0) return undefined;
    const out: TileBucket[] = [...this.pending].sort((a, b) => a[0] - b[0]);
    this.pending = new Map();
    return out;
  }

  private follow(e: FunnelEpoch | null): void {
    const had = this.epoch;
    if (had && (!e || e.from !== had.from)) {
      // The epoch was replaced (or expired): rows not applied yet wait for the next one.
      this.held = [...this.queue, ...this.held];
      this.queue = [];
      this.o.onLost?.();
    }
    this.epoch = e;
    if (e && this.held.length > 0) {
      for (const r of this.held) if (r.at >= e.from) this.queue.push(r);
      this.held = [];
    }
    this.pump();
  }

  private pump(): void {
    const e = this.epoch;
    if (this.busy || this.queue.length === 0 || !e || this.now() < this.retryAt) return;
    this.busy = true;
    const rows = this.queue;
    this.queue = [];
    this.o.progress.advance(this.o.scope, e.from, rows, this.o.shape).then(
      (levels) => {
        this.busy = false;
        if (levels === null) {
          this.held = [...rows, ...this.held]; // the epoch moved on under us
          this.epoch = null;
          this.lastPoll = 0;
          this.o.onLost?.();
          return;
        }
        this.countAll(rows, levels); // [] while the store holds them for the seed
        this.pump();
      },
      (err) => {
        this.busy = false;
        this.queue = [...rows, ...this.queue];
        if (this.queue.length > MAX_HELD) this.queue.splice(0, this.queue.length - MAX_HELD);
        this.retryAt = this.now() + RETRY_MS;
        this.o.onError?.(err);
      },
    );
  }

  /** Counts rows the store applied (`levels` as `advance` answers them; none when it held them). */
  countAll(rows: readonly FunnelRow[], levels: readonly number[]): void {
    if (levels.length < 2 * rows.length) return;
    for (let i = 0; i < rows.length; i++) this.count(rows[i]!.at, levels[2 * i]!, levels[2 * i + 1]!);
  }

  private count(at: number, before: number, after: number): void {
    if (after <= before) return;
    const sec = at - (at % 1000);
    let d = this.pending.get(sec);
    if (!d) {
      d = new Array<number>(this.o.shape.steps).fill(0);
      this.pending.set(sec, d);
    }
    for (let k = before; k < after; k++) d[k]!++;
  }
}
