// The query schema: shapes and bounds refused with readable issues before anything is compiled.
import { describe, expect, it } from 'vitest';
import { Query } from './query.ts';

const base = { project_id: 'p1', date_range: '7d', metrics: ['visitors'] };
const issues = (q: unknown) => {
  const r = Query.safeParse(q);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('Query schema', () => {
  it('accepts the full model', () => {
    const q = {
      ...base,
      date_range: ['2024-01-01', '2024-01-31T12:00:00+01:00'],
      timezone: 'Europe/Berlin',
      metrics: ['visitors', 'sum:cart.total', 'percentage'],
      dimensions: ['time:day', 'event:props:plan', 'profile:props:tier'],
      filters: [
        [
          'or',
          [
            ['is', 'geo:country', ['DE']],
            ['not', ['matches', 'event:path', ['^/blog'], { case_sensitive: false }]],
          ],
        ],
        ['gt', 'event:props:n', [3]],
      ],
      compare: 'previous_period',
      order_by: [['visitors', 'desc']],
      limit: 10,
      offset: 20,
      include: { time_labels: true, total_rows: true, totals: true },
    };
    expect(issues(q)).toEqual([]);
  });

  it.each([
    ['unknown metric', { ...base, metrics: ['nope'] }],
    ['no metric', { ...base, metrics: [] }],
    ['unknown dimension', { ...base, dimensions: ['geo:planet'] }],
    ['empty property key', { ...base, dimensions: ['event:props:'] }],
    ['two time dimensions', { ...base, dimensions: ['time:day', 'time:hour'] }],
    ['a filter on time', { ...base, filters: [['is', 'time:day', ['2024-01-01']]] }],
    ['unknown operator', { ...base, filters: [['like', 'event:path', ['x']]] }],
    ['is without values', { ...base, filters: [['is', 'event:path', []]] }],
    ['is_set with values', { ...base, filters: [['is_set', 'event:path', ['x']]] }],
    ['gt with text', { ...base, filters: [['gt', 'event:props:n', ['many']]] }],
    ['an invalid regular expression', { ...base, filters: [['matches', 'event:path', ['(']]] }],
    ['a catastrophic regular expression', { ...base, filters: [['matches', 'event:path', ['(a+)+$']]] }],
    ['an unknown time zone', { ...base, timezone: 'Mars/Olympus' }],
    ['a malformed date', { ...base, date_range: ['2024-13-45', '2024-01-01'] }],
    ['order by something not selected', { ...base, order_by: [['events', 'desc']] }],
    ['a huge limit', { ...base, limit: 1_000_000 }],
    ['an unknown key', { ...base, metricz: ['visitors'] }],
    ['the same metric twice', { ...base, metrics: ['visitors', 'visitors'] }],
    ['too many values', { ...base, filters: [['is', 'event:path', Array.from({ length: 101 }, (_, i) => `/${i}`)]] }],
    ['a huge value', { ...base, filters: [['is', 'event:path', ['x'.repeat(1001)]]] }],
  ])('refuses %s', (_name, q) => {
    expect(issues(q).length).toBeGreaterThan(0);
  });

  it('refuses filter trees nested too deep', () => {
    let tree: unknown = ['is', 'event:path', ['/']];
    for (let i = 0; i < 8; i++) tree = ['not', tree];
    expect(issues({ ...base, filters: [tree] }).join()).toMatch(/deeper/);
  });
});
