/**
 * How the dashboard names and formats query-model terms: metric and dimension labels, metric
 * values (counts, percentages, durations), changes against the comparison (and whether a
 * change is good news), and dimension values (country names, "Direct / none").
 */
import type { Condition, DateRange, FilterTree } from '$shared/query.ts';
import type { DateRangeName } from '$shared/query-terms.ts';
import { countryName } from './format.ts';

const METRICS: Record<string, string> = {
  visitors: 'Visitors',
  sessions: 'Visits',
  pageviews: 'Page views',
  events: 'Events',
  views_per_session: 'Views per visit',
  bounce_rate: 'Bounce rate',
  session_duration: 'Visit duration',
  revenue: 'Revenue',
  conversion_rate: 'Conversion rate',
  identified_users: 'Identified users',
  percentage: 'Share',
};

export function metricLabel(m: string): string {
  if (METRICS[m]) return METRICS[m];
  const [agg, ...key] = m.split(':');
  return `${agg} of ${key.join(':')}`;
}

const DIMENSIONS: Record<string, string> = {
  'event:name': 'Event',
  'event:path': 'Page',
  'event:origin': 'Site',
  'session:entry_path': 'Entry page',
  'session:exit_path': 'Exit page',
  'session:referrer': 'Referrer',
  'session:referrer_name': 'Source',
  'session:referrer_type': 'Channel',
  'session:utm_source': 'UTM source',
  'session:utm_medium': 'UTM medium',
  'session:utm_campaign': 'UTM campaign',
  'session:utm_term': 'UTM term',
  'session:utm_content': 'UTM content',
  'geo:country': 'Country',
  'geo:region': 'Region',
  'geo:city': 'City',
  'device:type': 'Device',
  'device:browser': 'Browser',
  'device:browser_version': 'Browser version',
  'device:os': 'OS',
  'device:os_version': 'OS version',
  'device:brand': 'Brand',
  'device:model': 'Model',
  'profile:id': 'Profile',
};

export function dimensionLabel(d: string): string {
  if (DIMENSIONS[d]) return DIMENSIONS[d];
  if (d.startsWith('event:props:')) return `Property ${d.slice('event:props:'.length)}`;
  if (d.startsWith('profile:props:')) return `Profile ${d.slice('profile:props:'.length)}`;
  return d;
}

const SOURCE_DIMS = new Set(['session:referrer', 'session:referrer_name', 'session:referrer_type']);

/** A dimension value as shown: '' reads "Direct / none" for sources, "(not set)" elsewhere. */
export function valueLabel(d: string, v: string): string {
  if (v === '') return SOURCE_DIMS.has(d) ? 'Direct / none' : '(not set)';
  if (d === 'geo:country') return countryName(v);
  return v;
}

const count = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** "45s", "3m 05s", "1h 02m". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const PERCENT = new Set(['bounce_rate', 'conversion_rate', 'percentage']);

/** A metric value for display; `compact` abbreviates large counts (12.3K). */
export function formatMetric(m: string, v: number | null | undefined, opts: { compact?: boolean } = {}): string {
  if (v === null || v === undefined) return '–';
  if (PERCENT.has(m)) return `${decimal.format(v < 10 ? Math.round(v * 10) / 10 : Math.round(v))}%`;
  if (m === 'session_duration') return formatDuration(v);
  if (m === 'views_per_session' || m.includes(':')) return decimal.format(v);
  return opts.compact && Math.abs(v) >= 10_000 ? compact.format(v) : count.format(v);
}

/** Rates whose rise is bad news. */
const LOWER_IS_BETTER = new Set(['bounce_rate']);

export interface Change {
  text: string;
  direction: 'up' | 'down' | 'flat' | 'new';
  /** True when the change is good news (green), false when bad, null when neither. */
  good: boolean | null;
}

/** A comparison change: percent for counts and averages, points for rates (what the API returns). */
export function formatChange(m: string, change: number | null | undefined, previous: number | null | undefined): Change {
  if (change === null || change === undefined) {
    return previous === 0 ? { text: 'new', direction: 'new', good: null } : { text: '', direction: 'flat', good: null };
  }
  const direction = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
  const unit = PERCENT.has(m) ? ' pt' : '%';
  const text = `${change > 0 ? '+' : change < 0 ? '−' : '±'}${decimal.format(Math.abs(change) < 10 ? Math.round(Math.abs(change) * 10) / 10 : Math.round(Math.abs(change)))}${unit}`;
  const good = direction === 'flat' ? null : (direction === 'up') !== LOWER_IS_BETTER.has(m);
  return { text, direction, good };
}

const RANGES: Record<DateRangeName, string> = {
  '30m': 'Last 30 minutes',
  today: 'Today',
  yesterday: 'Yesterday',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  month: 'This month',
  last_month: 'Last month',
  '12mo': 'Last 12 months',
  all: 'All time',
};

export function rangeLabel(r: DateRange): string {
  return Array.isArray(r) ? `${r[0]} – ${r[1]}` : RANGES[r];
}

export const RANGE_CHOICES = Object.entries(RANGES) as Array<[DateRangeName, string]>;

const OPS: Record<string, string> = {
  is: 'is',
  is_not: 'is not',
  contains: 'contains',
  not_contains: 'does not contain',
  starts_with: 'starts with',
  ends_with: 'ends with',
  matches: 'matches',
  not_matches: 'does not match',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  is_set: 'is set',
  is_not_set: 'is not set',
};

/** "Country is Germany or France". */
export function filterLabel(c: Condition): string {
  const values = c[2].map((v) => valueLabel(c[1], String(v))).join(' or ');
  return `${dimensionLabel(c[1])} ${OPS[c[0]] ?? c[0]}${values ? ` ${values}` : ''}`;
}

/** A filter tree in words (a share's fixed filter): conditions, `and`/`or` groups in brackets, `not`. */
export function treeLabel(t: FilterTree): string {
  if (t[0] === 'and' || t[0] === 'or') {
    const parts = (t[1] as FilterTree[]).map(treeLabel);
    return parts.length === 1 ? parts[0]! : `(${parts.join(` ${t[0]} `)})`;
  }
  if (t[0] === 'not') return `not ${treeLabel(t[1] as FilterTree)}`;
  return filterLabel(t as Condition);
}
