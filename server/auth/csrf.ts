/**
 * CSRF protection for the cookie-authenticated dashboard API. Two checks on every request
 * that changes state (anything but GET/HEAD/OPTIONS):
 *  1. the browser's `Origin` (or, without it, `Referer`) is this Livepanel's own origin;
 *  2. with a session, the `x-livepanel-csrf` header carries the session's CSRF token — derived
 *     from the secret session token, so only pages that read it from `/api/auth/me` (same
 *     origin) know it, and nothing needs storing.
 * SameSite=Lax cookies already keep most cross-site requests cookie-less; these checks hold
 * even where that does not (old browsers, same-site subdomains, top-level POST forms).
 * Requests authenticated by an API client's secret or a share token carry no cookie and need
 * neither check.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors.ts';
import { safeEqual } from './tokens.ts';

export const CSRF_HEADER = 'x-livepanel-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The CSRF token of a session: a one-way function of its cookie token. */
export function csrfToken(sessionToken: string): string {
  return createHash('sha256').update(`livepanel-csrf:${sessionToken}`, 'utf8').digest('base64url');
}

export interface CsrfRequest {
  method: string;
  headers: Record<string, string | undefined>;
  /** Origins this Livepanel is served at (`https://panel.example.com`); the request's own Host is added. */
  ownOrigins: readonly string[];
  /** The session cookie's token, when the request carries one. */
  sessionToken?: string;
}

/** Throws 403 `csrf_failed` when a state-changing request fails either check. */
export function checkCsrf(r: CsrfRequest): void {
  if (SAFE_METHODS.has(r.method.toUpperCase())) return;
  const origin = r.headers.origin ?? originOf(r.headers.referer);
  const host = r.headers.host;
  const own = new Set(r.ownOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  if (host) {
    own.add(`http://${host}`.toLowerCase());
    own.add(`https://${host}`.toLowerCase());
  }
  if (!origin || !own.has(origin.toLowerCase())) {
    throw new AppError(403, 'csrf_failed', 'Cross-origin request refused: state-changing requests must come from the dashboard itself');
  }
  if (r.sessionToken !== undefined) {
    const sent = r.headers[CSRF_HEADER];
    if (!sent || !safeEqual(sent, csrfToken(r.sessionToken))) {
      throw new AppError(403, 'csrf_failed', `Missing or wrong ${CSRF_HEADER} header (read it from /api/auth/me)`);
    }
  }
}

function originOf(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}
