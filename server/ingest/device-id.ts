/**
 * Cookieless device ids: a keyed hash of (project, user agent, IP) under a secret salt that
 * rotates every UTC day, so the same browser gets the same id all day without any cookie or
 * stored identifier, and ids cannot be linked across days or projects, nor reversed to an IP
 * (the salt is secret and discarded after two days). Salts come from a `SaltSource`.
 *
 * The id is HMAC-SHA256(salt, project ⏎ ua ⏎ ip) cut to 32 hex characters = 128 bits: the size
 * of a UUID, short enough for the device_id column and the SDKs, and far past collisions —
 * even a billion devices a day in one project collide with probability ≈ 1e-21
 * (n²/2^129), where 64 bits would already give ≈ 3 %.
 */
import { createHmac } from 'node:crypto';
import { createRecentMap } from '../engines/recent-map.ts';
import { normalizeIp } from './geoip.ts';

export type { SaltSource } from './salts.ts';

/** Hex characters kept from the HMAC (128 bits; see the module header). */
export const DEVICE_ID_HEX_LENGTH = 32;

/**
 * The cookieless device id of (project, user agent, IP) under `salt`. IPv4-mapped IPv6 and
 * plain IPv4 forms of one address give one id.
 */
export function cookielessDeviceId(salt: string, projectId: string, userAgent: string, ip: string): string {
  // An empty key would make the hash a public function of (UA, IP): the IPv4 space could be
  // searched in minutes. A missing salt is a bug upstream; fail loudly.
  if (!salt) throw new Error('device id salt is empty');
  // Separators keep fields apart: ('ab','c') and ('a','bc') must not hash alike.
  // The events of one request or socket batch share all four: the last answer first, compared
  // field by field (cheaper than building and hashing the cache key for each event).
  if (salt === last.salt && projectId === last.projectId && userAgent === last.userAgent && ip === last.ip) return last.id;
  const key = `${numberOf(saltNumbers, salt, 16)}\n${projectId}\n${numberOf(agentNumbers, userAgent, 4096)}\n${ip}`;
  let id = recent.get(key);
  if (id === undefined) {
    const canonical = `${projectId}\n${userAgent}\n${normalizeIp(ip)?.ip ?? ip}`;
    // Hex of the first bytes only: a `slice` of the whole digest's hex would keep that 64-character
    // string alive behind every id held in the session store and the caches (≈ 80 bytes a visitor).
    id = createHmac('sha256', salt)
      .update(canonical)
      .digest()
      .toString('hex', 0, DEVICE_ID_HEX_LENGTH / 2);
    recent.add(key, id);
  }
  last = { salt, projectId, userAgent, ip, id };
  return id;
}

let last = { salt: '', projectId: '', userAgent: '', ip: '', id: '' };

// A visitor sends many events: two HMACs per event were ≈ 7 % of ingest CPU. The cache is
// keyed by the salt too, so the midnight rotation needs no flush (its keys live in this
// process's memory only, like the request they came from). Two generations of 10,000 (at most
// 20,000 held, as the lru-cache it replaced): a hit is one Map lookup, where lru-cache's `get`
// also updated its recency list and checked for metrics subscribers (≈ 3 % of the `/track`
// main thread with the other ingest caches; docs/benchmarks.md).
const recent = createRecentMap<string, string>(10_000);

/**
 * The cache's keys name the salt and the user agent by a number, not by the strings: with the
 * request's own copy of its user agent in its key, an entry took ≈ 370 B (≈ 7 MB at 20,000);
 * numbered, ≈ 240 B (device-id.test.ts). A number is never given to two strings (the counter
 * only grows; a full table is dropped and its strings get new numbers), so two keys are equal
 * only if their salts, projects, agents and IPs are.
 */
const saltNumbers = new Map<string, number>();
const agentNumbers = new Map<string, number>();
let nextNumber = 0;

/** The number standing for `value` in `table`, which holds at most `max` values. */
function numberOf(table: Map<string, number>, value: string, max: number): number {
  let n = table.get(value);
  if (n === undefined) {
    if (table.size >= max) table.clear();
    n = nextNumber++;
    table.set(value, n);
  }
  return n;
}
