/**
 * Bearer tokens of the auth module (session cookies, invitation links, share links): 32 bytes
 * from the CSPRNG with a readable prefix, stored only as their SHA-256. A slow hash would add
 * nothing here: 256 random bits cannot be guessed, and tokens are checked on every request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type TokenKind = 'lps' | 'lpi' | 'lpsh';

/** A new token: `<kind>_` + 32 random bytes in base64url. */
export function newToken(kind: TokenKind): string {
  return `${kind}_${randomBytes(32).toString('base64url')}`;
}

/** The stored form of a token: SHA-256, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when a presented token looks like one of ours (cheap check before any lookup). */
export function tokenShape(kind: TokenKind, token: string | undefined): token is string {
  return typeof token === 'string' && token.length === kind.length + 44 && token.startsWith(`${kind}_`) && /^[\w-]+$/.test(token.slice(kind.length + 1));
}

/** Constant-time equality of two strings (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
