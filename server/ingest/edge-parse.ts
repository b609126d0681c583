/**
 * Fast paths for the two zod checks every `/ws` event pays at the edge: the frame
 * (`ClientFrame`) and each event's body (`TrackBody`). zod builds a copy of every object it
 * checks — the body, its payload, the properties record, the frame's event array — which was
 * ≈ 1 KB of garbage and a twentieth of the ingest thread per event. These functions check the
 * common, valid shapes by hand and answer what zod would, without the copies; anything else
 * (another body type, an invalid or unusual value) answers `undefined` and the caller runs the
 * zod schema, which stays the one definition of the protocol and the one that explains
 * rejections. `edge-parse.test.ts` holds them to zod's answers.
 */

import type { TrackBody } from '../../shared/track.ts';
import type { ClientFrame } from '../../shared/ws-protocol.ts';
import { WS_MAX_EVENTS_PER_BATCH } from '../../shared/ws-protocol.ts';

type TrackEvent = Extract<TrackBody, { type: 'track' }>;

/** A plain object as zod's record and object checks see one (JSON.parse makes only these). */
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * `TrackBody.safeParse(body).data` for a valid `track` body, or undefined: not a `track` body,
 * invalid, or a shape left to zod. As zod, keys the schema does not name are left out and
 * `name` is trimmed; unlike zod, `groups` and `properties` are the body's own (nothing
 * downstream edits them: the normalize step builds new properties).
 */
export function fastTrackBody(body: unknown): TrackEvent | undefined {
  if (!isPlainObject(body) || body.type !== 'track') return undefined;
  const p = body.payload;
  if (!isPlainObject(p) || typeof p.name !== 'string') return undefined;
  const name = p.name.trim();
  if (name.length < 1 || name.length > 200) return undefined;
  const payload: TrackEvent['payload'] = { name };

  const profileId = p.profileId;
  if (typeof profileId === 'string') {
    if (profileId.length < 1 || profileId.length > 256) return undefined;
    payload.profileId = profileId;
  } else if (typeof profileId === 'number') {
    if (!Number.isFinite(profileId)) return undefined;
    payload.profileId = String(profileId);
  } else if (profileId !== undefined) return undefined;

  const groups = p.groups;
  if (groups !== undefined) {
    if (!Array.isArray(groups) || groups.length > 50) return undefined;
    for (const g of groups) if (typeof g !== 'string' || g.length > 256) return undefined;
    payload.groups = groups;
  }

  const properties = p.properties;
  if (properties !== undefined) {
    // zod leaves a `__proto__` key out of the record it copies: let it do so.
    if (!isPlainObject(properties) || Object.hasOwn(properties, '__proto__')) return undefined;
    payload.properties = properties;
  }
  return { type: 'track', payload };
}

/**
 * `ClientFrame.safeParse(frame).data` for a valid frame, or undefined (invalid or left to zod).
 * A batch's `events` is the frame's own array (zod copies it).
 */
export function fastClientFrame(frame: unknown): ClientFrame | undefined {
  if (!isPlainObject(frame)) return undefined;
  if (frame.type === 'batch') {
    const { seq, events } = frame;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
    if (!Array.isArray(events) || events.length < 1 || events.length > WS_MAX_EVENTS_PER_BATCH) return undefined;
    return { type: 'batch', seq, events };
  }
  if (frame.type === 'heartbeat') return { type: 'heartbeat' };
  return undefined;
}
