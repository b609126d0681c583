// The query model's ranges, paging and caching against chDB on a data set whose answers are
// known by construction (stats.fixtures.ts): named ranges at now in the zone, order/limit/offset,
// totals, the answer cache, projects kept apart, and unanswerable queries refused.
import { describe, expect, it } from 'vitest';
import { Query } from '../../shared/query.ts';
import { createMemoryCache } from '../engines/cache.memory.ts';
import { AppError } from '../errors.ts';
import { createQueryEngine } from './query-engine.ts';
import { MAY, NOW, withSeededEngine } from './seeded-engine.fixtures.ts';
import { PROJECT } from './stats.fixtures.ts';

const { seeded, run, totals } = withSeededEngine();

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
    const cached = createQueryEngine({ ch: seeded.ch, now: () => NOW, cache: createMemoryCache() });
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
    const other = await seeded.engine.run(Query.parse({ project_id: 'proj_none', date_range: MAY, metrics: ['visitors', 'events', 'bounce_rate'] }));
    expect(other.results[0]!.metrics).toEqual([0, 0, null]);
  });

  it('turns an unanswerable query into 400 invalid_query', async () => {
    const err = await run({ metrics: ['events'], date_range: ['2024-05-03', '2024-05-01'] }).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_query' });
  });
});
