/**
 * Device-id step: who the event's device is, in this order —
 * 1. the id the SDK gave with the event (`__deviceId`),
 * 2. the id the SDK's socket announced (`request.deviceId`),
 * 3. for a server-side event naming a profile, the profile id (as OpenPanel does: a backend
 *    has no device of its own worth counting, the profile is the user),
 * 4. else the cookieless hash of (project, UA, IP) under today's salt — and under yesterday's
 *    into `draft.previousDeviceId` (in the first `previousWithinMs` of the UTC day only), so the
 *    session step can keep a session that was open across UTC midnight.
 * Salts are picked by the server's receive time, not the client's event time: a queued event
 * from yesterday arriving now belongs with the device's other events arriving now.
 * Runs after normalize (`__deviceId`, `__ip`, `__userAgent`) and user-agent (server-side).
 */
import { cookielessDeviceId, type SaltSource } from '../device-id.ts';
import type { Step } from '../types.ts';

const DAY = 86_400_000;

/**
 * The device-id step over the daily salts. `previousWithinMs`: how long after UTC midnight (by
 * the event's time) yesterday's id can still matter — the session timeout, since only a
 * session open across midnight needs it (the session step looks no further). Past it the
 * second HMAC is not computed: for a new visitor that was half of this step's cost. Default:
 * always computed.
 */
export function createDeviceIdStep(deps: { salts: SaltSource; previousWithinMs?: number }): Step {
  const within = deps.previousWithinMs ?? Number.POSITIVE_INFINITY;
  return {
    name: 'device-id',
    run(d) {
      const given = d.sdkDeviceId || d.request.deviceId || (d.serverSide ? d.row.profile_id : '');
      if (given) {
        d.row.device_id = given;
        return d;
      }
      const { current, previous } = deps.salts.salts(d.request.receivedAt);
      const project = d.caller.projectId;
      d.row.device_id = cookielessDeviceId(current, project, d.userAgent, d.ip);
      if (d.at % DAY > within) return d;
      d.previousDeviceId = previous === current ? d.row.device_id : cookielessDeviceId(previous, project, d.userAgent, d.ip);
      return d;
    },
  };
}
