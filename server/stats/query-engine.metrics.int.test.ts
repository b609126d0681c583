// The query model's metrics against chDB on a data set whose answers are known by construction
// (stats.fixtures.ts): every metric, property aggregates, percentages and conversion rates.
import { describe, expect, it } from 'vitest';
import type { QueryInput } from '../../shared/query.ts';
import { withSeededEngine } from './seeded-engine.fixtures.ts';

const { run, totals } = withSeededEngine();

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
