/**
 * The closed set of error codes every Livepanel surface answers with (HTTP bodies, WebSocket
 * rejections, CLI output). Clients may switch on these strings: never rename one.
 */
import { z } from 'zod';

export const ErrorCode = z.enum([
  'invalid_json', // body or frame is not JSON
  'invalid_utf8', // body or frame is not valid UTF-8
  'invalid_body', // JSON, but not the expected shape (details in `issues`)
  'invalid_event', // one event of a batch failed validation
  'invalid_query', // a query-model query that is malformed or asks for something that cannot be answered (details in `issues`)
  'payload_too_large', // body, frame or single event over its size limit
  'too_deep', // properties nested deeper than allowed
  'too_many_properties', // properties with too many keys once flattened
  'unsupported_type', // a payload type Livepanel does not take (e.g. `alias`)
  'missing_client_id', // no client id in headers, body or query
  'unknown_client', // client id does not exist
  'client_disabled', // client exists but was disabled
  'bad_secret', // wrong client secret
  'secret_required', // client has no allowed origins and no secret was given
  'origin_not_allowed', // browser Origin not in the project's allowed domains
  'forbidden', // authenticated, but this client type (or this user's role) may not do that
  'not_signed_in', // the dashboard API needs a signed-in user (session cookie missing, expired or signed out)
  'bad_credentials', // sign-in: email or password incorrect (never says which)
  'csrf_failed', // a state-changing request without the CSRF token, or from another origin
  'password_required', // a share link protected by a password: send it (or its grant)
  'conflict', // the change clashes with what exists (an email already registered, the last owner leaving)
  'expired', // an invitation or share link past its expiry, or already used
  'setup_done', // first-run setup asked for when users already exist
  'not_found',
  'method_not_allowed',
  'rate_limited', // over a rate limit: retry after `retryAfterMs` (HTTP: Retry-After)
  'too_many_sockets', // this IP or client has as many /ws sockets open on this node as allowed
  'overloaded', // too much accepted and not yet written; retry later
  'not_ready', // server still starting
  'shutting_down', // server draining; reconnect elsewhere
  'internal', // a bug or an unavailable dependency; safe to retry
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** Body of every error response: `{ error: { code, message } }`. */
export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    /** With `rate_limited`: milliseconds until a retry can pass (also the `Retry-After` header, in seconds). */
    retryAfterMs: z.number().int().positive().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
