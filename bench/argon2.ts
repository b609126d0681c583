/**
 * `npm run bench:argon2 [-- --rounds 20]`: how long Livepanel's password hash
 * takes on this machine — argon2id with the parameters sign-in uses (server/auth/passwords.ts)
 * — hashing and verifying one at a time (p50/p95), and `rounds` verifications at once (the
 * sign-in rate a node sustains: they share libuv's thread pool, 4 threads by default). Baseline in the same run: the 32-byte
 * client-secret check (SHA-256) the ingest path uses, for the ratio. Saves bench/results/argon2-*.json.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ARGON2_PARAMS, hashPassword, verifyPassword } from '../server/auth/passwords.ts';
import { percentile, saveResults } from './support.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
const rounds = Number(values.rounds);
const pct = (xs: number[], p: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    p,
  );
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const password = 'correct horse battery staple';
const hashes: number[] = [];
let stored = '';
for (let i = 0; i < rounds; i++) hashes.push(await time(async () => (stored = await hashPassword(password))));
const verifies: number[] = [];
for (let i = 0; i < rounds; i++) verifies.push(await time(() => verifyPassword(stored, password)));

const parallelStart = performance.now();
await Promise.all(Array.from({ length: rounds }, () => verifyPassword(stored, password)));
const parallelMs = performance.now() - parallelStart;

const shaRounds = 100_000;
const shaStart = performance.now();
for (let i = 0; i < shaRounds; i++) createHash('sha256').update(`sec_${i}`).digest();
const shaMs = (performance.now() - shaStart) / shaRounds;

const result = {
  params: { ...ARGON2_PARAMS, algorithm: 'argon2id' },
  rounds,
  threadPool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
  hashMs: { p50: pct(hashes, 50), p95: pct(hashes, 95) },
  verifyMs: { p50: pct(verifies, 50), p95: pct(verifies, 95) },
  parallelVerifiesPerSecond: Math.round((rounds / parallelMs) * 1000),
  baselineSha256Ms: shaMs,
  ratioVerifyToSha256: Math.round(pct(verifies, 50) / shaMs),
};
console.log(JSON.stringify(result, null, 2));
saveResults('argon2', result);
