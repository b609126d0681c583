// Which tables the query model reads and how its statements run, against chDB on a data set
// whose answers are known by construction (stats.fixtures.ts): the rollups answer exactly what
// raw events answer, identical statements in flight run once, statements that wait together run
// as one batch.
import { describe, expect, it } from 'vitest';
import { Query, type QueryInput, type QueryResponse } from '../../shared/query.ts';
import type { ClickHouseClient } from '../store/clickhouse.ts';
import { createQueryEngine } from './query-engine.ts';
import { MAY, NOW, withSeededEngine } from './seeded-engine.fixtures.ts';
import { PROJECT } from './stats.fixtures.ts';

const { seeded, run } = withSeededEngine();

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

/** The store, recording the SQL of every statement sent through it. */
function recording(ch: ClickHouseClient) {
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
  return { sent, counting };
}

describe('statements', () => {
  it('runs identical statements in flight once', async () => {
    const { sent, counting } = recording(seeded.ch);
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
    const { sent, counting } = recording(seeded.ch);
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
    const one = await Promise.all(queries.map((q) => seeded.engine.run(Query.parse(q))));
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
    await expect(seeded.engine.run(broken)).rejects.toThrow();
  });
});
