/**
 * Builds the `Draft` a validated body starts the pipeline as: a fresh event row holding only
 * what the body and the request say outright (ids, name, times, SDK). Every other column
 * starts empty and is filled by the enrichment steps.
 */

import { chTime, eventRowAt } from '../../shared/rows.ts';
import type { TrackBody } from '../../shared/track.ts';
import { eventId } from './event-id.ts';
import type { Caller, Draft, RequestInfo } from './types.ts';

/**
 * A new draft for one validated body. The row is named after the event for `track` and after
 * the body type otherwise (`identify`, `increment`, …); `created_at` starts as the receive time
 * until the normalize and timestamp steps apply a client `__timestamp`.
 * `properties` is the payload's own object: steps replace it, they never edit it in place.
 */
export function newDraft(caller: Caller, request: RequestInfo, body: TrackBody, clientEventId?: string): Draft {
  const payload = body.payload;
  const profileId = 'profileId' in payload && payload.profileId !== undefined ? String(payload.profileId) : '';
  const properties = 'properties' in payload && payload.properties ? payload.properties : {};
  const row = eventRowAt(chTime(request.receivedAt));
  row.id = eventId();
  row.project_id = caller.projectId;
  row.name = body.type === 'track' ? body.payload.name : body.type;
  row.profile_id = profileId;
  row.sdk_name = request.sdkName;
  row.sdk_version = request.sdkVersion;
  // Every field a step may set is present from the start: all drafts share one shape, so the
  // steps' property accesses stay monomorphic.
  return {
    caller,
    request,
    body,
    clientEventId,
    properties,
    ip: request.ip,
    userAgent: request.userAgent,
    at: request.receivedAt,
    serverSide: false,
    row,
    sdkDeviceId: undefined,
    previousDeviceId: undefined,
    sessionStarted: undefined,
    closedSession: undefined,
    evictedSessions: undefined,
  };
}
