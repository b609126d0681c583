import { describe, expect, it } from 'vitest';
import { REALTIME_PAGE_TILES, TileSpec, TilesSubscribe } from './live-tiles.ts';

describe('tile specs', () => {
  it('express every figure of the realtime page', () => {
    for (const t of REALTIME_PAGE_TILES) expect(TileSpec.safeParse(t.spec).success, t.id).toBe(true);
    expect(TilesSubscribe.safeParse({ projectId: 'p', tiles: REALTIME_PAGE_TILES }).success).toBe(true);
  });

  it('take a launch goal: signups since 09:00', () => {
    const spec = TileSpec.parse({ kind: 'total', metric: 'events', filters: [['is', 'event:name', ['signup']]], since: '2026-11-30T09:00:00+01:00' });
    expect(spec.kind).toBe('total');
  });

  it('refuse what a node cannot count or could be made slow by', () => {
    const bad = [
      { kind: 'total', metric: 'visitors', since: 0 }, // distinct counts do not add up
      { kind: 'rate', metric: 'events', minutes: 61 },
      { kind: 'top', metric: 'events', dimension: 'event:path', limit: 51 },
      { kind: 'total', metric: 'events', since: 0, filters: [['matches', 'event:path', ['(a+)+$']]] },
      { kind: 'funnel', steps: [{ filters: [['is', 'event:name', ['a']]] }] },
      { kind: 'rate', metric: 'events', minutes: 5, extra: 1 },
    ];
    for (const b of bad) expect(TileSpec.safeParse(b).success, JSON.stringify(b)).toBe(false);
  });
});
