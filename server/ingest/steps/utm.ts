/**
 * UTM step: campaign parameters from the page URL's query (`utm_source`, `utm_medium`,
 * `utm_campaign`, `utm_term`, `utm_content`; `ref` — as in `?ref=producthunt` — stands in for a
 * missing `utm_source`). Runs BEFORE the url step, which drops the query. Hash-router URLs
 * (`/#/page?utm_source=x`) are read too; the real query wins over the one inside the hash.
 */
import type { Step } from '../types.ts';

/** Longest campaign value kept; longer ones are cut (they are labels, not payloads). */
export const MAX_UTM_LENGTH = 256;

const FIELDS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;
export type UtmField = (typeof FIELDS)[number];

/** The query parts of a URL or path: the one before `#`, then the one inside a hash route. */
function queries(url: string): URLSearchParams[] {
  const hashAt = url.indexOf('#');
  const main = hashAt < 0 ? url : url.slice(0, hashAt);
  const out: URLSearchParams[] = [];
  const q = main.indexOf('?');
  if (q >= 0) out.push(new URLSearchParams(main.slice(q + 1)));
  if (hashAt >= 0) {
    const hash = url.slice(hashAt + 1);
    const hq = hash.indexOf('?');
    if (hq >= 0 && /^!?\//.test(hash)) out.push(new URLSearchParams(hash.slice(hq + 1)));
  }
  return out;
}

/** Campaign fields found in `url` (only those present and non-empty). */
export function parseUtm(url: string): Partial<Record<UtmField, string>> {
  const out: Partial<Record<UtmField, string>> = {};
  if (!url.includes('?')) return out;
  for (const params of queries(url)) {
    for (const field of FIELDS) {
      const v = params.get(field)?.trim();
      if (v && out[field] === undefined) out[field] = v.slice(0, MAX_UTM_LENGTH);
    }
    const ref = params.get('ref')?.trim();
    if (ref && out.utm_source === undefined) out.utm_source = ref.slice(0, MAX_UTM_LENGTH);
  }
  return out;
}

/** The utm step (const: no dependencies). */
export const utmStep: Step = {
  name: 'utm',
  run(d) {
    if (!d.row.path.includes('?')) return d; // most pages: no query, nothing to read
    const utm = parseUtm(d.row.path);
    for (const field of FIELDS) {
      const v = utm[field];
      if (v !== undefined) d.row[field] = v;
    }
    return d;
  },
};
