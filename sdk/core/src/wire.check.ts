/**
 * Compile-time proof that the SDK's plain wire types (wire.ts) match the server's zod schemas
 * (shared/track.ts, shared/ws-protocol.ts): `npm run typecheck` fails when either side changes
 * alone. Type-only imports: nothing here exists at run time, and no zod reaches a bundle.
 */
import type { z } from 'zod';
import type {
  AssignGroupPayload as ZAssign,
  GroupPayload as ZGroup,
  IdentifyPayload as ZIdentify,
  IncrementPayload as ZIncrement,
  TrackPayload as ZTrack,
} from '../../../shared/track.ts';
import type {
  WS_MAX_EVENTS_PER_BATCH as Z_BATCH,
  WS_PATH as Z_PATH,
  WS_CLOSE_RESTART as Z_RESTART,
  ClientFrame as ZClientFrame,
  ServerFrame as ZServerFrame,
} from '../../../shared/ws-protocol.ts';
import type {
  AssignGroupPayload,
  ClientFrame,
  GroupPayload,
  IdentifyPayload,
  IncrementPayload,
  ServerFrame,
  TrackPayload,
  WireEvent,
  WS_BATCH,
  WS_CLOSE_RESTART,
  WS_PATH,
} from './wire.ts';

/** What the SDK sends must be accepted by the server's schema (input side: before transforms). */
type Accepts<Schema extends z.ZodType, T extends z.input<Schema>> = T;
/** What the server answers must be readable as the SDK's type. */
type Reads<T, Server extends T> = Server;

export type WireChecks = [
  Accepts<typeof ZTrack, TrackPayload>,
  Accepts<typeof ZIdentify, IdentifyPayload>,
  Accepts<typeof ZIncrement, IncrementPayload>,
  Accepts<typeof ZGroup, GroupPayload>,
  Accepts<typeof ZAssign, AssignGroupPayload>,
  Accepts<typeof ZClientFrame, ClientFrame>,
  Reads<ServerFrame, z.output<typeof ZServerFrame>>,
  // Every event type the SDK sends is one the server knows (id included).
  Accepts<typeof import('../../../shared/track.ts').ClientEvent, WireEvent>,
  // Constants: the same literal on both sides.
  Sub<typeof Z_PATH, typeof WS_PATH>,
  Sub<typeof WS_PATH, typeof Z_PATH>,
  Sub<typeof Z_RESTART, typeof WS_CLOSE_RESTART>,
  Sub<typeof WS_CLOSE_RESTART, typeof Z_RESTART>,
  Sub<typeof Z_BATCH, typeof WS_BATCH>,
  Sub<typeof WS_BATCH, typeof Z_BATCH>,
];
type Sub<A, B extends A> = [A, B];
