// The tick coalescer without sockets: what one tick counts, its caps, and its timer.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveTick } from '../../shared/live.ts';
import { TileSpec } from '../../shared/live-tiles.ts';
import { blankEventRow, chTime, type EventRow, emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import { createMemoryFunnelProgress } from '../engines/funnel-progress.memory.ts';
import { createTickCoalescer, OTHER_KEY } from './ticks.ts';
import { funnelScope, funnelShape, resolveTile } from './tile-spec.ts';
import { createTileSet } from './tiles.ts';

function row(over: Partial<EventRow> = {}): EventRow {
  return blankEventRow({
    id: randomUUID(),
    project_id: 'p1',
    name: 'screen_view',
    device_id: 'd1',
    session_id: 's1',
    created_at: chTime(Date.now()),
    received_at: chTime(Date.now()),
    path: '/home',
    origin: 'https://example.com',
    country: 'SE',
    city: 'Stockholm',
    latitude: 59.33,
    longitude: 18.07,
    os: 'Linux',
    browser: 'Chrome',
    browser_version: '126',
    device: 'desktop',
    sdk_name: 'web',
    sdk_version: '1',
    ...over,
  });
}

const batch = (...events: EventRow[]): WriteBatch => ({ ...emptyBatch(), events });

function collect(limits = {}) {
  const ticks: LiveTick[] = [];
  const c = createTickCoalescer({ nodeId: 'n1', emit: (t) => ticks.push(LiveTick.parse(t)), now: () => 1234, limits });
  return { c, ticks };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('tick coalescer', () => {
  it('folds several batches of one project into one tick, then resets', () => {
    const { c, ticks } = collect();
    c.record('p1', batch(row({ name: 'session_start', referrer_name: 'Google' }), row(), row({ name: 'click', path: '/pricing' })));
    c.record(
      'p1',
      batch(
        row({ name: 'session_start', referrer: 'https://news.ycombinator.com/item', referrer_name: 'Hacker News', revenue: 0 }),
        row({ name: 'purchase', revenue: 1999 }),
        row({ path: '/docs', country: 'DE', device_id: 'd2', latitude: 52.5, longitude: 13.4 }),
      ),
    );
    expect(c.flush()).toBe(1);
    expect(ticks).toHaveLength(1);
    const t = ticks[0]!;
    expect(t).toMatchObject({ projectId: 'p1', node: 'n1', at: 1234, sessionsStarted: 2 });
    expect(t.events).toEqual({ session_start: 2, screen_view: 2, click: 1, purchase: 1 });
    // Query-model metrics, counted as the SQL counts them: session_start is not an SDK event.
    expect(t.totals).toEqual({ events: 4, pageviews: 2, sessions: 2, revenue: 1999 });
    // Only screen_views are page views; session_start copies its first event's path and is not one.
    expect(t.pages).toEqual({ '/home': 1, '/docs': 1 });
    // Sources of new sessions: session:referrer_name, the column the stored queries read.
    expect(t.referrers).toEqual({ Google: 1, 'Hacker News': 1 });
    expect(t.countries).toEqual({ SE: 3, DE: 1 });
    expect(t.sample.map((s) => s.name)).toEqual(['screen_view', 'click', 'purchase', 'screen_view']);
    expect(t.sample[0]).toEqual({ name: 'screen_view', path: '/home', country: 'SE', city: 'Stockholm', browser: 'Chrome', created_at: expect.any(String) });
    expect(t.geo).toEqual([
      { lat: 59.33, lon: 18.07 },
      { lat: 52.5, lon: 13.4 },
    ]);
    expect(c.pending).toBe(0);
    expect(c.flush()).toBe(0); // reset: nothing new, nothing emitted
    expect(ticks).toHaveLength(1);
  });

  it('keeps projects apart and emits nothing for batches without events', () => {
    const { c, ticks } = collect();
    c.record('p1', batch(row()));
    c.record('p2', batch(row({ project_id: 'p2', name: 'signup' })));
    c.record('p3', { ...emptyBatch(), profiles: [{ op: 'increment', project_id: 'p3', profile_id: 'x', at: chTime(0), property: 'n', by: 1 }] });
    expect(c.flush()).toBe(2);
    expect(Object.fromEntries(ticks.map((t) => [t.projectId, t.events]))).toEqual({ p1: { screen_view: 1 }, p2: { signup: 1 } });
  });

  it('caps the sample at the most recent events and geo at one point per device', () => {
    const { c, ticks } = collect();
    const many = Array.from({ length: 80 }, (_, i) => row({ name: `e${i}`, device_id: `d${i % 60}` }));
    c.record('p1', batch(...many));
    c.flush();
    const t = ticks[0]!;
    expect(t.sample.map((s) => s.name)).toEqual(Array.from({ length: 10 }, (_, i) => `e${70 + i}`));
    expect(t.geo).toHaveLength(50);
    // A single busy device puts one point on the map, not fifty.
    c.record('p1', batch(...Array.from({ length: 30 }, () => row({ device_id: 'busy' }))));
    c.flush();
    expect(ticks[1]!.geo).toHaveLength(1);
  });

  it('skips empty keys and rows without coordinates', () => {
    const { c, ticks } = collect();
    c.record('p1', batch(row({ country: '', path: '', latitude: null, longitude: null }), row({ name: 'session_start', referrer: '', referrer_name: '' })));
    c.flush();
    expect(ticks[0]).toMatchObject({ countries: {}, pages: {}, referrers: {}, geo: [], sessionsStarted: 1 });
  });

  it('keeps the top N pages and counts keys past the budget under (other)', () => {
    const { c, ticks } = collect({ pages: 3, keys: 5 });
    const views = ['/a', '/a', '/a', '/b', '/b', '/c', '/d', '/e', '/f', '/g', '/f'].map((path) => row({ path }));
    c.record('p1', batch(...views));
    c.flush();
    // /f and /g arrived after 5 distinct paths: they count as (other), which then ranks second.
    expect(ticks[0]!.pages).toEqual({ '/a': 3, [OTHER_KEY]: 3, '/b': 2 });
  });

  it('emits on its timer every tickMs while there is traffic, and stop() leaves no timer', () => {
    vi.useFakeTimers();
    const ticks: LiveTick[] = [];
    const c = createTickCoalescer({ nodeId: 'n1', tickMs: 100, emit: (t) => ticks.push(t) });
    c.start();
    c.start(); // idempotent: still one timer
    expect(vi.getTimerCount()).toBe(1);
    c.record('p1', batch(row()));
    vi.advanceTimersByTime(99);
    expect(ticks).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(ticks).toHaveLength(1);
    vi.advanceTimersByTime(500); // idle: no empty ticks
    expect(ticks).toHaveLength(1);
    c.record('p1', batch(row(), row()));
    vi.advanceTimersByTime(100);
    expect(ticks.map((t) => t.events.screen_view)).toEqual([1, 2]);
    c.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a throwing emit does not stop the other projects ticks', () => {
    const errors: string[] = [];
    const seen: string[] = [];
    const c = createTickCoalescer({
      nodeId: 'n1',
      emit(t) {
        if (t.projectId === 'bad') throw new Error('boom');
        seen.push(t.projectId);
      },
      onError: (_err, projectId) => errors.push(projectId),
    });
    c.record('bad', batch(row()));
    c.record('good', batch(row()));
    expect(c.flush()).toBe(1);
    expect(seen).toEqual(['good']);
    expect(errors).toEqual(['bad']);
  });
});

describe('ticks and live funnels', () => {
  it("skips a sequence number when a funnel's shared progress is lost, so screens re-sync", async () => {
    // Guards against screens adding up a funnel whose progress another node had to retire.
    const progress = createMemoryFunnelProgress();
    const tiles = createTileSet({ progress });
    const funnel = resolveTile(
      TileSpec.parse({ kind: 'funnel', steps: [{ filters: [['is', 'event:name', ['screen_view']]] }, { filters: [['is', 'event:name', ['signup']]] }] }),
    );
    tiles.watch('p1', funnel);
    const ticks: LiveTick[] = [];
    const c = createTickCoalescer({ nodeId: 'n1', emit: (t) => ticks.push(LiveTick.parse(t)), tiles });
    const scope = funnelScope('p1', funnel.key);
    await progress.claim(scope, 0);
    await progress.seed(scope, 0, [], funnelShape(funnel));
    const turns = async () => {
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
    };
    c.record('p1', batch(row()));
    c.flush(); // polls the epoch
    await turns();
    c.record('p1', batch(row()));
    c.flush();
    await turns();
    expect(ticks.map((t) => t.seq)).toEqual([1, 2]);
    await progress.retire(scope, Date.now() + 1); // a node that missed rows retires the epoch
    await new Promise((r) => setTimeout(r, 2100)); // the tracker checks a ready epoch every 2 s
    c.flush();
    await turns();
    c.record('p1', batch(row()));
    c.flush();
    expect(ticks.at(-1)!.seq).toBe(4); // 3 skipped: a lost tick for every screen
  });
});
