/**
 * Revocation messages: "this credential is no longer valid", published on the Bus channel
 * `REVOCATION_CHANNEL` (in-process in the embedded shape, Redis pub/sub in the distributed
 * one) by whoever revokes it, and acted on by every node — it forgets what it cached about
 * the credential and closes every connection (SDK `/ws` sockets, dashboard sockets) that was
 * authorised by it. See server/revocation/revocation.ts.
 *
 * Kinds: `client` (an API client was disabled; `id` is the client id). A new kind of
 * credential (user sessions, share tokens) adds its name to REVOCABLE_KINDS and its code to
 * REVOKED_CODES, names it in the `hold` of the connections it authorises, and registers what
 * each node forgets (`onRevoked`) and how to re-check it (`check`); nothing else changes.
 */
import { z } from 'zod';
import type { ErrorCode } from './errors.ts';

/** The Bus channel revocations travel on. */
export const REVOCATION_CHANNEL = 'revoked';

export const REVOCABLE_KINDS = ['client'] as const;
export const RevocableKind = z.enum(REVOCABLE_KINDS);
export type RevocableKind = z.infer<typeof RevocableKind>;

/** One revoked credential: its kind and its id (a client id, a session id, …). */
export const Revoked = z.object({ kind: RevocableKind, id: z.string().min(1).max(256) });
export type Revoked = z.infer<typeof Revoked>;

/** The error code a connection closed by each kind of revocation is told (`error` frame, `revoked` event). */
export const REVOKED_CODES: Record<RevocableKind, ErrorCode> = { client: 'client_disabled' };

/** The Bus channel map for revocations (`Bus<RevocationChannels>`). */
export type RevocationChannels = { [REVOCATION_CHANNEL]: Revoked };
