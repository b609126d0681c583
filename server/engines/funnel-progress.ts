/**
 * Funnel progress: how far each visit (session) has got through a live funnel tile, shared by
 * every ingest node, so a visit whose step 1 reached node A and step 2 node B counts once at
 * step 2, and a visit that did step 1 before a screen opened counts at step 2 after it
 * (docs/realtime.md "Live funnels").
 *
 * A tile's progress lives in an *epoch*: the watermark `from` it was seeded up to. The node
 * that opens a funnel first claims the epoch at its watermark; every node feeds its rows
 * received at or after `from` through `advance`. Until the store's states of the visits before
 * `from` are written (`seed`), those rows are held in the store; the seed then replays them in
 * received order (whichever node each reached) and marks the epoch ready, after which rows are
 * applied as they come, in arrival order. A node that starts aggregating the tile after it
 * took rows of the project `retire`s an epoch that began before those rows (it missed them);
 * a node that took none (just started) joins the epoch as it is.
 *
 * The step rule is ClickHouse's `windowFunnel(window)` (default mode), so live progress and
 * the store's answer agree: a row matching step 1 starts a chain; a row matching step k+1
 * extends the chain that reached step k if it lies within `window` of that chain's start; a
 * visit's level is the furthest step any chain reached. Implementations: funnel-progress.memory.ts,
 * funnel-progress.redis.ts; both pass funnel-progress.contract.ts.
 */

/** A visit's progress: the furthest step reached (0–steps) and, per step, the start of the chain that reached it (-1: none). */
export interface FunnelState {
  level: number;
  starts: number[];
}

/** One row for `advance`: its visit, the steps it matches (bit k = step k+1) and when it was received (epoch ms). */
export interface FunnelRow {
  session: string;
  mask: number;
  at: number;
}

export interface FunnelEpoch {
  /** The watermark the tile's progress was seeded up to: rows received from it on go through `advance`. */
  from: number;
  /** Whether the seed is written (before that, nodes hold their rows back). */
  ready: boolean;
}

/** Rows a seed replayed and their levels before and after each (as `advance` answers). */
export interface FunnelApplied {
  rows: FunnelRow[];
  levels: number[];
}

export interface FunnelShape {
  /** Number of steps (2–5). */
  steps: number;
  /** Longest time from a chain's step 1 to its last step (ms). */
  windowMs: number;
}

export interface FunnelProgress {
  /** The tile's epoch (and keeps it alive for the epoch TTL); null when there is none. */
  epoch(scope: string): Promise<FunnelEpoch | null>;
  /** Sets the epoch to `from` unless the tile has one; returns the epoch in force. */
  claim(scope: string, from: number): Promise<FunnelEpoch>;
  /** Drops the tile's epoch if it began before `before` (its progress lacks rows a node did not see). */
  retire(scope: string, before: number): Promise<void>;
  /**
   * Writes the visits' states as of the epoch's start, replays the rows held meanwhile (sorted
   * by received time) and marks the epoch ready; answers the replayed rows and their levels
   * (to count), or null when the epoch is no longer `from`. A seed of an epoch already ready
   * writes nothing (live rows may have moved its visits on) and answers no rows.
   */
  seed(scope: string, from: number, states: ReadonlyArray<[session: string, state: FunnelState]>, shape: FunnelShape): Promise<FunnelApplied | null>;
  /**
   * Feeds rows (in arrival order) through the visits' progress. Ready epoch: answers per row the
   * level before and after it (`[b0, a0, b1, a1, …]`). Epoch not seeded yet: holds the rows for
   * the seed and answers `[]`. Null when the epoch is no longer `from`.
   */
  advance(scope: string, from: number, rows: readonly FunnelRow[], shape: FunnelShape): Promise<number[] | null>;
  /** Releases what the store opened (not a client it was given). */
  close(): Promise<void>;
}

/** How long an epoch outlives the last node that asked for it (default). */
export const FUNNEL_EPOCH_TTL_MS = 15_000;
/** A visit's progress is kept this long past its last step row beyond the funnel window. */
export const FUNNEL_STATE_SLACK_MS = 60_000;

export function emptyState(steps: number): FunnelState {
  return { level: 0, starts: new Array<number>(steps).fill(-1) };
}

/**
 * Applies one row (matching the steps in `mask`, received at `at`) to `s` in place, as
 * ClickHouse's windowFunnel does for the conditions one row meets (lowest step first).
 * Returns whether anything changed.
 */
export function stepFunnel(s: FunnelState, mask: number, at: number, shape: FunnelShape): boolean {
  let changed = false;
  for (let i = 0; i < shape.steps; i++) {
    if ((mask & (1 << i)) === 0) continue;
    if (i === 0) s.starts[0] = at;
    else if (s.starts[i - 1]! >= 0 && at <= s.starts[i - 1]! + shape.windowMs) s.starts[i] = s.starts[i - 1]!;
    else continue;
    changed = true;
    if (i + 1 > s.level) s.level = i + 1;
  }
  return changed;
}

/** `level:start0:start1:…` — the stored form of a state (Redis values, seeds). */
export function encodeState(s: FunnelState): string {
  return [s.level, ...s.starts].join(':');
}

export function decodeState(raw: string, steps: number): FunnelState {
  const parts = raw.split(':').map(Number);
  const s = emptyState(steps);
  s.level = Math.min(steps, Math.max(0, parts[0] || 0));
  for (let i = 0; i < steps; i++) s.starts[i] = Number.isFinite(parts[i + 1]) ? parts[i + 1]! : -1;
  return s;
}

/** The latest chain start of a state (what its expiry counts from). */
export function lastStart(s: FunnelState): number {
  return Math.max(...s.starts);
}
