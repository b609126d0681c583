/**
 * Signing in with an email and a password, rate limited per IP and per account through the
 * RateLimits engine (shared by every node in the distributed shape). The answer never tells
 * whether an email is registered: unknown emails cost one argon2 verification like known
 * ones, count against the same per-account budget, and get the same words when locked out.
 */
import { createHash } from 'node:crypto';
import type { RateLimitRule, RateLimits } from '../engines/rate-limit.ts';
import { AppError } from '../errors.ts';
import { type Accounts, normalizeEmail } from '../store/accounts.ts';
import { hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import type { UserSessions } from './user-sessions.ts';

/** Attempts per account (successful ones give the budget back), then a 15-minute lock. */
export const SIGN_IN_ACCOUNT_RULE: RateLimitRule = { name: 'signin-account', points: 8, durationMs: 15 * 60_000, blockDurationMs: 15 * 60_000 };
/** Attempts per IP address over all accounts (an office behind one NAT still fits). */
export const SIGN_IN_IP_RULE: RateLimitRule = { name: 'signin-ip', points: 60, durationMs: 10 * 60_000, blockDurationMs: 10 * 60_000 };

export interface SignInRequest {
  email: string;
  password: string;
  ip: string;
  userAgent: string;
}

function lockedOut(retryAfterMs: number): AppError {
  const minutes = Math.max(1, Math.ceil(retryAfterMs / 60_000));
  const err = new AppError(429, 'rate_limited', `Too many sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
  err.retryAfterMs = retryAfterMs;
  return err;
}

/** Rate-limit key of an account: a hash, so emails do not sit in Redis. */
const accountKey = (email: string) => createHash('sha256').update(normalizeEmail(email)).digest('base64url');

export function createSignIn(o: { accounts: Accounts; sessions: UserSessions; rateLimits: RateLimits; now?: () => number }) {
  const now = o.now ?? Date.now;
  const byAccount = o.rateLimits.limiter(SIGN_IN_ACCOUNT_RULE);
  const byIp = o.rateLimits.limiter(SIGN_IN_IP_RULE);

  return async function signIn(r: SignInRequest): Promise<{ userId: string; token: string; expiresAt: Date }> {
    const ip = await byIp.consume(r.ip || 'unknown');
    if (!ip.allowed) throw lockedOut(ip.retryAfterMs);
    const key = accountKey(r.email);
    const account = await byAccount.consume(key);
    if (!account.allowed) throw lockedOut(account.retryAfterMs);

    const user = await o.accounts.userForSignIn(r.email);
    const ok = await verifyPassword(user?.passwordHash ?? null, r.password);
    if (!user || !ok) throw new AppError(401, 'bad_credentials', 'Email or password is incorrect');

    await byAccount.reset(key);
    if (needsRehash(user.passwordHash)) await o.accounts.setPassword(user.id, await hashPassword(r.password));
    await o.accounts.touchSignIn(user.id, new Date(now()));
    const session = await o.sessions.create(user.id, { userAgent: r.userAgent, ip: r.ip });
    return { userId: user.id, token: session.token, expiresAt: session.expiresAt };
  };
}
