// The query model against chDB on a data set whose answers are known by construction
// (stats.fixtures.ts): every metric, dimension and filter operator, a time-zone day boundary,
// previous-period comparisons, and the rollups answering exactly what raw events answer.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Query, type QueryInput, type QueryResponse } from '../../shared/query.ts';
import { createMemoryCache } from '../engines/cache.memory.ts';
import { AppError } from '../errors.ts';
import { migrateClickhouse } from '../store/clickhouse.migrate.ts';
import { type ClickHouseClient, createClickhouse } from '../store/clickhouse.ts';
import { createWriter } from '../store/writer.ts';
import { createQueryEngine, type QueryEngine } from './query-engine.ts';
import { PROJECT, statsBatch } from './stats.fixtures.ts';

const DB = 'lp_stats';
const NOW = Date.parse('2024-05-04T12:00:00Z');
/** 1–3 May 2024, whole days. */
const MAY = ['2024-05-01', '2024-05-03'] as [string, string];
let dir: string;
let ch: ClickHouseClient;
let engine: QueryEngine;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lp-stats-int-'));
  ch = await createClickhouse({ kind: 'chdb', dir: path.join(dir, 'ch'), database: DB });
  await migrateClickhouse(ch, DB);
  await createWriter(ch).write(statsBatch(), 'stats-seed');
  // A second project's rows must never leak into the first's answers.
  await createWriter(ch).write(statsBatch('proj_other'), 'stats-seed-other');
  engine = createQueryEngine({ ch, now: () => NOW });
});

afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (q: Partial<QueryInput>): Promise<QueryResponse> => engine.run(Query.parse({ project_id: PROJECT, date_range: MAY, ...q }));
/** The single row of an answer without dimensions. */
const totals = async (q: Partial<QueryInput>) => (await run(q)).results[0]!.metrics;
/** `{dimension value: first metric}` of a one-dimension breakdown. */
const breakdown = async (q: Partial<QueryInput>) => Object.fromEntries((await run(q)).results.map((r) => [r.dimensions.join('|'), r.metrics[0]]));

describe('metrics', () => {
  it('answers every metric over the range', async () => {
    const metrics = ['visitors', 'sessions', 'pageviews', 'events', 'bounce_rate', 'session_duration', 'views_per_session', 'revenue', 'identified_users'];
    // 4 devices started 5 visits (one still open); 7 page views, 10 SDK events; of the 4 ended
    // visits one bounced, they lasted 120 + 0 + 300 + 30 s and viewed 2 + 1 + 2 + 1 pages.
    expect(await totals({ metrics })).toEqual([4, 5, 7, 10, 25, 112.5, 1.5, 4999, 1]);
  });

  it('aggregates event properties read as numbers', async () => {
    expect(await totals({ metrics: ['sum:amount', 'avg:amount', 'min:amount', 'max:amount'] })).toEqual([80, 40, 30, 50]);
    // A property nobody sent: no value (not zero).
    expect(await totals({ metrics: ['sum:nope', 'avg:nope'] })).toEqual([null, null]);
  });

  it('gives percentages of all visitors and conversion rates against visitors without the goal', async () => {
    const r = await run({ metrics: ['visitors', 'percentage'], dimensions: ['geo:country'] });
    expect(r.results.map((x) => [x.dimensions[0], ...x.metrics])).toEqual([
      ['US', 2, 50],
      ['DE', 1, 25],
      ['FR', 1, 25],
    ]);
    // One of four visitors signed up.
    expect(await totals({ metrics: ['visitors', 'conversion_rate'], filters: [['is', 'event:name', ['signup']]] })).toEqual([1, 25]);
    // Per country: DE's one visitor signed up; the goal as a dimension divides by the country's visitors.
    const byCountry = await run({ metrics: ['conversion_rate'], dimensions: ['geo:country'], filters: [['is', 'event:name', ['signup', 'purchase']]] });
    expect(byCountry.results.map((x) => [x.dimensions[0], x.metrics[0]])).toEqual([['DE', 100]]);
    const byGoal = await run({ metrics: ['visitors', 'conversion_rate'], dimensions: ['event:name'], filters: [['is', 'event:name', ['signup', 'click']]] });
    expect(byGoal.results.map((x) => [x.dimensions[0], ...x.metrics])).toEqual([
      ['click', 1, 25],
      ['signup', 1, 25],
    ]);
  });

  it('divides a conversion rate by the visitors of exactly the rows shown, whatever the limit and offset', async () => {
    // By visitors the countries rank US 2, DE 1, FR 1; only DE and FR converted. With one row a
    // page, DE (page 1) and FR (page 2) are not the top country by visitors.
    const goal = { metrics: ['conversion_rate'], dimensions: ['geo:country'], filters: [['is', 'event:name', ['signup', 'click']]] } as Partial<QueryInput>;
    const rows = async (q: Partial<QueryInput>) => (await run({ ...goal, ...q })).results.map((x) => [x.dimensions[0], x.metrics[0]]);
    expect(await rows({ limit: 1 })).toEqual([['DE', 100]]);
    expect(await rows({ limit: 1, offset: 1 })).toEqual([['FR', 100]]);
    // The goal as a dimension divides by all visitors, on every page (page 2 of event names).
    const byGoal = await run({
      metrics: ['conversion_rate'],
      dimensions: ['event:name'],
      filters: [['is', 'event:name', ['signup', 'click']]],
      limit: 1,
      offset: 1,
    });
    expect(byGoal.results.map((x) => [x.dimensions[0], x.metrics[0]])).toEqual([['signup', 25]]);
  });

  it('refuses a conversion rate without a goal, and session metrics by event dimensions', async () => {
    await expect(run({ metrics: ['conversion_rate'] })).rejects.toMatchObject({ status: 400, code: 'invalid_query' });
    await expect(run({ metrics: ['bounce_rate'], dimensions: ['event:path'] })).rejects.toThrow(/cannot be broken down by event:path/);
  });
});

describe('dimensions', () => {
  it('breaks visits down by session attributes (from their start, open visits included)', async () => {
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:referrer_name'] })).toEqual({ '': 2, Google: 2, 'Hacker News': 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:referrer_type'] })).toEqual({ '': 2, search: 2, link: 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:referrer'] })).toEqual({
      '': 2,
      'https://www.google.com': 1,
      'https://www.google.fr': 1,
      'https://news.ycombinator.com': 1,
    });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_campaign'] })).toEqual({ '': 4, launch: 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_source'] })).toEqual({ '': 4, hn: 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_medium'] })).toEqual({ '': 4, social: 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_term'] })).toEqual({ '': 5 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_content'] })).toEqual({ '': 5 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:entry_path'] })).toEqual({ '/': 3, '/blog': 1, '/docs': 1 });
  });

  it('breaks event metrics down by session attributes through the session start', async () => {
    // Page views of visits that entered at /: 2 (s1) + 1 (s2) + 1 (s4).
    const r = await run({ metrics: ['sessions', 'pageviews'], dimensions: ['session:entry_path'] });
    expect(r.results.map((x) => [x.dimensions[0], ...x.metrics])).toEqual([
      ['/', 3, 4],
      ['/blog', 1, 2],
      ['/docs', 1, 1],
    ]);
    expect(await breakdown({ metrics: ['pageviews'], dimensions: ['session:referrer_name'] })).toEqual({ Google: 3, 'Hacker News': 2, '': 2 });
  });

  it('counts exit pages over ended sessions', async () => {
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:exit_path'] })).toEqual({ '/': 2, '/pricing': 2 });
    // The open visit has no exit page yet.
    expect(await breakdown({ metrics: ['pageviews'], dimensions: ['session:exit_path'] })).toEqual({ '/pricing': 4, '/': 2, '': 1 });
  });

  it('breaks down by event name, path, origin and properties', async () => {
    expect(await breakdown({ metrics: ['events'], dimensions: ['event:name'], filters: [['is_not', 'event:name', ['session_start', 'session_end']]] })).toEqual(
      {
        screen_view: 7,
        signup: 1,
        purchase: 1,
        click: 1,
      },
    );
    expect(await breakdown({ metrics: ['pageviews'], dimensions: ['event:path'], filters: [['is', 'event:name', ['screen_view']]] })).toEqual({
      '/': 3,
      '/pricing': 2,
      '/blog': 1,
      '/docs': 1,
    });
    expect(await breakdown({ metrics: ['events'], dimensions: ['event:origin'] })).toEqual({ 'https://example.com': 10 });
    expect(await breakdown({ metrics: ['events'], dimensions: ['event:props:plan'] })).toEqual({ '': 8, pro: 1, team: 1 });
  });

  it('breaks down by place, device and profile', async () => {
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['geo:country'] })).toEqual({ US: 2, DE: 1, FR: 1 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['geo:region'] })).toEqual({ '': 4 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['geo:city'] })).toEqual({ '': 4 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['device:type'] })).toEqual({ desktop: 2, mobile: 2 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['device:browser'] })).toEqual({ Chrome: 2, Firefox: 1, Safari: 1 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['device:os'] })).toEqual({ 'Mac OS': 1, Android: 1, iOS: 1, Windows: 1 });
    for (const d of ['device:browser_version', 'device:os_version', 'device:brand', 'device:model'] as const) {
      expect(await breakdown({ metrics: ['visitors'], dimensions: [d] })).toEqual({ '': 4 });
    }
    expect(await breakdown({ metrics: ['events'], dimensions: ['profile:id'] })).toEqual({ '': 7, u1: 3 });
    expect(await breakdown({ metrics: ['events'], dimensions: ['profile:props:tier'] })).toEqual({ '': 7, premium: 3 });
  });

  it('buckets time in the query zone: a visit at 22:30 UTC is the next day in Berlin', async () => {
    const utc = await run({ metrics: ['sessions'], dimensions: ['time:day'] });
    expect(utc.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-05-01', 2],
      ['2024-05-02', 1],
      ['2024-05-03', 2],
    ]);
    // In Berlin the same dates cover 30 Apr 22:00 UTC – 3 May 22:00 UTC: s5 (23:59 UTC on 3 May) falls out.
    const berlin = await run({ metrics: ['sessions'], dimensions: ['time:day'], timezone: 'Europe/Berlin' });
    expect(berlin.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-05-01', 1],
      ['2024-05-02', 2],
      ['2024-05-03', 1],
    ]);
    expect(berlin.meta.date_range).toEqual(['2024-04-30T22:00:00.000Z', '2024-05-03T22:00:00.000Z']);
    const hours = await run({
      metrics: ['pageviews'],
      dimensions: ['time:hour'],
      date_range: ['2024-05-01T22:00:00Z', '2024-05-02T01:00:00Z'],
      timezone: 'Asia/Kolkata',
    });
    // Half-hour zone: the hourly rollup cannot answer, raw events do; the page view at 22:30 UTC is 04:00 local.
    expect(hours.meta.sources).toEqual(['events']);
    expect(hours.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-05-02 03:00', 0],
      ['2024-05-02 04:00', 1],
      ['2024-05-02 05:00', 0],
      ['2024-05-02 06:00', 0],
    ]);
  });

  it('fills empty buckets and labels them (weeks on Monday, months on the 1st, minutes)', async () => {
    const week = await run({ metrics: ['visitors'], dimensions: ['time:week'], date_range: ['2024-04-22', '2024-05-05'], include: { time_labels: true } });
    expect(week.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-04-22', 0],
      ['2024-04-29', 5],
    ]);
    expect(week.meta.time_labels).toEqual(['2024-04-22', '2024-04-29']);
    const month = await run({ metrics: ['sessions'], dimensions: ['time:month'], date_range: ['2024-03-01', '2024-05-31'] });
    expect(month.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-03-01', 0],
      ['2024-04-01', 1],
      ['2024-05-01', 5],
    ]);
    const minutes = await run({ metrics: ['events'], dimensions: ['time:minute'], date_range: ['2024-05-01T10:00:00Z', '2024-05-01T10:03:00Z'] });
    expect(minutes.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-05-01 10:00', 1],
      ['2024-05-01 10:01', 1],
      ['2024-05-01 10:02', 1],
    ]);
    // Per combination of the other dimension, every bucket is there.
    const series = await run({ metrics: ['sessions'], dimensions: ['time:day', 'geo:country'] });
    expect(series.results).toHaveLength(9);
    expect(series.results.filter((r) => r.dimensions[1] === 'FR').map((r) => r.metrics[0])).toEqual([0, 0, 1]);
  });

  it('refuses too many time buckets', async () => {
    await expect(run({ metrics: ['events'], dimensions: ['time:minute'], date_range: ['2024-01-01', '2024-03-01'] })).rejects.toThrow(/coarser/);
  });
});

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

describe('tables', () => {
  it('answers from the rollups exactly what raw events answer', async () => {
    // A filter that matches every row forces raw events without changing the answer.
    const everything: QueryInput['filters'] = [['is_not', 'geo:country', ['ZZ']]];
    const cases: Array<Partial<QueryInput>> = [
      { metrics: ['visitors', 'sessions', 'pageviews', 'events'] },
      { metrics: ['visitors', 'sessions', 'pageviews', 'events'], dimensions: ['time:day'] },
      { metrics: ['visitors', 'sessions', 'events'], dimensions: ['event:name'] },
      { metrics: ['visitors', 'sessions'], filters: [['is', 'event:name', ['signup', 'purchase']]] },
      { metrics: ['visitors', 'pageviews'], dimensions: ['time:hour'], timezone: 'Europe/Berlin', date_range: ['2024-05-01', '2024-05-01'] },
      { metrics: ['visitors', 'pageviews', 'sessions'], dimensions: ['event:path'], filters: [['is', 'event:name', ['screen_view']]] },
      { metrics: ['visitors', 'events'], dimensions: ['time:day'], filters: [['contains', 'event:path', ['pric']]], timezone: 'Europe/Berlin' },
    ];
    for (const q of cases) {
      const rolled = await run(q);
      expect(rolled.meta.sources[0]).toMatch(/^(events|pages)_(hourly|daily)$/);
      const raw = await run({ ...q, filters: [...(q.filters ?? []), ...everything] });
      expect(raw.meta.sources[0]).toMatch(/^events/);
      expect(raw.meta.sources[0]).not.toMatch(/hourly|daily/);
      expect(rolled.results).toEqual(raw.results);
    }
  });

  it('reads only session starts for visit counts, the sessions table for session metrics', async () => {
    // Whole UTC days: the visit rollups; Berlin days are not whole UTC days: session starts and sessions.
    expect((await run({ metrics: ['visitors'], dimensions: ['geo:country'] })).meta.sources).toEqual(['visits_daily']);
    expect((await run({ metrics: ['bounce_rate'], dimensions: ['geo:country'] })).meta.sources).toEqual(['sessions_daily']);
    expect((await run({ metrics: ['bounce_rate'], dimensions: ['time:hour'], date_range: ['2024-05-01', '2024-05-01'] })).meta.sources).toEqual([
      'sessions_hourly',
    ]);
    const berlin = { timezone: 'Europe/Berlin' } as const;
    expect((await run({ metrics: ['visitors'], dimensions: ['geo:country'], ...berlin })).meta.sources).toEqual(['events:session_start']);
    expect((await run({ metrics: ['bounce_rate'], dimensions: ['geo:country'], ...berlin })).meta.sources).toEqual(['sessions']);
    // A filter on another attribute: raw.
    const filtered = { filters: [['is', 'device:type', ['desktop']]] } as Partial<QueryInput>;
    expect((await run({ metrics: ['visitors'], dimensions: ['geo:country'], ...filtered })).meta.sources).toEqual(['events:session_start']);
    expect((await run({ metrics: ['bounce_rate'], dimensions: ['geo:country'], ...filtered })).meta.sources).toEqual(['sessions']);
    // Without a breakdown, a condition on one attribute reads that attribute's rollup rows.
    expect((await run({ metrics: ['bounce_rate'], ...filtered })).meta.sources).toEqual(['sessions_daily']);
    expect((await run({ metrics: ['visitors'], dimensions: ['time:day'] })).meta.sources).toEqual(['events_daily']);
  });
});

describe('statements', () => {
  it('runs identical statements in flight once', async () => {
    const sent: string[] = [];
    const counting = new Proxy(ch, {
      get: (target, prop, receiver) =>
        prop === 'query'
          ? (params: Parameters<ClickHouseClient['query']>[0]) => {
              sent.push(params.query);
              return target.query(params);
            }
          : Reflect.get(target, prop, receiver),
    });
    const e = createQueryEngine({ ch: counting, now: () => NOW });
    const q = (d: string) => Query.parse({ project_id: PROJECT, date_range: MAY, metrics: ['visitors', 'percentage'], dimensions: [d] });
    const [countries, browsers] = await Promise.all([e.run(q('geo:country')), e.run(q('device:browser'))]);
    // Two breakdowns and one shared total.
    expect(sent).toHaveLength(3);
    expect(countries.results.every((r) => r.metrics[1]! > 0)).toBe(true);
    expect(browsers.results.length).toBeGreaterThan(0);
    // Settled statements are not reused.
    await e.run(q('geo:country'));
    expect(sent).toHaveLength(5);
  });

  it('runs statements that wait together as one, each caller getting its own answer or error', async () => {
    const sent: string[] = [];
    const counting = new Proxy(ch, {
      get: (target, prop, receiver) =>
        prop === 'query'
          ? (params: Parameters<ClickHouseClient['query']>[0]) => {
              sent.push(params.query);
              return target.query(params);
            }
          : Reflect.get(target, prop, receiver),
    });
    const batched = createQueryEngine({ ch: counting, now: () => NOW, batch: true });
    // What a dashboard opens at once: paged breakdowns, a series with comparison, totals, raw reads.
    const queries: QueryInput[] = [
      { project_id: PROJECT, date_range: MAY, metrics: ['visitors', 'sessions', 'bounce_rate'], compare: 'previous_period' },
      { project_id: PROJECT, date_range: MAY, metrics: ['visitors', 'pageviews'], dimensions: ['time:day'], compare: 'previous_period' },
      { project_id: PROJECT, date_range: MAY, metrics: ['visitors', 'percentage'], dimensions: ['geo:country'], limit: 1, offset: 1 },
      {
        project_id: PROJECT,
        date_range: MAY,
        metrics: ['pageviews'],
        dimensions: ['event:path'],
        filters: [['is', 'event:name', ['screen_view']]],
        order_by: [['event:path', 'desc']],
      },
      {
        project_id: PROJECT,
        date_range: MAY,
        metrics: ['events', 'revenue'],
        dimensions: ['event:name'],
        filters: [['is', 'event:props:plan', ['pro', 'team']]],
      },
      { project_id: PROJECT, date_range: ['2024-04-01', '2024-05-31'], metrics: ['visitors'], dimensions: ['time:week'] },
    ];
    const one = await Promise.all(queries.map((q) => engine.run(Query.parse(q))));
    const together = await Promise.all(queries.map((q) => batched.run(Query.parse(q))));
    const answers = (rs: QueryResponse[]) => rs.map((r) => ({ ...r, meta: { ...r.meta, query_ms: 0 } }));
    expect(answers(together)).toEqual(answers(one));
    // The second page of countries: DE, 1 of the range's 4 visitors (its total is not paged).
    expect(together[2]!.results).toEqual([{ dimensions: ['DE'], metrics: [1, 25] }]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain('UNION ALL');
    // A statement ClickHouse refuses fails alone: the batch is run again statement by statement,
    // and no row of the failed batch reaches another answer (chDB hands the rows a failed
    // statement produced to the next one: without the sort in batch.ts this failed every other run).
    // (A lookahead passes JavaScript's check but not RE2, which ClickHouse evaluates patterns with.)
    const broken = Query.parse({ ...queries[3]!, filters: [['matches', 'event:path', ['/(?=p)']]] });
    const [bad, good] = await Promise.allSettled([batched.run(broken), batched.run(Query.parse(queries[2]!))]);
    expect(bad.status).toBe('rejected');
    expect(good.status === 'fulfilled' && answers([good.value])).toEqual(answers([one[2]!]));
    await expect(engine.run(broken)).rejects.toThrow();
  });
});

describe('ranges, paging and caching', () => {
  it('resolves named ranges at now in the zone', async () => {
    // now = 4 May 12:00 UTC; 7d = 28 April – 4 May: every visit.
    expect(await totals({ date_range: '7d', metrics: ['sessions'] })).toEqual([6]);
    expect(await totals({ date_range: 'today', metrics: ['sessions'] })).toEqual([0]);
    expect(await totals({ date_range: 'yesterday', metrics: ['sessions'] })).toEqual([2]);
    // In Berlin, "yesterday" (3 May local) no longer holds s5 (4 May 01:59 local), but "today" does.
    expect(await totals({ date_range: 'yesterday', metrics: ['sessions'], timezone: 'Europe/Berlin' })).toEqual([1]);
    expect(await totals({ date_range: 'today', metrics: ['sessions'], timezone: 'Europe/Berlin' })).toEqual([1]);
    expect(await totals({ date_range: 'month', metrics: ['sessions'] })).toEqual([5]);
    expect(await totals({ date_range: 'last_month', metrics: ['sessions'] })).toEqual([1]);
    const all = await run({ date_range: 'all', metrics: ['sessions'] });
    expect(all.results[0]!.metrics).toEqual([6]);
    expect(all.meta.date_range[0]).toBe('2024-04-29T00:00:00.000Z');
  });

  it('orders, limits, offsets and counts rows', async () => {
    const r = await run({
      metrics: ['visitors'],
      dimensions: ['device:browser'],
      order_by: [['visitors', 'asc']],
      limit: 2,
      offset: 1,
      include: { total_rows: true },
    });
    expect(r.results.map((x) => x.dimensions[0])).toEqual(['Safari', 'Chrome']);
    expect(r.meta.total_rows).toBe(3);
    const byName = await run({ metrics: ['visitors'], dimensions: ['device:browser'], order_by: [['device:browser', 'desc']] });
    expect(byName.results.map((x) => x.dimensions[0])).toEqual(['Safari', 'Firefox', 'Chrome']);
  });

  it('returns totals beside a breakdown', async () => {
    const r = await run({ metrics: ['visitors', 'bounce_rate'], dimensions: ['geo:country'], include: { totals: true } });
    expect(r.meta.totals).toEqual([4, 25]);
  });

  it('caches answers by the normalised query and says so', async () => {
    const cached = createQueryEngine({ ch, now: () => NOW, cache: createMemoryCache() });
    const q = Query.parse({ project_id: PROJECT, date_range: MAY, metrics: ['visitors'] });
    const first = await cached.run(q);
    const second = await cached.run(Query.parse({ ...q }));
    expect(first.meta.cached).toBe(false);
    expect(second.meta.cached).toBe(true);
    expect(second.results).toEqual(first.results);
    const other = await cached.run(Query.parse({ ...q, metrics: ['sessions'] }));
    expect(other.meta.cached).toBe(false);
  });

  it('keeps projects apart', async () => {
    const other = await engine.run(Query.parse({ project_id: 'proj_none', date_range: MAY, metrics: ['visitors', 'events', 'bounce_rate'] }));
    expect(other.results[0]!.metrics).toEqual([0, 0, null]);
  });

  it('turns an unanswerable query into 400 invalid_query', async () => {
    const err = await run({ metrics: ['events'], date_range: ['2024-05-03', '2024-05-01'] }).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_query' });
  });
});
