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

export function createSessionStep(deps: { sessions: SessionStore; timeoutMs: number }): Step {
  async function deviceForSession(d: Draft): Promise<string> {
    const prev = d.previousDeviceId;
    if (!prev || prev === d.row.device_id || d.at % DAY > deps.timeoutMs) return d.row.device_id;
    const old = await deps.sessions.get(d.caller.projectId, prev);
    return old && expiresAt(old, deps.timeoutMs) > d.at ? prev : d.row.device_id;
  }

  return {
    name: 'session',
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
      const { session, started, closed, evicted } = await deps.sessions.touch(
        d.caller.projectId,
        d.row.device_id,
        {
          at: d.at,
          path: d.row.path,
          origin: d.row.origin,
          profileId: d.row.profile_id,
          isScreenView: d.row.name === RESERVED_EVENTS.screenView,
          revenue: d.row.revenue,
        },
        () => seedSession(d.row, d.at),
      );
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
