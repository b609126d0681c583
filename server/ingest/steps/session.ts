/**
 * Session step: assigns the event to its device's open session, opening one when there is
 * none (the caller then writes `session_start`) and reporting an expired one found in passing
 * (the caller writes its row and `session_end`). Server-side events never open sessions;
 * other payload types (identify, group, …) only report the device's open session, if any.
 * Around UTC midnight the device id rotates with the salt; a session still open under the
 * previous day's id keeps its events.
 */
import { RESERVED_EVENTS } from '../../../shared/track.ts';
import { expiresAt, isExpiredAt, type SessionStore } from '../../engines/sessions.ts';
import { seedSession } from '../session-rows.ts';
import type { Draft, Step } from '../types.ts';

const DAY = 86_400_000;

/**
 * A draft's seed for the session store, made by a function rather than written in place as
 * `seed: () => …`: a function expression in an object literal gets its name set when it is
 * made (`__name`, a defineProperty per closure, under tsx/esbuild's keepNames), ≈ 3 % of the
 * `/track` main thread for one closure per request (docs/benchmarks.md).
 */
function seedOf(d: Draft) {
  return () => seedSession(d.row, d.at);
}

/** The session step, plus `runMany` for the `track` events of a batch. */
export interface SessionStep extends Step {
  /**
   * Runs the step over `drafts` — all of one caller, all `track` events from the browser —
   * in order, as `run` on each in turn would, with one store call for all of them
   * (`SessionStore.touchMany`) instead of one per event.
   */
  runMany(drafts: Draft[]): Promise<void>;
}

export function createSessionStep(deps: { sessions: SessionStore; timeoutMs: number }): SessionStep {
  async function deviceForSession(d: Draft): Promise<string> {
    const prev = d.previousDeviceId;
    if (!prev || prev === d.row.device_id || d.at % DAY > deps.timeoutMs) return d.row.device_id;
    const old = await deps.sessions.get(d.caller.projectId, prev);
    return old && expiresAt(old, deps.timeoutMs) > d.at ? prev : d.row.device_id;
  }

  /** True when the device may have to keep a session opened under the previous day's id (around UTC midnight). */
  const nearMidnight = (d: Draft) => {
    const prev = d.previousDeviceId;
    return !!prev && prev !== d.row.device_id && d.at % DAY <= deps.timeoutMs;
  };

  function hitOf(d: Draft) {
    return {
      at: d.at,
      path: d.row.path,
      origin: d.row.origin,
      profileId: d.row.profile_id,
      isScreenView: d.row.name === RESERVED_EVENTS.screenView,
      revenue: d.row.revenue,
    };
  }

  return {
    name: 'session',
    async runMany(drafts) {
      if (drafts.length === 0) return;
      // Around midnight a hit's device depends on the hits before it (they keep yesterday's
      // session alive): one at a time then, exactly as `run`.
      if (drafts.some(nearMidnight)) {
        for (const d of drafts) await this.run(d);
        return;
      }
      const results = await deps.sessions.touchMany(
        drafts[0]!.caller.projectId,
        drafts.map((d) => ({ deviceId: d.row.device_id, hit: hitOf(d), seed: seedOf(d) })),
      );
      for (let i = 0; i < drafts.length; i++) {
        const d = drafts[i]!;
        const r = results[i]!;
        d.row.session_id = r.id;
        if (!d.row.path && !r.started) {
          d.row.path = r.exitPath;
          d.row.origin = r.exitOrigin;
        }
        d.sessionStarted = r.started;
        d.closedSession = r.closed;
        if (r.evicted) d.evictedSessions = r.evicted;
      }
    },
    async run(d) {
      if (d.serverSide) return d;
      if (d.body.type !== 'track') {
        // Profile, group and replay payloads are not part of a session, but the answer to them
        // still names the device's open one: OpenPanel's SDK overwrites its stored session id
        // with every answer, and an empty one after identify() made it forget the session
        // (and hold back replay chunks, which it queues while it has no session id).
        const open = await deps.sessions.get(d.caller.projectId, d.row.device_id);
        if (open && !isExpiredAt(open, d.at, deps.timeoutMs)) d.row.session_id = open.id;
        return d;
      }
      d.row.device_id = await deviceForSession(d);
      const { session, started, closed, evicted } = await deps.sessions.touch(d.caller.projectId, d.row.device_id, hitOf(d), () => seedSession(d.row, d.at));
      d.row.session_id = session.id;
      // Events the web SDK sends without a page (data-track clicks, link_out) get the page the
      // visitor is on, as OpenPanel does.
      if (!d.row.path && !started) {
        d.row.path = session.exitPath;
        d.row.origin = session.exitOrigin;
      }
      d.sessionStarted = started;
      d.closedSession = closed;
      if (evicted) d.evictedSessions = evicted;
      return d;
    },
  };
}
