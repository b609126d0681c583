/**
 * What the SDKs put on the wire: the OpenPanel-compatible `{type, payload}` bodies with a
 * client-made `id`, the `/ws` frames and the `/batch` answer. Plain types, so the published
 * packages carry no zod; `wire.check.ts` proves at typecheck time that every one of them
 * matches the server's zod schemas in `shared/`, so the two cannot drift apart.
 */

/** Property values: anything JSON can carry. Nested objects are flattened to dotted keys by the server. */
export type Properties = Record<string, unknown>;

export interface TrackPayload {
  name: string;
  profileId?: string;
  groups?: string[];
  properties?: Properties;
}
export interface IdentifyPayload {
  profileId: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  avatar?: string;
  properties?: Properties;
}
export interface IncrementPayload {
  profileId: string;
  property: string;
  value?: number;
}
export interface GroupPayload {
  id: string;
  type?: string;
  name?: string;
  properties?: Properties;
}
export interface AssignGroupPayload {
  groupIds: string[];
  profileId?: string;
}

/** One event body, discriminated on `type` (what `POST /track` takes alone). */
export type EventBody =
  | { type: 'track'; payload: TrackPayload }
  | { type: 'identify'; payload: IdentifyPayload }
  | { type: 'increment'; payload: IncrementPayload }
  | { type: 'decrement'; payload: IncrementPayload }
  | { type: 'group'; payload: GroupPayload }
  | { type: 'assign_group'; payload: AssignGroupPayload };

/** An event with its client-made id: resending it with the same id never counts it twice. */
export type WireEvent = EventBody & { id: string };

export interface Rejection {
  index: number;
  id?: string;
  code: string;
  message: string;
}
export interface BatchAnswer {
  accepted: number;
  rejected: Rejection[];
  dropped: Array<{ index: number; reason: string }>;
}

/** Server → client frames of `/ws`. */
export type ServerFrame = ({ type: 'ack'; seq: number } & BatchAnswer) | { type: 'error'; seq?: number; code: string; message: string };

/** Client → server frames of `/ws`. */
export type ClientFrame = { type: 'batch'; seq: number; events: WireEvent[] } | { type: 'heartbeat' };

/** The `/ws` path and the close code of a draining server (reconnect at once, resend what is unacked). */
export const WS_PATH = '/ws';
export const WS_CLOSE_RESTART = 1012;
/** Limits the server enforces, mirrored so the SDK never sends what it would refuse. */
/** Events per `/ws` batch frame. */
export const WS_BATCH = 500;
/** Events per `POST /batch`. */
export const HTTP_BATCH = 1000;
/** Nesting depth of properties, counted in key segments (`a.b.c` is 3). */
export const MAX_DEPTH = 8;
/** Flattened property keys per event. */
export const MAX_KEYS = 500;
/** Largest event as JSON (the server's MAX_EVENT_BYTES default). */
export const MAX_EVENT_BYTES = 64 * 1024;
