/**
 * Date ranges and time buckets in a time zone. A range is a pair of UTC instants [from, to);
 * named ranges are whole local periods (days, hours, minutes, months) so that they line up
 * with the rollups and with each other:
 *
 *   30m         the current minute and the 29 before it
 *   24h         the current hour and the 23 before it
 *   today       local midnight to the next         yesterday   the day before
 *   7d, 30d     the last 7 / 30 local days, today included
 *   month       the current calendar month         last_month  the one before
 *   12mo        the current month and the 11 before it
 *   all         from the local day of the project's first event to the end of today
 *   [from, to]  dates: whole local days, both included; date-times: instants, `to` excluded
 *
 * Comparisons: previous_period is the same number of months (for month-aligned ranges),
 * local days (day-aligned) or milliseconds right before; year_over_year is the same local
 * calendar range a year earlier. Time arithmetic is Temporal's (temporal-polyfill), so
 * daylight-saving days are 23 or 25 hours long, as they are.
 */
import { Temporal } from 'temporal-polyfill';
import type { Compare, CustomRange, DateRange } from '../../shared/query.ts';
import type { TimeGrain } from '../../shared/query-terms.ts';
import { invalidQuery } from './invalid.ts';

export interface Range {
  /** Epoch ms, included. */
  from: number;
  /** Epoch ms, excluded. */
  to: number;
}

const MIN_MS = Date.UTC(1971, 0, 1);
const MAX_MS = Date.UTC(2200, 0, 1);

const zoned = (ms: number, tz: string) => Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(tz);
const ms = (z: Temporal.ZonedDateTime) => z.epochMilliseconds;

/**
 * Resolves a date range at `now` in `tz`. `earliest` (epoch ms of the project's first event,
 * null when it has none) is only read for `all`.
 */
export function resolveRange(range: DateRange, tz: string, now: number, earliest?: number | null): Range {
  if (Array.isArray(range)) return resolveCustom(range, tz);
  const z = zoned(now, tz);
  const day = z.startOfDay();
  const monthStart = day.with({ day: 1 }).startOfDay();
  switch (range) {
    case '30m': {
      const end = z.round({ smallestUnit: 'minute', roundingMode: 'floor' }).add({ minutes: 1 });
      return { from: ms(end.subtract({ minutes: 30 })), to: ms(end) };
    }
    case '24h': {
      const end = z.round({ smallestUnit: 'hour', roundingMode: 'floor' }).add({ hours: 1 });
      return { from: ms(end.subtract({ hours: 24 })), to: ms(end) };
    }
    case 'today':
      return { from: ms(day), to: ms(day.add({ days: 1 }).startOfDay()) };
    case 'yesterday':
      return { from: ms(day.subtract({ days: 1 }).startOfDay()), to: ms(day) };
    case '7d':
      return { from: ms(day.subtract({ days: 6 }).startOfDay()), to: ms(day.add({ days: 1 }).startOfDay()) };
    case '30d':
      return { from: ms(day.subtract({ days: 29 }).startOfDay()), to: ms(day.add({ days: 1 }).startOfDay()) };
    case 'month':
      return { from: ms(monthStart), to: ms(monthStart.add({ months: 1 }).startOfDay()) };
    case 'last_month':
      return { from: ms(monthStart.subtract({ months: 1 }).startOfDay()), to: ms(monthStart) };
    case '12mo':
      return { from: ms(monthStart.subtract({ months: 11 }).startOfDay()), to: ms(monthStart.add({ months: 1 }).startOfDay()) };
    case 'all': {
      const first = earliest != null && earliest < now ? zoned(earliest, tz).startOfDay() : day;
      return { from: ms(first), to: ms(day.add({ days: 1 }).startOfDay()) };
    }
  }
}

function resolveCustom([a, b]: CustomRange, tz: string): Range {
  const isDate = (s: string) => s.length === 10;
  const from = isDate(a) ? ms(Temporal.PlainDate.from(a).toZonedDateTime({ timeZone: tz })) : Date.parse(a);
  const to = isDate(b) ? ms(Temporal.PlainDate.from(b).add({ days: 1 }).toZonedDateTime({ timeZone: tz })) : Date.parse(b);
  return checked({ from, to });
}

function checked(r: Range): Range {
  if (!Number.isFinite(r.from) || !Number.isFinite(r.to)) throw invalidQuery('date range is not a valid date');
  if (r.from < MIN_MS || r.to > MAX_MS) throw invalidQuery('date range must lie between 1971 and 2200');
  if (r.from >= r.to) throw invalidQuery('date range must end after it starts');
  return r;
}

/** The comparison range of `range` for `compare`, or undefined without one. */
export function resolveComparison(range: Range, compare: Compare | undefined, tz: string): Range | undefined {
  if (compare === undefined) return undefined;
  if (Array.isArray(compare)) return resolveCustom(compare, tz);
  const from = zoned(range.from, tz);
  const to = zoned(range.to, tz);
  if (compare === 'year_over_year') return checked({ from: ms(from.subtract({ years: 1 })), to: ms(to.subtract({ years: 1 })) });
  if (isMonthStart(from) && isMonthStart(to)) {
    const months = from.toPlainDate().until(to.toPlainDate(), { largestUnit: 'months' }).months;
    return checked({ from: ms(from.subtract({ months }).startOfDay()), to: range.from });
  }
  if (isDayStart(from) && isDayStart(to)) {
    const days = from.toPlainDate().until(to.toPlainDate(), { largestUnit: 'days' }).days;
    return checked({ from: ms(from.subtract({ days }).startOfDay()), to: range.from });
  }
  return checked({ from: range.from - (range.to - range.from), to: range.from });
}

const isDayStart = (z: Temporal.ZonedDateTime) => z.equals(z.startOfDay());
const isMonthStart = (z: Temporal.ZonedDateTime) => z.day === 1 && isDayStart(z);

/** One time bucket: its start (epoch ms) and its label in the zone. */
export interface Bucket {
  start: number;
  label: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Wall-clock fields of an instant in a zone. Bucket lists can be thousands long and Temporal's
 * polyfill costs ~150 µs a step, so buckets use Intl (a cached formatter per zone, ~10 µs).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function wall(t: number, tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(t)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, mo: parts.month!, d: parts.day!, h: parts.hour!, mi: parts.minute!, s: parts.second! };
}

/** The zone's offset from UTC at instant `t`, in ms. */
function offsetAt(t: number, tz: string): number {
  const w = wall(t, tz);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
}

/** The instant of local midnight starting a calendar date (y, month 1–12, d) in the zone (the first instant of that date). */
function localMidnight(y: number, mo: number, d: number, tz: string): number {
  const guess = Date.UTC(y, mo - 1, d);
  let t = guess - offsetAt(guess, tz);
  t = guess - offsetAt(t, tz);
  // A zone that skips midnight (a DST jump at 00:00) starts the day at the first instant after.
  const w = wall(t, tz);
  if (Date.UTC(w.y, w.mo - 1, w.d) < guess) t += 3_600_000;
  return t;
}

/** A calendar date moved by whole days or months (pure calendar arithmetic, no zone). */
function shiftDate(y: number, mo: number, d: number, days: number, months = 0) {
  const x = new Date(Date.UTC(y, mo - 1 + months, d + days));
  return { y: x.getUTCFullYear(), mo: x.getUTCMonth() + 1, d: x.getUTCDate() };
}

/**
 * Every bucket of `grain` that overlaps `range`, in order, stopping after `max` buckets
 * (the caller refuses the query then) and before buckets that start after `until` (the future
 * holds no data). Weeks start on Monday. Labels: `YYYY-MM-DD HH:mm` for minutes and hours,
 * `YYYY-MM-DD` for days, weeks (their Monday) and months (their first day) — what
 * ClickHouse's toStartOfMinute/Hour, toDate, toMonday and toStartOfMonth give in the zone.
 */
export function buckets(range: Range, grain: TimeGrain, tz: string, opts: { max: number; until?: number }): { buckets: Bucket[]; truncated: boolean } {
  const out: Bucket[] = [];
  const last = Math.min(range.to - 1, opts.until ?? Number.POSITIVE_INFINITY);
  const push = (start: number, label: string) => {
    if (out.length >= opts.max) return false;
    out.push({ start, label });
    return true;
  };
  if (grain === 'minute' || grain === 'hour') {
    // Local minutes and hours are fixed lengths of absolute time (offsets change by whole hours).
    const unit = grain === 'minute' ? 60_000 : 3_600_000;
    const w0 = wall(range.from, tz);
    let t = range.from - (grain === 'minute' ? w0.s * 1000 : (w0.mi * 60 + w0.s) * 1000) - (range.from % 1000);
    for (; t <= last; t += unit) {
      const w = wall(t, tz);
      if (!push(t, `${w.y}-${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}`)) return { buckets: out, truncated: true };
    }
    return { buckets: out, truncated: false };
  }
  const w0 = wall(range.from, tz);
  let date = { y: w0.y, mo: w0.mo, d: w0.d };
  if (grain === 'week') {
    const dow = (new Date(Date.UTC(date.y, date.mo - 1, date.d)).getUTCDay() + 6) % 7; // Monday = 0
    date = shiftDate(date.y, date.mo, date.d, -dow);
  } else if (grain === 'month') date = { ...date, d: 1 };
  for (;;) {
    const start = localMidnight(date.y, date.mo, date.d, tz);
    if (start > last) break;
    if (!push(start, `${date.y}-${pad(date.mo)}-${pad(date.d)}`)) return { buckets: out, truncated: true };
    date =
      grain === 'day' ? shiftDate(date.y, date.mo, date.d, 1) : grain === 'week' ? shiftDate(date.y, date.mo, date.d, 7) : shiftDate(date.y, date.mo, 1, 0, 1);
  }
  return { buckets: out, truncated: false };
}

/** True when every instant is a whole UTC hour / UTC day (what the hourly / daily rollups can answer). */
export function alignedTo(unitMs: number, ...instants: number[]): boolean {
  return instants.every((t) => t % unitMs === 0);
}

/** ISO text of an instant, for `meta.date_range`. */
export const iso = (t: number) => new Date(t).toISOString();
