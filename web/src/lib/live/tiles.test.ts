import { describe, expect, it } from 'vitest';
import type { LiveTick } from '$shared/live.ts';
import type { TileFeedEvent, TileRequest } from '$shared/live-tiles.ts';
import { TileEngine } from './tiles.ts';

const MIN = 60_000;
const T0 = Date.parse('2026-11-30T10:00:00Z');

function tick(node: string, tiles: LiveTick['tiles'], extra: Partial<LiveTick> = {}): LiveTick {
  return {
    projectId: 'p',
    node,
    at: T0,
    events: {},
    sessionsStarted: 0,
    totals: {},
    pages: {},
    referrers: {},
    countries: {},
    sample: [],
    geo: [],
    tiles,
    ...extra,
  };
}

function feedEvent(id: string, received: number): TileFeedEvent {
  return {
    id,
    name: 'signup',
    path: '/',
    country: 'DE',
    city: '',
    browser: '',
    os: '',
    device: '',
    referrer_name: '',
    profile_id: '',
    properties: { plan: 'pro' },
    created_at: '2026-11-30 10:00:00.000',
    received,
  };
}

const REQS: TileRequest[] = [
  { id: 'total', spec: { kind: 'total', metric: 'events', since: T0 - 30 * MIN } },
  { id: 'same', spec: { kind: 'total', metric: 'events', since: T0 - 30 * MIN } },
  { id: 'rate', spec: { kind: 'rate', metric: 'events', minutes: 5 } },
  { id: 'top', spec: { kind: 'top', metric: 'events', dimension: 'event:path', limit: 2, minutes: 2 } },
  { id: 'funnel', spec: { kind: 'funnel', steps: [{ filters: [['is', 'event:name', ['a']]] }, { filters: [['is', 'event:name', ['b']]] }], minutes: 10 } },
  { id: 'feed', spec: { kind: 'feed', limit: 3 } },
  { id: 'geo', spec: { kind: 'geo', minutes: 5 } },
  { id: 'online', spec: { kind: 'online' } },
];

function engineAt(clock: { now: number }) {
  const e = new TileEngine(() => clock.now);
  e.setTiles(REQS);
  const W = T0 + 2000;
  e.accept([
    { id: 'total', key: 'k-total', watermark: W },
    { id: 'same', key: 'k-total', watermark: W },
    { id: 'rate', key: 'k-rate', watermark: W },
    { id: 'top', key: 'k-top', watermark: W },
    { id: 'funnel', key: 'k-funnel', watermark: W },
    { id: 'feed', key: 'k-feed', watermark: W },
    { id: 'geo', key: 'k-geo', watermark: W },
    { id: 'online', key: 'k-online' },
  ]);
  return { e, W };
}

describe('tile engine: backfill + ticks after the watermark', () => {
  it('adds the backfill and only tick buckets at or after the watermark: nothing twice, nothing missed', () => {
    const clock = { now: T0 + 5000 };
    const { e, W } = engineAt(clock);
    expect(e.synced).toBe(false);
    // A tick arrives before the backfill: buckets before W belong to the backfill and are skipped.
    e.addTick(
      tick('a', {
        'k-total': [
          [W - 1000, 5],
          [W, 2],
          [W + 1000, 3],
        ],
      }),
    );
    e.addBackfill({
      projectId: 'p',
      id: 'total',
      key: 'k-total',
      watermark: W,
      buckets: [
        [T0 - 30 * MIN, 100],
        [T0 - MIN, 20],
      ],
      ok: true,
    });
    e.addBackfill({ projectId: 'p', id: 'same', key: 'k-total', watermark: W, buckets: [[T0 - 30 * MIN, 120]], ok: true });
    e.addTick(tick('b', { 'k-total': [[W + 1000, 1]] }));
    expect(e.snapshot('total')).toEqual({ kind: 'total', value: 126 });
    expect(e.snapshot('same')).toEqual({ kind: 'total', value: 126 });
    // A backfill for an older subscription (another watermark) is ignored.
    e.addBackfill({ projectId: 'p', id: 'total', key: 'k-total', watermark: W - 5000, buckets: [[T0, 1000]], ok: true });
    expect(e.snapshot('total')).toEqual({ kind: 'total', value: 126 });
  });

  it("fills the per-second bars before the watermark from a rate's backfill and continues from ticks without a seam", () => {
    // Guards against the events-per-second bars showing zero for every second before the page opened.
    const clock = { now: T0 + 30_000 };
    const { e, W } = engineAt(clock);
    const secondsFrom = W - 60_000;
    e.addBackfill({
      projectId: 'p',
      id: 'rate',
      key: 'k-rate',
      watermark: W,
      // Minute buckets up to secondsFrom, then the seconds before W (T0 - 58 s … T0 + 1 s).
      buckets: [
        [T0 - 4 * MIN, 4],
        [T0 - MIN, 2],
        [T0 - 20_000, 5],
        [T0 - 1000, 1],
        [T0 + 1000, 6],
      ],
      secondsFrom,
      ok: true,
    });
    // Ticks: the same second as a backfill one but before W is the backfill's (ignored); W on counts.
    e.addTick(
      tick('a', {
        'k-rate': [
          [T0 + 1000, 99],
          [W, 2],
          [W + 1000, 3],
        ],
      }),
    );
    const r = e.snapshot('rate');
    if (r?.kind !== 'rate') throw new Error('not a rate');
    // now = T0 + 30 s is the last of 60 entries: T0 - 29 s is the first.
    const at = (ms: number) => r.perSecond[(ms - (T0 - 29_000)) / 1000];
    expect([at(T0 - 20_000), at(T0 - 1000), at(T0), at(T0 + 1000), at(W), at(W + 1000)]).toEqual([5, 1, 0, 6, 2, 3]);
    expect(r.perSecond.reduce((a, b) => a + b, 0)).toBe(17);
    expect(r.perMinute).toEqual([4, 0, 0, 8, 11]);
  });

  it('slides rate, top and funnel windows by the minute and keeps the last minute per second', () => {
    const clock = { now: T0 + 30_000 };
    const { e, W } = engineAt(clock);
    e.addBackfill({
      projectId: 'p',
      id: 'rate',
      key: 'k-rate',
      watermark: W,
      buckets: [
        [T0 - 4 * MIN, 4],
        [T0 - MIN, 7],
        [T0, 1],
      ],
      ok: true,
    });
    e.addTick(
      tick('a', {
        'k-rate': [
          [W, 2],
          [W + 1000, 3],
        ],
      }),
    );
    const r = e.snapshot('rate');
    expect(r).toMatchObject({ kind: 'rate', perMinute: [4, 0, 0, 7, 6], minuteStart: T0 - 4 * MIN });
    expect(r?.kind === 'rate' && r.perSecond.slice(-29, -26)).toEqual([2, 3, 0]); // W = T0+2 s; now = T0+30 s is the last entry
    clock.now = T0 + 2 * MIN;
    expect(e.snapshot('rate')).toMatchObject({ perMinute: [0, 7, 6, 0, 0] });

    clock.now = T0 + 30_000;
    e.addBackfill({ projectId: 'p', id: 'top', key: 'k-top', watermark: W, buckets: [[T0 - MIN, { '/a': 5, '/b': 1 }]], ok: true });
    e.addTick(tick('a', { 'k-top': [[W, { '/b': 3, '/c': 1 }]] }));
    expect(e.snapshot('top')).toEqual({
      kind: 'top',
      total: 10,
      rows: [
        { key: '/a', count: 5 },
        { key: '/b', count: 4 },
      ],
    });
    clock.now = T0 + MIN + 1000; // the minute before T0 has left the 2-minute window
    expect(e.snapshot('top')).toEqual({
      kind: 'top',
      total: 4,
      rows: [
        { key: '/b', count: 3 },
        { key: '/c', count: 1 },
      ],
    });

    e.addBackfill({ projectId: 'p', id: 'funnel', key: 'k-funnel', watermark: W, buckets: [[T0 - 5 * MIN, [10, 4]]], ok: true });
    e.addTick(tick('a', { 'k-funnel': [[W, [1, 1]]] }));
    expect(e.snapshot('funnel')).toEqual({ kind: 'funnel', steps: [11, 5] });
  });

  it('keeps the newest feed events once each, and map points for their window only', () => {
    const clock = { now: T0 + 10_000 };
    const { e, W } = engineAt(clock);
    e.addBackfill({
      projectId: 'p',
      id: 'feed',
      key: 'k-feed',
      watermark: W,
      buckets: [[T0, [feedEvent('1', T0 - 3000), feedEvent('2', T0 - 2000)]]],
      ok: true,
    });
    e.addTick(tick('a', { 'k-feed': [[W, [feedEvent('2', T0 - 2000), feedEvent('3', W), feedEvent('4', W + 10)]]] }));
    const f = e.snapshot('feed');
    expect(f?.kind === 'feed' && f.events.map((x) => x.id)).toEqual(['4', '3', '2']);

    e.addBackfill({ projectId: 'p', id: 'geo', key: 'k-geo', watermark: W, buckets: [[T0 - 4 * MIN, [{ lat: 1, lon: 2, country: 'DE' }]]], ok: true });
    e.addTick(
      tick('a', {
        'k-geo': [
          [
            W,
            [
              { lat: 3, lon: 4, country: 'DE' },
              { lat: 5, lon: 6, country: 'FR' },
            ],
          ],
        ],
      }),
    );
    let g = e.snapshot('geo');
    expect(g?.kind === 'geo' && [g.points.length, [...g.countries]]).toEqual([
      3,
      [
        ['DE', 2],
        ['FR', 1],
      ],
    ]);
    clock.now = T0 + 2 * MIN;
    g = e.snapshot('geo');
    expect(g?.kind === 'geo' && g.points.length).toBe(2);
  });

  it('is synced once every tile has its backfill; presence tiles need none', () => {
    const clock = { now: T0 };
    const { e, W } = engineAt(clock);
    for (const r of REQS) {
      if (r.spec.kind === 'online') continue;
      expect(e.synced).toBe(false);
      e.addBackfill({ projectId: 'p', id: r.id, key: `k-${r.id === 'same' ? 'total' : r.id}`, watermark: W, buckets: [], ok: r.id !== 'geo' });
    }
    expect(e.synced).toBe(true);
    expect(e.sync('geo')).toBe('partial');
    e.setPresence({ projectId: 'p', online: 3, active: 9 });
    expect(e.snapshot('online')).toEqual({ kind: 'online', value: 3 });
    e.reset();
    expect(e.synced).toBe(false);
    expect(e.snapshot('online')).toEqual({ kind: 'online', value: 3 }); // a whole value: replaced on rejoin
    expect(e.snapshot('total')).toEqual({ kind: 'total', value: 0 });
  });

  it('reports a lost tick (a node’s sequence jumping), not a restarted node', () => {
    const { e } = engineAt({ now: T0 });
    expect(e.addTick(tick('a', {}, { seq: 1 }))).toBe(true);
    expect(e.addTick(tick('a', {}, { seq: 2 }))).toBe(true);
    expect(e.addTick(tick('b', {}, { seq: 7 }))).toBe(true);
    expect(e.addTick(tick('a', {}, { seq: 4 }))).toBe(false);
    expect(e.addTick(tick('a', {}, { seq: 1 }))).toBe(true);
  });

  it('stays bounded under weeks of ticks', () => {
    const clock = { now: T0 };
    const { e, W } = engineAt(clock);
    for (let i = 0; i < 20_000; i++) {
      clock.now = W + i * 1000;
      e.addTick(
        tick(`node-${i % 3}`, {
          'k-rate': [[clock.now, 1]],
          'k-top': [[clock.now, { [`/p${i}`]: 1 }]],
          'k-feed': [[clock.now, [feedEvent(String(i), clock.now)]]],
          'k-geo': [[clock.now, [{ lat: 0, lon: 0, country: 'DE' }]]],
        }),
      );
      if (i % 1000 === 0) for (const id of ['rate', 'top', 'feed', 'geo']) e.snapshot(id);
    }
    const top = e.snapshot('top');
    expect(top?.kind === 'top' && top.total).toBeLessThanOrEqual(120); // 2-minute window at 1/s
    const feed = e.snapshot('feed');
    expect(feed?.kind === 'feed' && feed.events.length).toBe(3);
    const geo = e.snapshot('geo');
    expect(geo?.kind === 'geo' && geo.points.length).toBeLessThanOrEqual(301);
  });
});
