// A share's fixed filter on live tiles: the scopes read from dimension names agree with the
// query model's registry (a new dimension cannot slip through as "on every row"), a filtered
// spec still parses on every node (schema limits), and tiles without an exact live count under
// the filter are refused.
import { describe, expect, it } from 'vitest';
import { dimension } from '../server/stats/dimensions.ts';
import { TileSpec } from './live-tiles.ts';
import type { FilterTree } from './query.ts';
import { DIMENSIONS } from './query-terms.ts';
import { dimensionScope, liveFilterProblem, withShareFilter } from './share-view.ts';

describe('share filters on live tiles', () => {
  it('reads the same scope from a name as the registry has', () => {
    for (const name of [...DIMENSIONS, 'event:props:plan', 'profile:props:plan']) {
      const def = dimension(name)!;
      const want = def.scope === 'session' && def.row === null ? 'ended' : def.scope;
      expect(dimensionScope(name), name).toBe(want);
    }
  });

  it('ANDs the filter in, within what a tile spec holds', () => {
    const filter: FilterTree[] = Array.from({ length: 20 }, (_, i) => ['is', 'geo:country', [`C${i}`]]);
    const own: FilterTree[] = Array.from({ length: 20 }, (_, i) => ['is', 'event:name', [`e${i}`]]);
    const rate = withShareFilter(TileSpec.parse({ kind: 'rate', metric: 'events', minutes: 5, filters: own }), filter);
    expect(rate.ok && TileSpec.safeParse(rate.spec).success).toBe(true);
    const funnel = withShareFilter(
      TileSpec.parse({ kind: 'funnel', steps: [{ filters: own.slice(0, 10) }, { filters: [['is', 'event:name', ['signup']]] }] }),
      filter,
    );
    expect(funnel.ok && TileSpec.safeParse(funnel.spec).success).toBe(true);
    expect(funnel.ok && funnel.spec.kind === 'funnel' && funnel.spec.steps[1]!.filters).toEqual([
      ['is', 'event:name', ['signup']],
      ['and', filter],
    ]);
  });

  it('refuses tiles whose live count would not be the query model’s under the filter', () => {
    const path: FilterTree[] = [['is', 'event:path', ['/pricing']]];
    const campaign: FilterTree[] = [['is', 'session:utm_campaign', ['launch']]];
    const country: FilterTree[] = [['is', 'geo:country', ['DE']]];
    const visits = TileSpec.parse({ kind: 'top', metric: 'sessions', dimension: 'session:referrer_name', minutes: 30 });
    const views = TileSpec.parse({ kind: 'top', metric: 'pageviews', dimension: 'event:path', minutes: 30 });
    expect(withShareFilter(visits, path).ok).toBe(false);
    expect(withShareFilter(visits, campaign).ok).toBe(true);
    expect(withShareFilter(views, path).ok).toBe(true);
    expect(withShareFilter(views, campaign).ok).toBe(false);
    expect(withShareFilter(visits, country).ok && withShareFilter(views, country).ok).toBe(true);
    expect(withShareFilter(TileSpec.parse({ kind: 'online' }), country).ok).toBe(false);
    expect(withShareFilter(TileSpec.parse({ kind: 'online' }), []).ok).toBe(true);
    expect(liveFilterProblem([['not', ['is', 'profile:props:plan', ['pro']]]])).toMatch(/profile:props:plan/);
    expect(liveFilterProblem([...path, ...campaign, ...country])).toBeNull();
  });
});
