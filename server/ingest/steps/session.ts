/**
 * Session step: assigns the event to its device's open session, opening one when there is
 * none (the caller then writes `session_start`) and reporting an expired one found in passing
 * (the caller writes its row and `session_end`). Server-side events never open sessions.
 * Around UTC midnight the device id rotates with the salt; a session still open under the
 * previous day's id keeps its events.
 */
import { RESERVED_EVENTS } from '../../../shared/track.ts';
import { type SessionStore, expiresAt } from '../../engines/sessions.ts';
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
      if (d.serverSide || d.body.type !== 'track') return d;
      d.row.device_id = await deviceForSession(d);
      const { session, started, closed } = await deps.sessions.touch(
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
      d.sessionStarted = started;
      d.closedSession = closed;
      return d;
    },
  };
}
