/**
 * API client secrets and allowed-origin lists as the metadata store keeps them.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { normalizeOrigin } from '../auth/origin.ts';
import { AppError } from '../errors.ts';

/*
 * Why SHA-256 and not bcrypt/argon2 for client secrets: a secret is 32 bytes from the CSPRNG,
 * so there is nothing to brute-force that a slow hash would protect, and it is checked on
 * the hot ingest path where a 100 ms hash per request would cap throughput. User passwords
 * are low-entropy and chosen by people; they get a slow, salted hash instead.
 */

/** A new client secret: `sec_` + 32 random bytes in base64url. */
export function generateSecret(): string {
  return `sec_${randomBytes(32).toString('base64url')}`;
}

/** The stored form of a secret: SHA-256, hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** True when `secret` hashes to `hash`; compares in constant time. */
export function verifySecret(secret: string, hash: string): boolean {
  const expected = Buffer.from(hash, 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Normalises allowed-origin entries (deduplicated); 400 `invalid_body` names the first bad one. */
export function normalizeOrigins(origins: readonly string[]): string[] {
  const out: string[] = [];
  for (const o of origins) {
    const n = normalizeOrigin(o);
    if (n === null) throw new AppError(400, 'invalid_body', `not a valid origin: ${JSON.stringify(o)}`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}
