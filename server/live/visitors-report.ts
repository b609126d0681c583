/**
 * Reports this node's visitors to the Visitors engine: per-device socket deltas (coalesced
 * for `flushMs`, written in order, one write at a time), a beat every `beatMs` that also
 * sweeps nodes that stopped beating (a killed node's visitors drop out within the engine TTL
 * plus one beat), this node's whole state re-sent when the store had dropped it (told by a
 * beat, or by a delta the store refused), and the devices seen in accepted events (for
 * "active in the last 5 minutes"; a device is written at most once per `seenEveryMs`). No
 * sockets here.
 */
import type { EventRow } from '../../shared/rows.ts';
import { createRecentMap } from '../engines/recent-map.ts';
import type { VisitorChange, Visitors } from '../engines/visitors.ts';
import type { Logger } from '../log.ts';

export interface VisitorsReporterOptions {
  visitors: Visitors;
  nodeId: string;
  flushMs?: number;
  beatMs?: number;
  /**
   * Least time between two "seen" writes of one device (default 5 s: active counts are that
   * exact; 0 for an in-process store, whose writes cost no more than the coalescing itself).
   */
  seenEveryMs?: number;
  /** After writes or sweeps: these projects' counts may have changed. */
  onChanged?: (projectIds: string[]) => void;
  log?: Logger;
}

export interface VisitorsReporter {
  /** This node holds `delta` more (or fewer) sockets of the device. */
  sockets(projectId: string, deviceId: string, delta: number): void;
  /** Accepted rows: their devices are active. */
  events(projectId: string, rows: readonly EventRow[]): void;
  /** Stops the timers and takes this node's sockets out of the counts. */
  close(): Promise<void>;
}

/**
 * Devices remembered for write coalescing of "seen" (at least this many of the latest; one
 * forgotten is only written again). A two-generation table: evicting one key at a time from a
 * Map walks the holes deleted keys leave in V8 (docs/benchmarks.md, the dedupe Map).
 */
const SEEN_MEMORY = 200_000;

export function createVisitorsReporter(opts: VisitorsReporterOptions): VisitorsReporter {
  const { visitors, nodeId } = opts;
  const flushMs = opts.flushMs ?? 100;
  const seenEvery = opts.seenEveryMs ?? (visitors.inProcess ? 0 : 5000);
  const state = new Map<string, number>(); // "project\n device" → sockets here
  let pending = new Map<string, number>(); // deltas not written yet
  let seen = new Map<string, Set<string>>(); // project → devices to mark seen
  /** What was written last per "project\n device", for coalescing (none when seenEvery is 0). */
  const lastSeen = seenEvery > 0 ? createRecentMap<string, number>(SEEN_MEMORY) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;
  /**
   * A write failed (Redis away): the store may have missed deltas, so the next beat re-sends
   * the whole state. Also set while a re-send runs, so one that fails is tried again.
   */
  let resync = false;
  /**
   * Counts the state re-sends. A flush takes its deltas when its timer fires but writes them
   * after the writes queued before it; if a re-send runs in between, the state it sends
   * already holds those deltas, and applying them again would count a device twice (online
   * for good once its sockets close). A flush taken in an earlier generation skips its deltas.
   */
  let generation = 0;

  const split = (k: string): [string, string] => {
    const i = k.indexOf('\n');
    return [k.slice(0, i), k.slice(i + 1)];
  };

  /** Runs `fn` after the previous write (writes never overlap, so deltas land in order). */
  function queue(fn: () => Promise<string[] | undefined>) {
    writing = writing.then(async () => {
      try {
        const changed = await fn();
        if (changed?.length) opts.onChanged?.(changed);
      } catch (err) {
        opts.log?.warn({ err }, 'visitors report failed');
      }
    });
    return writing;
  }

  /**
   * Replaces what the store holds for this node with its whole state. The state holds every
   * delta so far, written or not (a refused one included): the pending ones are dropped and
   * flushes taken before skip theirs (`generation`), so nothing counts twice. Returns the
   * projects re-sent (their counts may have changed).
   */
  async function resend() {
    const whole: VisitorChange[] = [...state].map(([k, n]) => [...split(k), n]);
    pending = new Map();
    generation += 1;
    resync = true;
    await visitors.reset(nodeId, whole);
    resync = false;
    return [...new Set(whole.map((c) => c[0]))];
  }

  function flush() {
    timer = undefined;
    const deltas = pending;
    const marks = seen;
    pending = new Map();
    seen = new Map();
    const changes: VisitorChange[] = [];
    for (const [k, d] of deltas) if (d !== 0) changes.push([...split(k), d]);
    const taken = generation;
    void queue(async () => {
      const projects = new Set(changes.map((c) => c[0]));
      try {
        // Refused: the store does not know this node (swept after missing beats, or new). Applied
        // anyway, the deltas would revive it with only these devices and the others uncounted.
        if (changes.length && taken === generation && !(await visitors.change(nodeId, changes))) {
          for (const p of await resend()) projects.add(p);
        }
      } catch (err) {
        resync = true;
        throw err;
      }
      const at = Date.now();
      for (const [p, ds] of marks) {
        await visitors.seen(p, [...ds], at);
        projects.add(p);
      }
      return [...projects];
    });
  }

  const schedule = () => {
    if (!timer && !closed) timer = setTimeout(flush, flushMs).unref();
  };

  const beat = setInterval(() => {
    void queue(async () => {
      // The store dropped this node (missed beats) or missed some of its deltas (Redis was away).
      const resent = !(await visitors.beat(nodeId)) || resync ? await resend() : [];
      return [...new Set([...resent, ...(await visitors.sweep())])];
    });
  }, opts.beatMs ?? 2000);
  beat.unref();

  return {
    sockets(projectId, deviceId, delta) {
      if (closed || !deviceId) return;
      const k = `${projectId}\n${deviceId}`;
      const n = (state.get(k) ?? 0) + delta;
      if (n > 0) state.set(k, n);
      else state.delete(k);
      pending.set(k, (pending.get(k) ?? 0) + delta);
      schedule();
    },
    events(projectId, rows) {
      if (closed) return;
      const now = Date.now();
      for (const r of rows) {
        if (!r.device_id) continue;
        if (lastSeen) {
          const k = `${projectId}\n${r.device_id}`;
          const last = lastSeen.get(k);
          if (last !== undefined && now - last < seenEvery) continue;
          lastSeen.set(k, now);
        }
        let ds = seen.get(projectId);
        if (!ds) {
          ds = new Set();
          seen.set(projectId, ds);
        }
        ds.add(r.device_id);
      }
      if (seen.size) schedule();
    },
    async close() {
      if (closed) return;
      clearTimeout(timer);
      flush();
      closed = true;
      clearInterval(beat);
      const projects = [...new Set([...state.keys()].map((k) => split(k)[0]))];
      state.clear();
      let t: NodeJS.Timeout | undefined;
      await Promise.race([
        queue(async () => {
          await visitors.reset(nodeId, []);
          return projects;
        }),
        new Promise((r) => (t = setTimeout(r, 2000))),
      ]);
      clearTimeout(t);
    },
  };
}
