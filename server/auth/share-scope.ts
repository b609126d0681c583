/**
 * What a share link may ask the query API. A share reaches only what it names: an overview
 * share answers the overview's numbers — its metrics, over the dimensions its cards and
 * breakdowns show — so its holder cannot list profile ids or property values the overview
 * never shows, nor use the viewer's own filters to probe for them. Every share's fixed filter
 * is added to the query by the caller (it cannot be removed); a conversion rate, whose
 * denominator drops event conditions, would count visitors outside that filter, so a share with
 * a fixed filter cannot ask for one.
 */
import { CARD_METRICS, PANELS } from '../../shared/overview.ts';
import type { FilterTree, Query } from '../../shared/query.ts';
import { isTimeDimension } from '../../shared/query-terms.ts';
import type { SharePrincipal } from './principal.ts';

/** Metrics the overview shows (cards, breakdowns, the "any events yet?" check). */
const OVERVIEW_METRICS = new Set<string>([...CARD_METRICS, 'percentage', 'events']);
/** Dimensions the overview's breakdowns show (and its series' time buckets), plus event names. */
const OVERVIEW_DIMENSIONS = new Set<string>([...Object.values(PANELS).flatMap((ps) => ps.map((p) => p.dimension)), 'event:name']);

const dimensionsOf = (t: FilterTree): string[] =>
  t[0] === 'and' || t[0] === 'or' ? (t[1] as FilterTree[]).flatMap(dimensionsOf) : t[0] === 'not' ? dimensionsOf(t[1] as FilterTree) : [t[1] as string];

/** Why `share` may not run `query` (before its fixed filter is added), or null when it may. */
export function shareQueryProblem(share: Pick<SharePrincipal, 'target' | 'filter'>, query: Pick<Query, 'metrics' | 'dimensions' | 'filters'>): string | null {
  if (share.filter && share.filter.length > 0 && query.metrics.includes('conversion_rate')) {
    return 'A share link with a fixed filter cannot ask for a conversion rate';
  }
  if (share.target.kind !== 'overview') return null;
  const metric = query.metrics.find((m) => !OVERVIEW_METRICS.has(m));
  if (metric) return `An overview share link answers the overview's metrics only, not ${metric}`;
  const allowed = (d: string) => isTimeDimension(d) || OVERVIEW_DIMENSIONS.has(d);
  const dimension = [...(query.dimensions ?? []), ...(query.filters ?? []).flatMap(dimensionsOf)].find((d) => !allowed(d));
  if (dimension) return `An overview share link answers the overview's dimensions only, not ${dimension}`;
  return null;
}
