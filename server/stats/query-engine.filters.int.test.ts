// The query model's filters and comparisons against chDB on a data set whose answers are known
// by construction (stats.fixtures.ts): every filter operator, values bound as parameters, and
// previous-period, year-over-year and custom comparisons.
import { describe, expect, it } from 'vitest';
import type { QueryInput } from '../../shared/query.ts';
import { withSeededEngine } from './seeded-engine.fixtures.ts';

const { run, totals, breakdown } = withSeededEngine();

describe('filters', () => {
  const pv = (filters: QueryInput['filters']) => totals({ metrics: ['pageviews'], filters }).then((m) => m[0]);
  it.each<[string, QueryInput['filters'], number]>([
    ['is', [['is', 'event:path', ['/pricing']]], 2],
    ['is, several values', [['is', 'event:path', ['/pricing', '/blog']]], 3],
    ['is_not', [['is_not', 'event:path', ['/']]], 4],
    ['contains', [['contains', 'event:path', ['ic']]], 2],
    ['not_contains', [['not_contains', 'event:path', ['ic']]], 5],
    ['starts_with', [['starts_with', 'event:path', ['/pri', '/bl']]], 3],
    ['ends_with', [['ends_with', 'event:path', ['og']]], 1],
    ['matches', [['matches', 'event:path', ['^/(blog|docs)$']]], 2],
    ['not_matches', [['not_matches', 'event:path', ['^/(blog|docs)$']]], 5],
    ['case-insensitive is', [['is', 'event:path', ['/PRICING'], { case_sensitive: false }]], 2],
    ['case-sensitive is', [['is', 'event:path', ['/PRICING']]], 0],
    ['case-insensitive contains', [['contains', 'event:path', ['PRIC'], { case_sensitive: false }]], 2],
    ['case-insensitive matches', [['matches', 'event:path', ['^/DOCS$'], { case_sensitive: false }]], 1],
    ['session attribute on events', [['is', 'session:referrer_name', ['Google']]], 3],
    ['exit page on events', [['is', 'session:exit_path', ['/pricing']]], 4],
    ['profile property', [['is', 'profile:props:tier', ['premium']]], 2],
    ['profile property not set', [['is_not_set', 'profile:props:tier', []]], 5],
    [
      'or',
      [
        [
          'or',
          [
            ['is', 'geo:country', ['FR']],
            ['is', 'event:path', ['/blog']],
          ],
        ],
      ],
      2,
    ],
    ['not', [['not', ['is', 'geo:country', ['US']]]], 5],
    [
      'and of two',
      [
        ['is', 'geo:country', ['DE']],
        ['is', 'event:path', ['/pricing']],
      ],
      2,
    ],
  ])('%s', async (_name, filters, expected) => {
    expect(await pv(filters)).toBe(expected);
  });

  it.each<[string, QueryInput['filters'], number]>([
    ['gt', [['gt', 'event:props:amount', [40]]], 1],
    ['gte', [['gte', 'event:props:amount', ['30']]], 2],
    ['lt', [['lt', 'event:props:amount', [40]]], 1],
    ['lte', [['lte', 'event:props:amount', [50]]], 2],
    ['is_set', [['is_set', 'event:props:plan', []]], 2],
    ['is_not_set', [['is_not_set', 'event:props:plan', []]], 8],
  ])('%s on a property', async (_name, filters, expected) => {
    expect((await totals({ metrics: ['events'], filters }))[0]).toBe(expected);
  });

  it('counts visitors and sessions with a matching event, and session metrics of sessions with one', async () => {
    // d1 viewed /pricing in two visits.
    expect(await totals({ metrics: ['visitors', 'sessions', 'bounce_rate'], filters: [['is', 'event:path', ['/pricing']]] })).toEqual([1, 2, 0]);
    // The two US visits: one ended as a bounce, one still open.
    expect(await totals({ metrics: ['visitors', 'sessions', 'pageviews', 'bounce_rate'], filters: [['is', 'geo:country', ['US']]] })).toEqual([2, 2, 2, 100]);
    expect(await totals({ metrics: ['bounce_rate', 'session_duration'], filters: [['is', 'session:referrer_name', ['Google']]] })).toEqual([0, 75]);
  });

  it('binds every value as a parameter: hostile strings are data, not SQL', async () => {
    const hostile = "x') OR 1=1 --";
    expect(await totals({ metrics: ['events'], filters: [['is', `event:props:${hostile}`, [hostile]]] })).toEqual([0]);
    expect(await breakdown({ metrics: ['events'], dimensions: [`event:props:${hostile}`] })).toEqual({ '': 10 });
  });
});

describe('comparisons', () => {
  it('compares with the previous period, with percent change for counts and points for rates', async () => {
    const r = await run({ metrics: ['visitors', 'sessions', 'pageviews', 'bounce_rate'], compare: 'previous_period' });
    expect(r.meta.comparison_range).toEqual(['2024-04-28T00:00:00.000Z', '2024-05-01T00:00:00.000Z']);
    // 28–30 April: one bouncing visit of d9.
    expect(r.results[0]!.comparison).toEqual({ dimensions: [], metrics: [1, 1, 1, 100], change: [300, 400, 600, -75] });
  });

  it('aligns comparison buckets by position and breakdown rows by value', async () => {
    const series = await run({ metrics: ['sessions'], dimensions: ['time:day'], compare: 'previous_period' });
    expect(series.results.map((r) => [r.dimensions[0], r.metrics[0], r.comparison!.dimensions[0], r.comparison!.metrics[0]])).toEqual([
      ['2024-05-01', 2, '2024-04-28', 0],
      ['2024-05-02', 1, '2024-04-29', 1],
      ['2024-05-03', 2, '2024-04-30', 0],
    ]);
    const byCountry = await run({ metrics: ['sessions'], dimensions: ['geo:country'], compare: 'previous_period' });
    const de = byCountry.results.find((r) => r.dimensions[0] === 'DE')!;
    expect(de.comparison).toEqual({ dimensions: ['DE'], metrics: [1], change: [100] });
    const us = byCountry.results.find((r) => r.dimensions[0] === 'US')!;
    expect(us.comparison).toEqual({ dimensions: ['US'], metrics: [0], change: [null] });
    // Past the first page the comparison still holds the rows shown (FR 1, DE 2, US 2: page 2 is DE).
    const page2 = await run({
      metrics: ['sessions'],
      dimensions: ['geo:country'],
      order_by: [['sessions', 'asc']],
      limit: 1,
      offset: 1,
      compare: 'previous_period',
    });
    expect(page2.results.map((r) => [r.dimensions[0], r.comparison?.metrics[0]])).toEqual([['DE', 1]]);
  });

  it('compares year over year and with a custom range', async () => {
    const yoy = await run({ metrics: ['sessions'], compare: 'year_over_year' });
    expect(yoy.meta.comparison_range).toEqual(['2023-05-01T00:00:00.000Z', '2023-05-04T00:00:00.000Z']);
    expect(yoy.results[0]!.comparison!.metrics).toEqual([0]);
    const custom = await run({ metrics: ['sessions'], compare: ['2024-04-29', '2024-04-29'] });
    expect(custom.results[0]!.comparison!.metrics).toEqual([1]);
  });
});
