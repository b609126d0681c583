/**
 * The OpenPanel-compatible ingest payloads: what `POST /track` accepts, what `POST /batch`
 * takes many of, and what each event of a `/ws` batch carries. Shapes follow what the
 * published `@openpanel/sdk` and `@openpanel/web` send (see the README's protocol section);
 * unknown extra fields are ignored so newer SDKs keep working.
 */
import { z } from 'zod';

/** Free-form JSON properties; depth and size limits are checked by the validate step. */
export const Properties = z.record(z.string(), z.unknown());
export type Properties = z.infer<typeof Properties>;

const ProfileId = z.union([z.string().min(1).max(256), z.number().transform(String)]);

export const TrackPayload = z.object({
  name: z.string().trim().min(1).max(200),
  profileId: ProfileId.optional(),
  groups: z.array(z.string().max(256)).max(50).optional(),
  properties: Properties.optional(),
});

export const IdentifyPayload = z.object({
  profileId: ProfileId,
  firstName: z.string().max(256).optional(),
  lastName: z.string().max(256).optional(),
  email: z.string().max(320).optional(),
  avatar: z.string().max(2048).optional(),
  properties: Properties.optional(),
});

export const IncrementPayload = z.object({
  profileId: ProfileId,
  property: z.string().min(1).max(200),
  value: z.number().finite().optional(),
});

export const GroupPayload = z.object({
  id: z.string().min(1).max(256),
  type: z.string().max(200).optional(),
  name: z.string().max(512).optional(),
  properties: Properties.optional(),
});

export const AssignGroupPayload = z.object({
  groupIds: z.array(z.string().min(1).max(256)).min(1).max(50),
  profileId: ProfileId.optional(),
});

export const ReplayPayload = z.object({
  chunk_index: z.number().int().nonnegative(),
  events_count: z.number().int().nonnegative(),
  is_full_snapshot: z.boolean(),
  started_at: z.string(),
  ended_at: z.string(),
  payload: z.string(),
});

/** One `{type, payload}` body, discriminated on `type`. */
export const TrackBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('track'), payload: TrackPayload }),
  z.object({ type: z.literal('identify'), payload: IdentifyPayload }),
  z.object({ type: z.literal('increment'), payload: IncrementPayload }),
  z.object({ type: z.literal('decrement'), payload: IncrementPayload }),
  z.object({ type: z.literal('group'), payload: GroupPayload }),
  z.object({ type: z.literal('assign_group'), payload: AssignGroupPayload }),
  z.object({ type: z.literal('replay'), payload: ReplayPayload }),
]);
export type TrackBody = z.infer<typeof TrackBody>;
export type TrackType = TrackBody['type'];
export const TRACK_TYPES = ['track', 'identify', 'increment', 'decrement', 'group', 'assign_group', 'replay'] as const;

/**
 * A body with a client-made id: the unit of `/batch` and `/ws`. The id makes resends
 * idempotent: the server drops repeats of an id it already accepted for the project.
 */
export const ClientEvent = z.intersection(z.object({ id: z.string().min(1).max(64).optional() }), TrackBody);
export type ClientEvent = z.infer<typeof ClientEvent>;

/** `POST /batch`: `{ events: [...] }`, at most 1000 per request. */
export const BatchBody = z.object({
  events: z.array(z.unknown()).min(1).max(1000),
});

/** Success answer of `/track` (the SDK stores both ids). */
export interface TrackResponse {
  deviceId: string;
  sessionId: string;
}

/** Magic properties the SDKs set (double underscore); the pipeline consumes them. */
export const MAGIC = {
  timestamp: '__timestamp',
  path: '__path',
  title: '__title',
  referrer: '__referrer',
  revenue: '__revenue',
  ip: '__ip',
  deviceId: '__deviceId',
  userAgent: '__userAgent',
} as const;

/** Event names with meaning to Livepanel. */
export const RESERVED_EVENTS = {
  sessionStart: 'session_start',
  sessionEnd: 'session_end',
  screenView: 'screen_view',
} as const;
