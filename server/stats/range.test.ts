// Date ranges and buckets in time zones: named ranges at a given now, daylight-saving days,
// comparisons, and bucket lists matching what ClickHouse's toStartOf… functions produce.
import { describe, expect, it } from 'vitest';
import { buckets, iso, resolveComparison, resolveRange } from './range.ts';

const at = (s: string) => Date.parse(s);
const isoRange = (r: { from: number; to: number }) => [iso(r.from), iso(r.to)];

describe('resolveRange', () => {
  const now = at('2024-03-31T10:17:42.123Z'); // Sunday; Europe/Berlin switches to summer time at 01:00 UTC
  it.each([
    ['30m', 'UTC', ['2024-03-31T09:48:00.000Z', '2024-03-31T10:18:00.000Z']],
    ['24h', 'UTC', ['2024-03-30T11:00:00.000Z', '2024-03-31T11:00:00.000Z']],
    ['today', 'UTC', ['2024-03-31T00:00:00.000Z', '2024-04-01T00:00:00.000Z']],
    // The day of the switch has 23 hours in Berlin.
    ['today', 'Europe/Berlin', ['2024-03-30T23:00:00.000Z', '2024-03-31T22:00:00.000Z']],
    ['yesterday', 'Europe/Berlin', ['2024-03-29T23:00:00.000Z', '2024-03-30T23:00:00.000Z']],
    ['7d', 'UTC', ['2024-03-25T00:00:00.000Z', '2024-04-01T00:00:00.000Z']],
    ['30d', 'America/New_York', ['2024-03-02T05:00:00.000Z', '2024-04-01T04:00:00.000Z']],
    ['month', 'UTC', ['2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z']],
    ['last_month', 'Asia/Tokyo', ['2024-01-31T15:00:00.000Z', '2024-02-29T15:00:00.000Z']],
    ['12mo', 'UTC', ['2023-04-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z']],
  ] as const)('%s in %s', (name, tz, expected) => {
    expect(isoRange(resolveRange(name, tz, now))).toEqual(expected);
  });

  it('resolves all from the first event, or today when there is none', () => {
    expect(isoRange(resolveRange('all', 'UTC', now, at('2023-07-04T18:00:00Z')))).toEqual(['2023-07-04T00:00:00.000Z', '2024-04-01T00:00:00.000Z']);
    expect(isoRange(resolveRange('all', 'UTC', now, null))).toEqual(['2024-03-31T00:00:00.000Z', '2024-04-01T00:00:00.000Z']);
  });

  it('takes custom dates as whole local days and date-times as instants', () => {
    expect(isoRange(resolveRange(['2024-01-01', '2024-01-31'], 'Europe/Berlin', now))).toEqual(['2023-12-31T23:00:00.000Z', '2024-01-31T23:00:00.000Z']);
    expect(isoRange(resolveRange(['2024-01-01T10:00:00+02:00', '2024-01-01T11:00:00Z'], 'UTC', now))).toEqual([
      '2024-01-01T08:00:00.000Z',
      '2024-01-01T11:00:00.000Z',
    ]);
  });

  it('refuses backwards, empty and absurd ranges with invalid_query', () => {
    for (const r of [
      ['2024-02-01', '2024-01-01'],
      ['2024-01-01T10:00:00Z', '2024-01-01T10:00:00Z'],
      ['1900-01-01', '2024-01-01'],
      ['2024-01-01', '9999-12-31'],
    ] as const) {
      expect(() => resolveRange(r as unknown as [string, string], 'UTC', now)).toThrow(expect.objectContaining({ code: 'invalid_query' }));
    }
  });
});

describe('resolveComparison', () => {
  it('takes the previous months, days or duration, and the same dates a year earlier', () => {
    const month = resolveRange('month', 'Europe/Berlin', at('2024-03-15T12:00:00Z'));
    expect(isoRange(resolveComparison(month, 'previous_period', 'Europe/Berlin')!)).toEqual(['2024-01-31T23:00:00.000Z', '2024-02-29T23:00:00.000Z']);
    const week = resolveRange('7d', 'UTC', at('2024-03-15T12:00:00Z'));
    expect(isoRange(resolveComparison(week, 'previous_period', 'UTC')!)).toEqual(['2024-03-02T00:00:00.000Z', '2024-03-09T00:00:00.000Z']);
    const half = resolveRange('30m', 'UTC', at('2024-03-15T12:00:30Z'));
    expect(isoRange(resolveComparison(half, 'previous_period', 'UTC')!)).toEqual(['2024-03-15T11:01:00.000Z', '2024-03-15T11:31:00.000Z']);
    expect(isoRange(resolveComparison(week, 'year_over_year', 'UTC')!)).toEqual(['2023-03-09T00:00:00.000Z', '2023-03-16T00:00:00.000Z']);
    expect(resolveComparison(week, undefined, 'UTC')).toBeUndefined();
  });
});

describe('buckets', () => {
  it('labels hours in the zone across a daylight-saving switch (23 hours that day)', () => {
    const day = resolveRange('today', 'Europe/Berlin', at('2024-03-31T10:00:00Z'));
    const b = buckets(day, 'hour', 'Europe/Berlin', { max: 100 }).buckets;
    expect(b).toHaveLength(23);
    expect(b.slice(0, 3).map((x) => x.label)).toEqual(['2024-03-31 00:00', '2024-03-31 01:00', '2024-03-31 03:00']);
    expect(b[2]!.start).toBe(at('2024-03-31T01:00:00Z'));
  });

  it('floors half-hour zones to local hours', () => {
    const b = buckets({ from: at('2024-05-01T22:00:00Z'), to: at('2024-05-02T00:00:00Z') }, 'hour', 'Asia/Kolkata', { max: 10 }).buckets;
    expect(b.map((x) => [iso(x.start), x.label])).toEqual([
      ['2024-05-01T21:30:00.000Z', '2024-05-02 03:00'],
      ['2024-05-01T22:30:00.000Z', '2024-05-02 04:00'],
      ['2024-05-01T23:30:00.000Z', '2024-05-02 05:00'],
    ]);
  });

  it('starts weeks on Monday and months on the 1st, at local midnight', () => {
    const r = { from: at('2024-02-28T23:00:00Z'), to: at('2024-04-10T22:00:00Z') }; // 29 Feb – 10 Apr, Berlin
    expect(buckets(r, 'week', 'Europe/Berlin', { max: 10 }).buckets.map((x) => x.label)).toEqual([
      '2024-02-26',
      '2024-03-04',
      '2024-03-11',
      '2024-03-18',
      '2024-03-25',
      '2024-04-01',
      '2024-04-08',
    ]);
    const months = buckets(r, 'month', 'Europe/Berlin', { max: 10 }).buckets;
    expect(months.map((x) => [x.label, iso(x.start)])).toEqual([
      ['2024-02-01', '2024-01-31T23:00:00.000Z'],
      ['2024-03-01', '2024-02-29T23:00:00.000Z'],
      ['2024-04-01', '2024-03-31T22:00:00.000Z'],
    ]);
  });

  it('stops before the future and at the cap', () => {
    const day = resolveRange('today', 'UTC', at('2024-03-31T10:30:00Z'));
    expect(buckets(day, 'hour', 'UTC', { max: 100, until: at('2024-03-31T10:30:00Z') }).buckets).toHaveLength(11);
    expect(buckets(day, 'minute', 'UTC', { max: 100 })).toMatchObject({ truncated: true });
  });
});
