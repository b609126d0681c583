/**
 * Password hashing for dashboard users and password-protected share links: argon2id through
 * `@node-rs/argon2` (Rust, prebuilt for Linux/macOS, runs on libuv's thread pool so the event
 * loop never waits on it). Parameters are OWASP's first recommendation for argon2id:
 * 19 MiB of memory, 2 passes, 1 lane — about 30–70 ms per hash on a 2-core server
 * (`npm run bench:argon2` measures it). The parameters live in each stored PHC string, so
 * raising them later keeps old hashes verifiable; `needsRehash` says when to upgrade one.
 */
import { hash, verify } from '@node-rs/argon2';
import { PASSWORD_MAX } from '../../shared/auth.ts';

/** `algorithm: 2` is `Algorithm.Argon2id` (a const enum, which isolated modules cannot read). */
export const ARGON2_PARAMS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS);
}

/** A hash of nothing anyone knows, verified against when there is no user, so a miss costs as much as a hit. */
let decoy: Promise<string> | undefined;

/**
 * True when `password` matches `stored`. With `stored` null (no such user) it still runs one
 * verification, so response times do not tell whether an email is registered.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX) return false;
  if (stored === null) {
    decoy ??= hashPassword(`decoy-${Math.random()}`);
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(stored, password);
  } catch {
    return false; // a malformed stored hash is a mismatch, not a crash
  }
}

/** True when `stored` was made with other parameters than today's (re-hash after a successful sign-in). */
export function needsRehash(stored: string): boolean {
  const p = ARGON2_PARAMS;
  return !stored.startsWith(`$argon2id$v=19$m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism}$`);
}
