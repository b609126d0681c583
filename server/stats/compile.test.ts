// The compiler, table-driven: a query in, SQL and parameters out. The SQL text is compared
// whole for representative shapes (a change to it should be a deliberate one); every case
// checks that no value the caller sent — property keys included — reaches the SQL text.
import { describe, expect, it } from 'vitest';
import { Query, type QueryInput } from '../../shared/query.ts';
import { compile, compileDenominator } from './compile.ts';

const MAY = { from: Date.parse('2024-05-01T00:00:00Z'), to: Date.parse('2024-05-04T00:00:00Z') };
const T = "DateTime64(3, 'UTC')";
const TAIL = 'SETTINGS join_use_nulls = 1, output_format_json_quote_64bit_integers = 0';
const plan = (q: Partial<QueryInput>, opts: Partial<Parameters<typeof compile>[1]> = {}) =>
  compile(Query.parse({ project_id: 'p1', date_range: '7d', ...q }), { range: MAY, tz: 'UTC', ...opts });

interface Case {
  name: string;
  query: Partial<QueryInput>;
  tz?: string;
  sources: string[];
  sql?: string;
  params?: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: 'visit and page view totals: the daily rollup, only the names they read',
    query: { metrics: ['visitors', 'pageviews'] },
    sources: ['events_daily'],
    sql: `SELECT uniqMergeIf(devices, name = 'session_start') AS m0, countMergeIf(events, name = 'screen_view') AS m1
FROM events_daily
WHERE project_id = {p0:String}
  AND bucket >= {p1:${T}} AND bucket < {p2:${T}}
  AND name IN ('screen_view', 'session_start')
ORDER BY m0 DESC LIMIT {p3:UInt32} OFFSET {p4:UInt32}
${TAIL}`,
    params: { p0: 'p1', p1: '2024-05-01 00:00:00.000', p2: '2024-05-04 00:00:00.000', p3: 100, p4: 0 },
  },
  {
    name: 'a daily series in a zone whose days are not UTC days: the hourly rollup',
    query: { metrics: ['events'], dimensions: ['time:day'] },
    tz: 'Europe/Berlin',
    sources: ['events_hourly'],
  },
  {
    name: 'a series in a half-hour zone: raw events',
    query: { metrics: ['events'], dimensions: ['time:hour'] },
    tz: 'Asia/Kolkata',
    sources: ['events'],
  },
  {
    name: 'sources with bounce rate, filtered by country: session starts joined with sessions',
    query: { metrics: ['visitors', 'bounce_rate'], dimensions: ['session:referrer_name'], filters: [['is', 'geo:country', ['DE']]] },
    sources: ['events:session_start', 'sessions'],
    sql: `SELECT d0, m0, m1
FROM (SELECT referrer_name AS d0, uniqIf(device_id, device_id != '' AND name = 'session_start') AS m0
FROM events
WHERE project_id = {p0:String}
  AND created_at >= {p1:${T}} AND created_at < {p2:${T}}
  AND name = 'session_start'
  AND country = {p3:String}
GROUP BY d0) AS t0
FULL OUTER JOIN (SELECT referrer_name AS d0, avg(is_bounce) * 100 AS m1
FROM sessions FINAL
WHERE project_id = {p4:String}
  AND created_at >= {p5:${T}} AND created_at < {p6:${T}}
  AND country = {p7:String}
GROUP BY d0) AS t1 USING (d0)
ORDER BY m0 DESC, d0 ASC LIMIT {p8:UInt32} OFFSET {p9:UInt32}
${TAIL}`,
  },
  {
    name: 'page views by a property, for visits of a campaign: the session condition as a PREWHERE subquery on starts',
    query: { metrics: ['pageviews'], dimensions: ['event:props:plan'], filters: [['contains', 'session:utm_campaign', ['Spring'], { case_sensitive: false }]] },
    sources: ['events'],
    sql: `SELECT properties[{p1:String}] AS d0, countIf(name = 'screen_view') AS m0
FROM events
PREWHERE session_id IN (SELECT session_id FROM events WHERE project_id = {p0:String} AND name = 'session_start' AND created_at >= {p4:${T}} AND created_at < {p5:${T}} AND position(lowerUTF8(utm_campaign), {p6:String}) > 0)
WHERE project_id = {p0:String}
  AND created_at >= {p2:${T}} AND created_at < {p3:${T}}
  AND name = 'screen_view'
GROUP BY d0
ORDER BY m0 DESC, d0 ASC LIMIT {p7:UInt32} OFFSET {p8:UInt32}
${TAIL}`,
    // The session may have started up to a day before the range; the value is lower-cased once, here.
    params: {
      p0: 'p1',
      p1: 'plan',
      p2: '2024-05-01 00:00:00.000',
      p3: '2024-05-04 00:00:00.000',
      p4: '2024-04-30 00:00:00.000',
      p5: '2024-05-04 00:00:00.000',
      p6: 'spring',
      p7: 100,
      p8: 0,
    },
  },
  {
    name: 'bounce rate of sessions with an event: the event condition as a subquery on events',
    query: { metrics: ['bounce_rate'], filters: [['is', 'event:name', ['signup']]] },
    sources: ['sessions'],
    sql: `SELECT avg(is_bounce) * 100 AS m0
FROM sessions FINAL
WHERE project_id = {p0:String}
  AND created_at >= {p1:${T}} AND created_at < {p2:${T}}
  AND id IN (SELECT session_id FROM events WHERE project_id = {p0:String} AND created_at >= {p3:${T}} AND created_at < {p4:${T}} AND name = {p5:String})
ORDER BY m0 DESC LIMIT {p6:UInt32} OFFSET {p7:UInt32}
${TAIL}`,
  },
  {
    name: 'events by a profile property with a numeric property condition and a row count',
    query: { metrics: ['events'], dimensions: ['profile:props:tier'], filters: [['gt', 'event:props:amount', [10]]], include: { total_rows: true }, limit: 10 },
    sources: ['events', 'profiles'],
    sql: `SELECT ifNull(pp.v0, '') AS d0, countIf(name NOT IN ('session_start', 'session_end')) AS m0, count() OVER () AS total_rows
FROM events
ANY LEFT JOIN (SELECT id AS pid, properties[{p1:String}] AS v0 FROM profiles FINAL WHERE project_id = {p0:String}) AS pp ON profile_id = pp.pid
WHERE project_id = {p0:String}
  AND created_at >= {p2:${T}} AND created_at < {p3:${T}}
  AND ifNull(toFloat64OrNull(properties[{p4:String}]) > {p5:Float64}, 0)
GROUP BY d0
ORDER BY m0 DESC, d0 ASC LIMIT {p6:UInt32} OFFSET {p7:UInt32}
${TAIL}`,
    params: { p0: 'p1', p1: 'tier', p2: '2024-05-01 00:00:00.000', p3: '2024-05-04 00:00:00.000', p4: 'amount', p5: 10, p6: 10, p7: 0 },
  },
  {
    name: 'exit pages: ended sessions',
    query: { metrics: ['sessions', 'visitors'], dimensions: ['session:exit_path'] },
    sources: ['sessions'],
  },
  {
    name: 'page views by exit page: events joined with their sessions rows',
    query: { metrics: ['pageviews'], dimensions: ['session:exit_path'] },
    sources: ['events', 'sessions'],
  },
  {
    name: 'visitors by event name: the rollup counts devices per name',
    query: { metrics: ['visitors', 'events'], dimensions: ['event:name'] },
    sources: ['events_daily'],
  },
  {
    name: 'top pages: the page rollup, daily',
    query: { metrics: ['visitors', 'pageviews'], dimensions: ['event:path'], filters: [['is', 'event:name', ['screen_view']]] },
    sources: ['pages_daily'],
  },
  {
    name: 'a page filter on visit counts: the page rollup, hourly in a whole-hour zone',
    query: { metrics: ['visitors', 'sessions'], dimensions: ['time:day'], filters: [['starts_with', 'event:path', ['/blog']]] },
    tz: 'Europe/Berlin',
    sources: ['pages_hourly'],
  },
  {
    name: 'minutes are never rolled up',
    query: { metrics: ['events'], dimensions: ['time:minute'] },
    sources: ['events'],
  },
  {
    name: 'a negated or of two sources, a regular expression and a set test',
    query: {
      metrics: ['sessions'],
      filters: [
        [
          'not',
          [
            'or',
            [
              ['is', 'session:referrer_name', ['Google', 'Bing']],
              ['matches', 'session:utm_source', ['^news']],
            ],
          ],
        ],
        ['is_not_set', 'geo:city', []],
      ],
    },
    sources: ['events:session_start'],
    sql: `SELECT countIf(name = 'session_start') AS m0
FROM events
WHERE project_id = {p0:String}
  AND created_at >= {p1:${T}} AND created_at < {p2:${T}}
  AND name = 'session_start'
  AND NOT (referrer_name IN {p3:Array(String)} OR match(utm_source, {p4:String})) AND NOT city != ''
ORDER BY m0 DESC LIMIT {p5:UInt32} OFFSET {p6:UInt32}
${TAIL}`,
    params: { p0: 'p1', p1: '2024-05-01 00:00:00.000', p2: '2024-05-04 00:00:00.000', p3: ['Google', 'Bing'], p4: '^news', p5: 100, p6: 0 },
  },
];

describe('compile', () => {
  it.each(cases)('$name', (c) => {
    const p = plan(c.query, { tz: c.tz ?? 'UTC' });
    expect(p.sources).toEqual(c.sources);
    if (c.sql) expect(p.sql).toBe(c.sql);
    if (c.params) expect(p.params).toEqual(c.params);
  });

  it('never writes a caller value into the SQL text', () => {
    const evil = "k'); DROP TABLE events; --";
    const p = plan({
      metrics: ['events', `sum:${evil}`],
      dimensions: [`event:props:${evil}`, `profile:props:${evil}`],
      filters: [
        ['is', `event:props:${evil}`, [evil]],
        ['matches', 'event:path', [`^${evil.replace(/[()]/g, '')}`]],
        ['contains', 'session:referrer', [evil]],
      ],
    });
    expect(p.sql).not.toContain('DROP');
    expect(Object.values(p.params)).toContain(evil);
  });

  it('orders time series by time, and by the query order_by first', () => {
    expect(plan({ metrics: ['visitors'], dimensions: ['time:day', 'geo:country'] }).sql).toContain('ORDER BY d0 ASC, m0 DESC, d1 ASC LIMIT 100000');
    expect(plan({ metrics: ['visitors', 'events'], dimensions: ['geo:country'], order_by: [['events', 'asc']] }).sql).toContain(
      'ORDER BY m1 ASC, m0 DESC, d0 ASC',
    );
    // A percentage orders by the visitors it is a share of.
    expect(plan({ metrics: ['percentage'], dimensions: ['geo:country'], order_by: [['percentage', 'desc']] }).sql).toContain('ORDER BY m0 DESC');
  });

  it('refuses what cannot be answered', () => {
    expect(() => plan({ metrics: ['conversion_rate'], dimensions: ['geo:country'] })).toThrow(/needs a goal/);
    expect(() => plan({ metrics: ['session_duration'], dimensions: ['event:props:x'] })).toThrow(/cannot be broken down/);
    expect(() => plan({ metrics: ['visitors', 'conversion_rate'], filters: [['is', 'event:name', ['x']]], order_by: [['conversion_rate', 'desc']] })).toThrow(
      /cannot be ordered/,
    );
  });

  it('computes the visitors a percentage or conversion rate needs even when not asked for them', () => {
    const p = plan({ metrics: ['percentage'], dimensions: ['geo:country'] });
    expect(p.columns).toEqual([{ metric: 'visitors', column: 'm0' }]);
  });

  it("computes a conversion rate's denominator for the values of the rows the main statement shows, not its own top rows", () => {
    const q = Query.parse({
      project_id: 'p1',
      date_range: '7d',
      metrics: ['conversion_rate'],
      dimensions: ['event:name', 'geo:country'],
      filters: [['is', 'event:name', ['signup']]],
      limit: 5,
      offset: 10,
    });
    const main = compile(q, { range: MAY, tz: 'UTC' });
    const d = compileDenominator(q, { range: MAY, tz: 'UTC' }, main);
    expect(d.dimensions).toEqual(['geo:country']);
    // Its own rows unpaged, kept when their country is one of the main statement's page (country is its d1).
    expect(d.sql).toMatch(/\)\nWHERE \(d0\) IN \(SELECT d1 FROM \(\nSELECT /);
    expect(d.sql.split('LIMIT')).toHaveLength(2);
    expect(d.sql).not.toContain("'signup'");
    // Both statements' parameters, apart.
    expect(d.params).toMatchObject({ ...main.params, r0: 'p1' });
    expect(Object.values(d.params)).toContain('signup');
    // Without a dimension other than the goal's: the one total row, on every page.
    const byGoal = compileDenominator(
      { ...q, dimensions: ['event:name'] },
      { range: MAY, tz: 'UTC' },
      compile({ ...q, dimensions: ['event:name'] }, { range: MAY, tz: 'UTC' }),
    );
    expect(byGoal.sql).not.toContain('LIMIT');
  });
});
