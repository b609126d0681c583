/**
 * Reactive face of a TileEngine for the views: the link state (shown at once) and each tile's
 * snapshot, republished at most once per animation frame however many ticks arrive (and every
 * second, so windows slide and map points fade while nothing arrives). A hidden tab folds ticks
 * into the engine without rendering.
 */
import type { TileRequest } from '$shared/live-tiles.ts';
import { INITIAL_LINK, type LinkState } from './link.ts';
import { TileEngine, type TileSnapshot, type TileSync } from './tiles.ts';

export interface LiveTilesOptions {
  now?: () => number;
  requestFrame?: (cb: () => void) => number;
  cancelFrame?: (handle: number) => void;
}

export class LiveTiles {
  link = $state.raw<LinkState>(INITIAL_LINK);
  /** Snapshot per tile request id. */
  snapshots = $state.raw<ReadonlyMap<string, TileSnapshot>>(new Map());
  /** Per tile: waiting for its backfill, complete, or counting from its watermark only. */
  syncs = $state.raw<ReadonlyMap<string, TileSync>>(new Map());
  /** Approximate event → screen latency of the newest tick (ms), null before one arrives. */
  latencyMs = $state<number | null>(null);
  /** The clock at the last publish (views compute ages and paces against it). */
  now = $state(0);

  readonly engine: TileEngine;
  readonly #now: () => number;
  #frame: number | null = null;
  readonly #requestFrame: (cb: () => void) => number;
  readonly #cancelFrame: (handle: number) => void;

  constructor(opts: LiveTilesOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.engine = new TileEngine(this.#now);
    this.#requestFrame = opts.requestFrame ?? ((cb) => requestAnimationFrame(cb));
    this.#cancelFrame = opts.cancelFrame ?? ((h) => cancelAnimationFrame(h));
    this.now = this.#now();
  }

  get requests(): TileRequest[] {
    return this.engine.requests;
  }

  setLink(s: LinkState): void {
    this.link = s;
    this.schedule();
  }

  snapshot(id: string): TileSnapshot | undefined {
    return this.snapshots.get(id);
  }

  /** Republishes on the next frame (coalesced). */
  schedule(): void {
    if (this.#frame !== null) return;
    this.#frame = this.#requestFrame(() => {
      this.#frame = null;
      this.#publish();
    });
  }

  dispose(): void {
    if (this.#frame !== null) this.#cancelFrame(this.#frame);
    this.#frame = null;
  }

  #publish(): void {
    const snaps = new Map<string, TileSnapshot>();
    const syncs = new Map<string, TileSync>();
    for (const { id } of this.engine.requests) {
      const s = this.engine.snapshot(id);
      if (s) snaps.set(id, s);
      syncs.set(id, this.engine.sync(id));
    }
    this.snapshots = snaps;
    this.syncs = syncs;
    this.latencyMs = this.engine.latencyMs;
    this.now = this.#now();
  }
}
