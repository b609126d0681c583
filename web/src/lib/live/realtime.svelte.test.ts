// The realtime view's state under a test clock and a manual frame scheduler: ticks from
// several nodes add up, the window slides, the feed orders by event time, and a burst of ticks
// costs one publish.
import { describe, expect, it } from 'vitest';
import type { LiveTick } from '$shared/live.ts';
import { DIRECT, RealtimeState, WINDOW_SECONDS } from './realtime.svelte.ts';

function harness() {
  let now = 1_000_000;
  const frames: Array<() => void> = [];
  const state = new RealtimeState({ now: () => now, requestFrame: (cb) => frames.push(cb), cancelFrame: () => {} });
  return {
    state,
    advance: (ms: number) => {
      now += ms;
    },
    frame: () => {
      const due = frames.splice(0);
      for (const f of due) f();
      return due.length;
    },
  };
}

const tick = (over: Partial<LiveTick> = {}): LiveTick => ({
  projectId: 'p1',
  node: 'n1',
  at: 0,
  events: {},
  sessionsStarted: 0,
  totals: { events: 0, pageviews: 0, sessions: 0, revenue: 0 },
  pages: {},
  referrers: {},
  countries: {},
  sample: [],
  geo: [],
  ...over,
});

describe('RealtimeState', () => {
  it('adds ticks from every node and publishes once per frame', () => {
    const h = harness();
    h.state.addTick(tick({ totals: { events: 3 }, sessionsStarted: 2, referrers: { Google: 1 }, pages: { '/': 2 }, countries: { SE: 3 } }));
    h.state.addTick(tick({ node: 'n2', totals: { events: 4 }, sessionsStarted: 1, pages: { '/': 1, '/a': 1 } }));
    expect(h.state.events).toBe(0); // nothing until the frame
    expect(h.frame()).toBe(1);
    expect(h.state.events).toBe(7);
    expect(h.state.sessions).toBe(3);
    expect(h.state.topPages).toEqual([
      { key: '/', count: 3 },
      { key: '/a', count: 1 },
    ]);
    // Sessions without a listed source are direct.
    expect(h.state.topReferrers).toEqual([
      { key: DIRECT, count: 2 },
      { key: 'Google', count: 1 },
    ]);
  });

  it('slides the window: counts older than a minute fall out', () => {
    const h = harness();
    h.state.addTick(tick({ totals: { events: 5 } }));
    h.frame();
    h.advance(30_000);
    h.state.addTick(tick({ totals: { events: 2 } }));
    h.frame();
    expect(h.state.events).toBe(7);
    expect(h.state.perSecond).toHaveLength(WINDOW_SECONDS);
    h.advance(31_000);
    h.state.refresh();
    h.frame();
    expect(h.state.events).toBe(2);
    expect(h.state.windowFull).toBe(true);
  });

  it('orders the feed by event time across nodes, newest first', () => {
    const h = harness();
    const e = (name: string, t: string) => ({ name, path: '/', country: '', city: '', browser: '', created_at: t });
    h.state.addTick(tick({ sample: [e('a', '2024-01-01 10:00:01.000'), e('c', '2024-01-01 10:00:03.000')] }));
    h.state.addTick(tick({ node: 'n2', sample: [e('b', '2024-01-01 10:00:02.000')] }));
    h.frame();
    expect(h.state.feed.map((x) => x.name)).toEqual(['c', 'b', 'a']);
  });
});
