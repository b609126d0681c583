/**
 * The SDK socket protocol of `GET /ws`: JSON text frames, discriminated on `type`.
 *
 * Connect: `ws(s)://host/ws?clientId=UUID[&deviceId=ID][&sdk=NAME&sdkVersion=V]`; browsers are
 * authorised by `Origin`, server SDKs by an `openpanel-client-secret` header (never in the URL,
 * which proxies log: a `secret` query parameter is refused). A failed auth answers the upgrade
 * with 401/403 and an error body; too many upgrades, or too many sockets open, with 429/503.
 *
 * Client → server: `batch` frames `{type:'batch', seq, events:[{id, type, payload}]}`; `seq`
 * is the client's own counter, echoed in the ack. Event `id`s are client-made and unique
 * per project: a resend with the same id is acknowledged but never stored twice.
 * `heartbeat` keeps the device's session open while the page stays open.
 *
 * Server → client: `ack` once every accepted event of the batch is durable; it lists the
 * events rejected (index + code) and dropped (index + reason). `error` answers a frame that
 * could not be read at all, or a batch refused whole (`rate_limited` with `retryAfterMs`,
 * `overloaded`, `shutting_down`): resend it later. On drain the server closes with code 1012 (service restart):
 * reconnect, possibly to another node, and resend unacked batches.
 */
import { z } from 'zod';
import { DropReason } from './drop-reasons.ts';
import { ErrorCode } from './errors.ts';

export const WS_PATH = '/ws';
/** Close code sent when a node drains: reconnect elsewhere and resend unacked batches. */
export const WS_CLOSE_RESTART = 1012;
/**
 * Close code when the socket's credentials were revoked (its client disabled): an `error`
 * frame with the reason's code (`client_disabled`) comes first. Do not reconnect with the same
 * credentials — the upgrade would be refused with 401.
 */
export const WS_CLOSE_REVOKED = 4401;
/** Close code for a policy violation (oversized frame, too much unacknowledged data). */
export const WS_CLOSE_POLICY = 1008;
export const WS_MAX_EVENTS_PER_BATCH = 500;
/** Unacknowledged batches one socket may have in flight; past it a batch is refused with `rate_limited`. */
export const WS_MAX_IN_FLIGHT = 256;

export const ClientFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('batch'),
    seq: z.number().int().nonnegative(),
    /** Each element is validated separately so one bad event does not sink the batch. */
    events: z.array(z.unknown()).min(1).max(WS_MAX_EVENTS_PER_BATCH),
  }),
  z.object({ type: z.literal('heartbeat') }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export const Rejection = z.object({ index: z.number().int(), id: z.string().optional(), code: ErrorCode, message: z.string() });
export type Rejection = z.infer<typeof Rejection>;

export const ServerFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ack'),
    seq: z.number().int(),
    accepted: z.number().int(),
    rejected: z.array(Rejection),
    dropped: z.array(z.object({ index: z.number().int(), reason: DropReason })),
  }),
  z.object({
    type: z.literal('error'),
    seq: z.number().int().optional(),
    code: ErrorCode,
    message: z.string(),
    /** With `rate_limited`: resend the batch after this many milliseconds. */
    retryAfterMs: z.number().int().positive().optional(),
  }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
