// The query model's dimensions against chDB on a data set whose answers are known by
// construction (stats.fixtures.ts): session and event attributes, place, device and profile, and
// time buckets in the query's zone (a time-zone day boundary).
import { describe, expect, it } from 'vitest';
import { withSeededEngine } from './seeded-engine.fixtures.ts';

const { run, breakdown } = withSeededEngine();

describe('dimensions', () => {
  it('breaks visits down by session attributes (from their start, open visits included)', async () => {
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:referrer_name'] })).toEqual({ '': 2, Google: 2, 'Hacker News': 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:referrer_type'] })).toEqual({ '': 2, search: 2, link: 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:referrer'] })).toEqual({
      '': 2,
      'https://www.google.com': 1,
      'https://www.google.fr': 1,
      'https://news.ycombinator.com': 1,
    });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_campaign'] })).toEqual({ '': 4, launch: 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_source'] })).toEqual({ '': 4, hn: 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_medium'] })).toEqual({ '': 4, social: 1 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_term'] })).toEqual({ '': 5 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:utm_content'] })).toEqual({ '': 5 });
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:entry_path'] })).toEqual({ '/': 3, '/blog': 1, '/docs': 1 });
  });

  it('breaks event metrics down by session attributes through the session start', async () => {
    // Page views of visits that entered at /: 2 (s1) + 1 (s2) + 1 (s4).
    const r = await run({ metrics: ['sessions', 'pageviews'], dimensions: ['session:entry_path'] });
    expect(r.results.map((x) => [x.dimensions[0], ...x.metrics])).toEqual([
      ['/', 3, 4],
      ['/blog', 1, 2],
      ['/docs', 1, 1],
    ]);
    expect(await breakdown({ metrics: ['pageviews'], dimensions: ['session:referrer_name'] })).toEqual({ Google: 3, 'Hacker News': 2, '': 2 });
  });

  it('counts exit pages over ended sessions', async () => {
    expect(await breakdown({ metrics: ['sessions'], dimensions: ['session:exit_path'] })).toEqual({ '/': 2, '/pricing': 2 });
    // The open visit has no exit page yet.
    expect(await breakdown({ metrics: ['pageviews'], dimensions: ['session:exit_path'] })).toEqual({ '/pricing': 4, '/': 2, '': 1 });
  });

  it('breaks down by event name, path, origin and properties', async () => {
    expect(await breakdown({ metrics: ['events'], dimensions: ['event:name'], filters: [['is_not', 'event:name', ['session_start', 'session_end']]] })).toEqual(
      {
        screen_view: 7,
        signup: 1,
        purchase: 1,
        click: 1,
      },
    );
    expect(await breakdown({ metrics: ['pageviews'], dimensions: ['event:path'], filters: [['is', 'event:name', ['screen_view']]] })).toEqual({
      '/': 3,
      '/pricing': 2,
      '/blog': 1,
      '/docs': 1,
    });
    expect(await breakdown({ metrics: ['events'], dimensions: ['event:origin'] })).toEqual({ 'https://example.com': 10 });
    expect(await breakdown({ metrics: ['events'], dimensions: ['event:props:plan'] })).toEqual({ '': 8, pro: 1, team: 1 });
  });

  it('breaks down by place, device and profile', async () => {
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['geo:country'] })).toEqual({ US: 2, DE: 1, FR: 1 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['geo:region'] })).toEqual({ '': 4 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['geo:city'] })).toEqual({ '': 4 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['device:type'] })).toEqual({ desktop: 2, mobile: 2 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['device:browser'] })).toEqual({ Chrome: 2, Firefox: 1, Safari: 1 });
    expect(await breakdown({ metrics: ['visitors'], dimensions: ['device:os'] })).toEqual({ 'Mac OS': 1, Android: 1, iOS: 1, Windows: 1 });
    for (const d of ['device:browser_version', 'device:os_version', 'device:brand', 'device:model'] as const) {
      expect(await breakdown({ metrics: ['visitors'], dimensions: [d] })).toEqual({ '': 4 });
    }
    expect(await breakdown({ metrics: ['events'], dimensions: ['profile:id'] })).toEqual({ '': 7, u1: 3 });
    expect(await breakdown({ metrics: ['events'], dimensions: ['profile:props:tier'] })).toEqual({ '': 7, premium: 3 });
  });

  it('buckets time in the query zone: a visit at 22:30 UTC is the next day in Berlin', async () => {
    const utc = await run({ metrics: ['sessions'], dimensions: ['time:day'] });
    expect(utc.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-05-01', 2],
      ['2024-05-02', 1],
      ['2024-05-03', 2],
    ]);
    // In Berlin the same dates cover 30 Apr 22:00 UTC – 3 May 22:00 UTC: s5 (23:59 UTC on 3 May) falls out.
    const berlin = await run({ metrics: ['sessions'], dimensions: ['time:day'], timezone: 'Europe/Berlin' });
    expect(berlin.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-05-01', 1],
      ['2024-05-02', 2],
      ['2024-05-03', 1],
    ]);
    expect(berlin.meta.date_range).toEqual(['2024-04-30T22:00:00.000Z', '2024-05-03T22:00:00.000Z']);
    const hours = await run({
      metrics: ['pageviews'],
      dimensions: ['time:hour'],
      date_range: ['2024-05-01T22:00:00Z', '2024-05-02T01:00:00Z'],
      timezone: 'Asia/Kolkata',
    });
    // Half-hour zone: the hourly rollup cannot answer, raw events do; the page view at 22:30 UTC is 04:00 local.
    expect(hours.meta.sources).toEqual(['events']);
    expect(hours.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-05-02 03:00', 0],
      ['2024-05-02 04:00', 1],
      ['2024-05-02 05:00', 0],
      ['2024-05-02 06:00', 0],
    ]);
  });

  it('fills empty buckets and labels them (weeks on Monday, months on the 1st, minutes)', async () => {
    const week = await run({ metrics: ['visitors'], dimensions: ['time:week'], date_range: ['2024-04-22', '2024-05-05'], include: { time_labels: true } });
    expect(week.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-04-22', 0],
      ['2024-04-29', 5],
    ]);
    expect(week.meta.time_labels).toEqual(['2024-04-22', '2024-04-29']);
    const month = await run({ metrics: ['sessions'], dimensions: ['time:month'], date_range: ['2024-03-01', '2024-05-31'] });
    expect(month.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-03-01', 0],
      ['2024-04-01', 1],
      ['2024-05-01', 5],
    ]);
    const minutes = await run({ metrics: ['events'], dimensions: ['time:minute'], date_range: ['2024-05-01T10:00:00Z', '2024-05-01T10:03:00Z'] });
    expect(minutes.results.map((r) => [r.dimensions[0], r.metrics[0]])).toEqual([
      ['2024-05-01 10:00', 1],
      ['2024-05-01 10:01', 1],
      ['2024-05-01 10:02', 1],
    ]);
    // Per combination of the other dimension, every bucket is there.
    const series = await run({ metrics: ['sessions'], dimensions: ['time:day', 'geo:country'] });
    expect(series.results).toHaveLength(9);
    expect(series.results.filter((r) => r.dimensions[1] === 'FR').map((r) => r.metrics[0])).toEqual([0, 0, 1]);
  });

  it('refuses too many time buckets', async () => {
    await expect(run({ metrics: ['events'], dimensions: ['time:minute'], date_range: ['2024-01-01', '2024-03-01'] })).rejects.toThrow(/coarser/);
  });
});
