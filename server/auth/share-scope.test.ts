// What an overview share may ask: the overview's own queries pass; anything that would reach
// profiles, properties or numbers outside the fixed filter is refused.
import { describe, expect, it } from 'vitest';
import { CARD_METRICS, OVERVIEW_GROUPS, panelQuery, seriesQuery, type View, viewQuery } from '../../shared/overview.ts';
import type { Query } from '../../shared/query.ts';
import { shareQueryProblem } from './share-scope.ts';

const overview = { target: { kind: 'overview' as const }, filter: [['is', 'geo:country', ['DE']]] as Query['filters'] & object };
const view: View = { range: '7d', filters: [['is', 'device:browser', ['Firefox']]], compare: 'previous_period' };
const q = (x: object) => x as Query;

describe('shareQueryProblem', () => {
  it("lets an overview share ask every query the overview page makes, with the viewer's own filters", () => {
    const queries = [
      { project_id: 'p', date_range: 'all', metrics: ['events'] },
      viewQuery('p', view, { metrics: CARD_METRICS }),
      seriesQuery('p', view),
      ...Object.values(OVERVIEW_GROUPS).flatMap((ps) => ps.map((p) => panelQuery('p', view, p))),
    ];
    for (const x of queries) expect(shareQueryProblem(overview, q(x))).toBeNull();
  });

  it('refuses what the overview never shows: profiles, properties, revenue, conversion rates', () => {
    expect(shareQueryProblem(overview, q({ metrics: ['visitors'], dimensions: ['profile:id'] }))).toMatch(/profile:id/);
    expect(shareQueryProblem(overview, q({ metrics: ['visitors'], dimensions: ['event:props:email'] }))).toMatch(/event:props:email/);
    expect(shareQueryProblem(overview, q({ metrics: ['visitors'], filters: [['not', ['is', 'profile:props:email', ['a@b.c']]]] }))).toMatch(
      /profile:props:email/,
    );
    expect(shareQueryProblem(overview, q({ metrics: ['sum:amount'] }))).toMatch(/sum:amount/);
    expect(shareQueryProblem(overview, q({ metrics: ['conversion_rate'], filters: [['is', 'event:name', ['signup']]] }))).toMatch(/conversion rate/);
  });

  it('other kinds (refused by the query route itself: it takes overview links only) keep the conversion-rate rule around a fixed filter', () => {
    const board = { target: { kind: 'board' as const, id: 'b1' }, filter: null };
    expect(shareQueryProblem(board, q({ metrics: ['conversion_rate'], dimensions: ['event:props:plan'] }))).toBeNull();
    expect(shareQueryProblem({ ...board, filter: overview.filter }, q({ metrics: ['conversion_rate'] }))).toMatch(/conversion rate/);
  });
});
