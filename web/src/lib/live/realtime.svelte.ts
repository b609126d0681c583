/**
 * Live state of the realtime view: merges the `tick` deltas every ingest node pushes (counts
 * add up, whatever node they came from) and the `presence` totals into a sliding 60-second
 * window, and publishes what the view shows at most once per animation frame. Ticks are folded
 * into plain (non-reactive) per-second buckets as they arrive — cheap, and bounded even in a
 * hidden tab where frames stop — and the reactive fields below are replaced in one go on the
 * next frame, so a burst of ticks from many nodes costs one re-render.
 *
 * No sockets here (realtime.socket.ts feeds it), so it runs the same under a test clock.
 */
import type { LivePresence, LiveSampleEvent, LiveTick } from '$shared/live.ts';

/** Length of the "right now" window, in seconds. */
export const WINDOW_SECONDS = 60;
/** Events kept in the live feed (newest first). */
export const FEED_SIZE = 50;
/** Entries shown per top list. */
export const TOP_SIZE = 8;
/** Label of sessions started without a referrer (the tick leaves them out of `referrers`). */
export const DIRECT = '(direct)';

export interface Ranked {
  key: string;
  count: number;
}

export interface FeedItem extends LiveSampleEvent {
  /** Stable key for the view (arrival order). */
  id: number;
}

export type Connection =
  | { status: 'connecting' }
  | { status: 'live' }
  /** Lost; socket.io (or our retry) is reconnecting. `detail` says why, for the tooltip. */
  | { status: 'reconnecting'; detail: string }
  /** The server refused these credentials: retrying cannot help, sign in again. */
  | { status: 'refused'; code: string; message: string };

/** One second of merged ticks. */
interface Bucket {
  events: number;
  sessions: number;
  direct: number;
  pages: Map<string, number>;
  referrers: Map<string, number>;
  countries: Map<string, number>;
}

export interface RealtimeOptions {
  /** Clock (default Date.now). */
  now?: () => number;
  /** Frame scheduler (default requestAnimationFrame). */
  requestFrame?: (cb: () => void) => number;
  cancelFrame?: (handle: number) => void;
}

export class RealtimeState {
  /** Visitors with an open SDK socket right now (null until the first `presence`). */
  online = $state<number | null>(null);
  /** Events in the window (the query model's `events`: session_start/session_end excluded). */
  events = $state(0);
  /** Sessions started in the window. */
  sessions = $state(0);
  /** Events per second, oldest first, WINDOW_SECONDS long (the last entry is the current second). */
  perSecond = $state.raw<number[]>(new Array(WINDOW_SECONDS).fill(0));
  topPages = $state.raw<Ranked[]>([]);
  topReferrers = $state.raw<Ranked[]>([]);
  topCountries = $state.raw<Ranked[]>([]);
  feed = $state.raw<FeedItem[]>([]);
  connection = $state.raw<Connection>({ status: 'connecting' });
  /**
   * False during the first WINDOW_SECONDS after this state was made: ticks are deltas from
   * the moment of connecting (no backfill yet), so the window is not full.
   */
  windowFull = $state(false);

  readonly #buckets = new Map<number, Bucket>();
  #feed: FeedItem[] = [];
  #feedChanged = false;
  #online: number | null = null;
  #nextId = 0;
  #frame: number | null = null;
  readonly #now: () => number;
  readonly #since: number;
  readonly #requestFrame: (cb: () => void) => number;
  readonly #cancelFrame: (handle: number) => void;

  constructor(opts: RealtimeOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#since = Math.floor(this.#now() / 1000);
    this.#requestFrame = opts.requestFrame ?? ((cb) => requestAnimationFrame(cb));
    this.#cancelFrame = opts.cancelFrame ?? ((h) => cancelAnimationFrame(h));
  }

  /** Folds one node's tick into the current second; the view follows on the next frame. */
  addTick(tick: LiveTick): void {
    const b = this.#bucket(this.#second());
    // The server counts `events` with the query model's definition (SDK events, not Livepanel's
    // own session_start/session_end), so this view and the stored numbers agree.
    b.events += tick.totals.events ?? 0;
    b.sessions += tick.sessionsStarted;
    const referred = addAll(b.referrers, tick.referrers);
    b.direct += Math.max(0, tick.sessionsStarted - referred);
    addAll(b.pages, tick.pages);
    addAll(b.countries, tick.countries);
    if (tick.sample.length > 0) {
      for (const e of tick.sample) this.#feed.push({ ...e, id: this.#nextId++ });
      // Nodes' samples interleave: order by event time (UTC strings sort as times), newest first.
      this.#feed.sort((x, y) => (x.created_at === y.created_at ? y.id - x.id : x.created_at < y.created_at ? 1 : -1));
      if (this.#feed.length > FEED_SIZE) this.#feed.length = FEED_SIZE;
      this.#feedChanged = true;
    }
    this.#schedule();
  }

  setPresence(p: LivePresence): void {
    this.#online = p.online;
    this.#schedule();
  }

  /** Connection changes are rare and shown at once. */
  setConnection(c: Connection): void {
    this.connection = c;
  }

  /** Slides the window to the current second (call about every second so idle counts fall). */
  refresh(): void {
    this.#schedule();
  }

  /** Cancels a pending frame (the view is going away). */
  dispose(): void {
    if (this.#frame !== null) this.#cancelFrame(this.#frame);
    this.#frame = null;
  }

  #second(): number {
    return Math.floor(this.#now() / 1000);
  }

  #bucket(second: number): Bucket {
    let b = this.#buckets.get(second);
    if (!b) {
      b = { events: 0, sessions: 0, direct: 0, pages: new Map(), referrers: new Map(), countries: new Map() };
      this.#buckets.set(second, b);
    }
    return b;
  }

  #schedule(): void {
    if (this.#frame !== null) return;
    this.#frame = this.#requestFrame(() => {
      this.#frame = null;
      this.#publish();
    });
  }

  /** Recomputes everything the view shows from the window's buckets (a few small maps). */
  #publish(): void {
    const last = this.#second();
    const first = last - WINDOW_SECONDS + 1;
    for (const s of this.#buckets.keys()) if (s < first) this.#buckets.delete(s);

    const perSecond = new Array<number>(WINDOW_SECONDS).fill(0);
    const pages = new Map<string, number>();
    const referrers = new Map<string, number>();
    const countries = new Map<string, number>();
    let events = 0;
    let sessions = 0;
    let direct = 0;
    for (const [s, b] of this.#buckets) {
      if (s > last) continue; // the clock went back: keep it for later
      perSecond[s - first] = b.events;
      events += b.events;
      sessions += b.sessions;
      direct += b.direct;
      addAll(pages, b.pages);
      addAll(referrers, b.referrers);
      addAll(countries, b.countries);
    }
    if (direct > 0) referrers.set(DIRECT, direct);

    this.perSecond = perSecond;
    this.events = events;
    this.sessions = sessions;
    this.topPages = top(pages);
    this.topReferrers = top(referrers);
    this.topCountries = top(countries);
    if (this.#feedChanged) this.feed = [...this.#feed];
    this.#feedChanged = false;
    this.online = this.#online;
    this.windowFull = first > this.#since;
  }
}

/** Adds `from`'s counts into `into`; returns their sum. */
function addAll(into: Map<string, number>, from: Record<string, number> | Map<string, number>): number {
  let sum = 0;
  const entries = from instanceof Map ? from : Object.entries(from);
  for (const [k, n] of entries) {
    into.set(k, (into.get(k) ?? 0) + n);
    sum += n;
  }
  return sum;
}

function top(counts: Map<string, number>, n = TOP_SIZE): Ranked[] {
  return [...counts]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
    .slice(0, n);
}
