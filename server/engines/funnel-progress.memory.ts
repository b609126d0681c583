/** In-process FunnelProgress (see funnel-progress.ts): the embedded shape's one node keeps every visit's progress in maps. */
import {
  decodeState,
  emptyState,
  encodeState,
  FUNNEL_EPOCH_TTL_MS,
  FUNNEL_STATE_SLACK_MS,
  type FunnelProgress,
  type FunnelRow,
  type FunnelShape,
  stepFunnel,
} from './funnel-progress.ts';

/** Visits one tile remembers at most (the least recently advanced go first). */
const MAX_STATES = 1_000_000;
/** Rows held for a seed at most (the oldest go first). */
const MAX_HELD = 100_000;

interface Epoch {
  from: number;
  ready: boolean;
  expires: number;
  /** session → [stored state, expiry], least recently written first. */
  states: Map<string, [string, number]>;
  held: FunnelRow[];
}

export function createMemoryFunnelProgress(opts: { epochTtlMs?: number; now?: () => number } = {}): FunnelProgress {
  const now = opts.now ?? Date.now;
  const ttl = opts.epochTtlMs ?? FUNNEL_EPOCH_TTL_MS;
  const epochs = new Map<string, Epoch>();

  const live = (scope: string): Epoch | undefined => {
    const e = epochs.get(scope);
    if (e && e.expires <= now()) {
      epochs.delete(scope);
      return undefined;
    }
    return e;
  };
  const write = (e: Epoch, session: string, value: string, shape: FunnelShape) => {
    e.states.delete(session);
    e.states.set(session, [value, now() + shape.windowMs + FUNNEL_STATE_SLACK_MS]);
    // Written in time order: the oldest writes (and so the earliest expiries) come first.
    for (const [k, [, exp]] of e.states) {
      if (exp > now() && e.states.size <= MAX_STATES) break;
      e.states.delete(k);
    }
  };
  const apply = (e: Epoch, rows: readonly FunnelRow[], shape: FunnelShape): number[] => {
    const out: number[] = [];
    for (const r of rows) {
      const had = e.states.get(r.session);
      const s = had && had[1] > now() ? decodeState(had[0], shape.steps) : emptyState(shape.steps);
      const before = s.level;
      if (stepFunnel(s, r.mask, r.at, shape)) write(e, r.session, encodeState(s), shape);
      out.push(before, s.level);
    }
    return out;
  };

  return {
    async epoch(scope) {
      const e = live(scope);
      if (!e) return null;
      e.expires = now() + ttl;
      return { from: e.from, ready: e.ready };
    },
    async claim(scope, from) {
      let e = live(scope);
      if (!e) {
        e = { from, ready: false, expires: now() + ttl, states: new Map(), held: [] };
        epochs.set(scope, e);
      }
      return { from: e.from, ready: e.ready };
    },
    async retire(scope, before) {
      const e = live(scope);
      if (e && e.from < before) epochs.delete(scope);
    },
    async seed(scope, from, states, shape) {
      const e = live(scope);
      if (!e || e.from !== from) return null;
      if (e.ready) return { rows: [], levels: [] }; // seeded already (another screen opening at the same second)
      for (const [session, s] of states) write(e, session, encodeState(s), shape);
      const rows = e.held
        .map((r, i) => [r, i] as const)
        .sort((a, b) => a[0].at - b[0].at || a[1] - b[1])
        .map(([r]) => r);
      e.held = [];
      e.ready = true;
      return { rows, levels: apply(e, rows, shape) };
    },
    async advance(scope, from, rows, shape) {
      const e = live(scope);
      if (!e || e.from !== from) return null;
      if (!e.ready) {
        e.held.push(...rows);
        if (e.held.length > MAX_HELD) e.held.splice(0, e.held.length - MAX_HELD);
        return [];
      }
      return apply(e, rows, shape);
    },
    async close() {
      epochs.clear();
    },
  };
}
