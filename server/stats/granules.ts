/**
 * Reading a range of whole UTC days from the rollups at the coarsest granule that fits
 * (010_weekly_monthly_rollups.sql): its whole calendar months, then whole ISO weeks (Monday,
 * UTC), both from `<family>_periods` (012_period_rollups.sql; read directly, not through its
 * `<family>_monthly`/`_weekly` views, which cost 2–4 ms of CPU per statement more), then the
 * days left over from `<family>_daily`. A week's or month's uniq state is the union of its days' states, so the
 * answer is the one the daily rollup gives, but a visitor seen on 20 days of a month is one
 * hash to merge instead of 20 (the cost of a visitor count is the number of hashes merged).
 *
 * With a time dimension, a piece never spans two of its buckets: days for `time:day`; weeks
 * and days for `time:week`; months, weeks inside one month, and days for `time:month`.
 * Pure: the compiler (compile.ts) asks for the FROM clause and gets SQL text back.
 */
import type { TimeGrain } from '../../shared/query-terms.ts';
import type { Params } from './sql.ts';

const DAY = 86_400_000;

/** Rollup families with weekly and monthly tables, and the columns their tables share. */
export const GRANULE_COLUMNS = {
  events: ['bucket', 'name', 'events', 'devices', 'sessions'],
  pages: ['bucket', 'name', 'path', 'events', 'devices', 'sessions'],
  visits: ['bucket', 'dimension', 'value', 'visits', 'devices'],
} as const;
export type GranuleFamily = keyof typeof GRANULE_COLUMNS;

export type Level = 'monthly' | 'weekly' | 'daily';
/** Runs of [from, to) (epoch ms, UTC midnights) to read at each level. */
export type Pieces = Record<Level, Array<[number, number]>>;

const nextMonth = (t: number) => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};
const isMonthStart = (t: number) => new Date(t).getUTCDate() === 1;
const isMonday = (t: number) => new Date(t).getUTCDay() === 1;

/**
 * Splits [from, to) — both UTC midnights — into months, weeks and days, never across a bucket
 * boundary of `grain` (`cuts`: the buckets' starts, all UTC midnights).
 */
export function dayPieces(from: number, to: number, grain: TimeGrain | undefined, cuts: readonly number[] = []): Pieces {
  const out: Pieces = { monthly: [], weekly: [], daily: [] };
  const add = (level: Level, a: number, b: number) => {
    const runs = out[level];
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = b;
    else runs.push([a, b]);
  };
  const useMonths = grain === undefined || grain === 'month';
  const useWeeks = grain === undefined || grain === 'week' || grain === 'month';
  const weeksAndDays = (a: number, b: number) => {
    let t = a;
    while (t < b) {
      if (useWeeks && isMonday(t) && t + 7 * DAY <= b) {
        add('weekly', t, t + 7 * DAY);
        t += 7 * DAY;
      } else {
        add('daily', t, t + DAY);
        t += DAY;
      }
    }
  };
  const bounds = [from, ...[...new Set(cuts)].filter((c) => c > from && c < to).sort((x, y) => x - y), to];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [a, b] = [bounds[i]!, bounds[i + 1]!];
    // Whole months first (they hold the fewest hashes per day), then weeks in what is left.
    let m = a;
    while (useMonths && !isMonthStart(m) && m < b) m += DAY;
    let end = m;
    while (useMonths && end < b && nextMonth(end) <= b) end = nextMonth(end);
    if (!useMonths || end === m) {
      weeksAndDays(a, b);
      continue;
    }
    weeksAndDays(a, m);
    for (let t = m; t < end; t = nextMonth(t)) add('monthly', t, nextMonth(t));
    weeksAndDays(end, b);
  }
  return out;
}

/** The `period` of the weekly and monthly rows in `<family>_periods` (`sources` still name the level: `events_monthly`, …). */
const PERIOD: Partial<Record<Level, string>> = { monthly: 'month', weekly: 'week' };

/**
 * The FROM of a rollup read over [from, to): the daily table itself when no week or month fits,
 * else a UNION ALL of each level's rows in its runs, each branch carrying `where` (conditions on
 * the family's columns, the project's first). Returns what to select FROM, the conditions
 * left for the outer WHERE, and the tables read.
 */
export function granuleSource(
  family: GranuleFamily,
  range: { from: number; to: number },
  grain: TimeGrain | undefined,
  cuts: readonly number[],
  where: string[],
  p: Params,
): { from: string; where: string[]; sources: string[] } {
  const pieces = dayPieces(range.from, range.to, grain, cuts);
  const oneBucket = (level: Level, a: number, b: number) => (level === 'monthly' ? nextMonth(a) === b : b - a === (level === 'weekly' ? 7 : 1) * DAY);
  const runsSql = (level: Level, runs: Array<[number, number]>) => {
    const terms = runs.map(([a, b]) => (oneBucket(level, a, b) ? `bucket = ${p.time(a)}` : `(bucket >= ${p.time(a)} AND bucket < ${p.time(b)})`));
    return terms.length === 1 ? terms[0]! : `(${terms.join(' OR ')})`;
  };
  const [project, ...rest] = where;
  if (pieces.monthly.length === 0 && pieces.weekly.length === 0) {
    const all = `bucket >= ${p.time(range.from)} AND bucket < ${p.time(range.to)}`;
    return { from: `${family}_daily`, where: [project!, all, ...rest], sources: [`${family}_daily`] };
  }
  const columns = GRANULE_COLUMNS[family].join(', ');
  const levels = (['monthly', 'weekly', 'daily'] as const).filter((l) => pieces[l].length > 0);
  const branches = levels.map((l) => {
    const period = PERIOD[l];
    const conditions = [project!, ...(period ? [`period = '${period}'`] : []), runsSql(l, pieces[l]), ...rest];
    return `SELECT ${columns} FROM ${period ? `${family}_periods` : `${family}_${l}`} WHERE ${conditions.join(' AND ')}`;
  });
  return { from: `(${branches.join('\n  UNION ALL ')})`, where: [], sources: levels.map((l) => `${family}_${l}`) };
}
