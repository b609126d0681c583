// Views of share sockets: a view's tick holds its own tiles only, with nothing of the project's
// counters or sample, numbered per view so a screen notices a lost one; other nodes' views are
// kept while announced and forgotten after the TTL; a view whose key does not match its tiles
// (another version, or garbage) is not taken.
import { describe, expect, it } from 'vitest';
import type { LiveTick } from '../../shared/live.ts';
import { createViewRegistry, viewKey } from './view-registry.ts';

const tick = (tiles: LiveTick['tiles']): LiveTick => ({
  projectId: 'p',
  node: 'n1',
  at: 1000,
  seq: 7,
  oldest: 990,
  events: { screen_view: 3 },
  sessionsStarted: 1,
  totals: { events: 3 },
  pages: { '/': 2, '/pricing': 1 },
  referrers: {},
  countries: { DE: 3 },
  sample: [{ name: 'screen_view', path: '/', country: 'DE', city: '', browser: 'Chrome', created_at: '2026-11-30 10:00:00.000' }],
  geo: [{ lat: 1, lon: 2 }],
  tiles,
});

describe('view registry', () => {
  it('gives a view its own tiles only, numbered per view, and nothing when they did not move', () => {
    const views = createViewRegistry();
    const v = views.addLocal('p', ['b', 'a']);
    expect(v).toEqual({ key: viewKey(['a', 'b']), tiles: ['a', 'b'] });
    const first = views.tickFor(tick({ a: [[1000, 2]], c: [[1000, 5]] }), v)!;
    expect(first).toEqual({
      projectId: 'p',
      node: 'n1',
      at: 1000,
      seq: 1,
      oldest: 990,
      events: {},
      sessionsStarted: 0,
      totals: {},
      pages: {},
      referrers: {},
      countries: {},
      sample: [],
      geo: [],
      tiles: { a: [[1000, 2]] },
    });
    expect(views.tickFor(tick({ c: [[1000, 5]] }), v)).toBeNull();
    expect(views.tickFor(tick({ b: [[1000, 1]] }), v)!.seq).toBe(2);
  });

  it('counts local sockets, keeps announced views until the TTL, refuses a key that is not its tiles', () => {
    let now = 0;
    const views = createViewRegistry({ remoteTtlMs: 1000, now: () => now });
    const v = views.addLocal('p', ['a']);
    views.addLocal('p', ['a']);
    views.removeLocal('p', v.key);
    expect(views.of('p')).toHaveLength(1);
    views.removeLocal('p', v.key);
    expect(views.of('p')).toEqual([]);
    views.addRemote('p', { [viewKey(['x', 'y'])]: ['y', 'x'], bogus: ['z'], [viewKey(['q'])]: 'q' });
    expect(views.of('p').map((w) => w.tiles)).toEqual([['x', 'y']]);
    now = 2000;
    views.expire();
    expect(views.of('p')).toEqual([]);
  });
});
