/**
 * URL step: splits the page URL the web SDK sends as `__path` (`https://shop.example/a?b#c`)
 * into `row.origin` (`https://shop.example`) and `row.path` (`/a`). Runs AFTER the utm step,
 * which reads the query this step throws away, and before the referrer step, which compares
 * the referrer's host with the page's origin.
 *
 * - Query strings are dropped: they fragment page statistics and carry ids and tokens.
 * - The fragment is dropped (`#pricing` is a place on the page, not a page) EXCEPT for hash
 *   routes — `#/settings` or `#!/settings` — where the fragment IS the page of a single-page
 *   app; then the path keeps it (`/#/settings`), minus any query inside it.
 * - Percent-escapes are decoded for readability (`/caf%C3%A9` → `/café`), reserved characters
 *   (`%2F`, `%3F`, `%23`) excepted, so distinct paths stay distinct.
 * - Anything that is not an absolute `scheme://` URL — a screen name from a mobile SDK
 *   (`Home`), a plain path (`/pricing`) — is left exactly as sent, and origin stays empty.
 */
import { createRecentMap } from '../../engines/recent-map.ts';
import type { Step } from '../types.ts';

const ABSOLUTE = /^[a-z][a-z\d+.-]*:\/\//i;
const HASH_ROUTE = /^#!?\//;

function decode(s: string): string {
  try {
    return decodeURI(s);
  } catch {
    return s; // a malformed escape: keep it as sent
  }
}

/** `{origin, path}` of an absolute URL, or undefined when `raw` is not one. */
export function splitUrl(raw: string): { origin: string; path: string } | undefined {
  if (!ABSOLUTE.test(raw)) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  const special = url.protocol === 'http:' || url.protocol === 'https:';
  // Non-web schemes (capacitor://localhost, app://…) have an opaque `origin` ('null'): build it.
  const origin = special ? url.origin : url.host ? `${url.protocol}//${url.host}` : '';
  let path = decode(url.pathname) || '/';
  if (HASH_ROUTE.test(url.hash)) path += decode(url.hash.split('?', 1)[0]!);
  return { origin, path };
}

/** Longest page URL whose split is remembered (longer ones are split every time). */
const MAX_CACHED_URL = 512;

/**
 * The url step. A site's visitors send the same few page URLs over and over, and parsing one
 * (a WHATWG URL, its getters, `decodeURI`) costs more than looking it up: the last
 * `cacheSize` to `2 × cacheSize` URLs up to 512 characters keep their split (at most ≈ 1 KB
 * each: a few MB at the default 5,000). 0 turns the cache off.
 */
export function createUrlStep(opts: { cacheSize?: number } = {}): Step {
  const size = opts.cacheSize ?? 5_000;
  const cache = size > 0 ? createRecentMap<string, { origin: string; path: string } | null>(size) : undefined;
  return {
    name: 'url',
    run(d) {
      const raw = d.row.path;
      let split = cache && raw.length <= MAX_CACHED_URL ? cache.get(raw) : undefined;
      if (split === undefined) {
        split = splitUrl(raw) ?? null;
        if (cache && raw.length <= MAX_CACHED_URL) cache.add(raw, split);
      }
      if (split) {
        d.row.origin = split.origin;
        d.row.path = split.path;
      }
      return d;
    },
  };
}

/** The url step without a cache (tests; the server builds its own with `createUrlStep`). */
export const urlStep: Step = createUrlStep({ cacheSize: 0 });
