/**
 * The URL of an analytics page ⇄ the view it shows (range, comparison, filters, zone), so
 * any view can be shared, bookmarked and reloaded. Format:
 *
 *   ?range=7d                         a named range (default 30d)
 *   ?range=custom&from=2024-01-01&to=2024-01-31
 *   ?compare=off | year_over_year     (default: previous_period)
 *   ?tz=Europe/Berlin                 (default: the project's zone)
 *   ?f=is,geo:country,US,DE           one condition per `f`, all must hold: op, dimension,
 *   ?f=contains/i,event:path,/blog    values; `/i` = case-insensitive; `\` escapes `,` and `\`
 *
 * Anything unreadable in a URL is dropped rather than shown as an error: a hand-edited link
 * still opens.
 */
import type { View } from '$shared/overview.ts';
import type { Condition } from '$shared/query.ts';
import { DATE_RANGES, type DateRangeName, DIMENSIONS, FILTER_OPS, type FilterOp, isTimeDimension, UNARY_OPS } from '$shared/query-terms.ts';

export const DEFAULT_RANGE: DateRangeName = '30d';
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Splits on commas not escaped with a backslash, and unescapes. */
export function splitEscaped(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) cur += s[++i];
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const escapeField = (s: string) => s.replace(/[\\,]/g, (c) => `\\${c}`);

function isDimension(d: string): boolean {
  if (isTimeDimension(d)) return false;
  return (DIMENSIONS as readonly string[]).includes(d) || (/^(event|profile):props:.+/.test(d) && d.length <= 220);
}

/** One `f` parameter as a condition, or null when it is not one. */
export function parseFilter(raw: string): Condition | null {
  const [opField, dim, ...values] = splitEscaped(raw);
  if (!opField || !dim) return null;
  const [op, flag] = opField.split('/') as [string, string | undefined];
  if (!(FILTER_OPS as readonly string[]).includes(op) || !isDimension(dim)) return null;
  const unary = UNARY_OPS.includes(op as FilterOp);
  if (unary !== (values.length === 0)) return null;
  const cond: Condition = [op as FilterOp, dim as Condition[1], values];
  if (flag === 'i') cond[3] = { case_sensitive: false };
  return cond;
}

export function formatFilter(c: Condition): string {
  const op = c[3]?.case_sensitive === false ? `${c[0]}/i` : c[0];
  return [op, c[1], ...c[2].map(String)].map(escapeField).join(',');
}

/** The view a page URL describes. */
export function readView(url: URL): View {
  const p = url.searchParams;
  const rangeParam = p.get('range') ?? DEFAULT_RANGE;
  let range: View['range'] = DEFAULT_RANGE;
  if ((DATE_RANGES as readonly string[]).includes(rangeParam)) range = rangeParam as DateRangeName;
  else if (rangeParam === 'custom') {
    const from = p.get('from') ?? '';
    const to = p.get('to') ?? '';
    if (DATE.test(from) && DATE.test(to) && from <= to) range = [from, to];
  }
  const compareParam = p.get('compare');
  const compare: View['compare'] = compareParam === 'off' ? null : compareParam === 'year_over_year' ? 'year_over_year' : 'previous_period';
  const filters = p
    .getAll('f')
    .map(parseFilter)
    .filter((c): c is Condition => c !== null);
  const tz = p.get('tz');
  return { range, compare, filters, ...(tz && /^[\w+\-/]{1,64}$/.test(tz) ? { timezone: tz } : {}) };
}

/** The query string (with `?`, or '' for the default view) for a view; other parameters of `keep` survive. */
export function viewSearch(view: View, keep?: URLSearchParams): string {
  const p = new URLSearchParams();
  if (keep) for (const [k, v] of keep) if (!['range', 'from', 'to', 'compare', 'f', 'tz'].includes(k)) p.append(k, v);
  if (Array.isArray(view.range)) {
    p.set('range', 'custom');
    p.set('from', view.range[0]);
    p.set('to', view.range[1]);
  } else if (view.range !== DEFAULT_RANGE) p.set('range', view.range);
  if (view.compare === null) p.set('compare', 'off');
  else if (view.compare === 'year_over_year') p.set('compare', 'year_over_year');
  if (view.timezone) p.set('tz', view.timezone);
  for (const f of view.filters) p.append('f', formatFilter(f));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const sameCondition = (a: Condition, b: Condition) => formatFilter(a) === formatFilter(b);

/** The view with `cond` added (a no-op when it is there already). */
export function withFilter(view: View, cond: Condition): View {
  if (view.filters.some((f) => sameCondition(f, cond))) return view;
  return { ...view, filters: [...view.filters, cond] };
}

/** The view with the filter at `index` removed. */
export function withoutFilter(view: View, index: number): View {
  return { ...view, filters: view.filters.filter((_, i) => i !== index) };
}

/** The filter a click on a breakdown row adds: that dimension is that value. */
export function rowFilter(dimension: string, value: string): Condition {
  return ['is', dimension as Condition[1], [value]];
}
