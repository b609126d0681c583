/**
 * Rate limits around the read authoriser every read route asks (api/read-auth.ts): failed
 * authentications count against the caller's IP, and each authorised read against the
 * principal's `read` budget (429 `rate_limited` past either).
 */
import type { ReadAuthorizer } from '../api/read-auth.ts';
import { type ClientIpOptions, clientIp } from '../ingest/client-ip.ts';
import { assertAllowed, type Limits } from './limits.ts';

export function limitReads(authorize: ReadAuthorizer, limits: Limits, ip: ClientIpOptions): ReadAuthorizer {
  return async (req, projectId) => {
    const principal = await limits.authenticate(clientIp(req.remoteIp, req.headers, ip), () => authorize(req, projectId));
    assertAllowed(await limits.read(principal), 'read requests for this client');
    return principal;
  };
}
