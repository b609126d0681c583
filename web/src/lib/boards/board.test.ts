import { describe, expect, it } from 'vitest';
import { BoardLayout, type BoardTile } from '$shared/boards.ts';
import {
  boardRequests,
  formatBig,
  formatEta,
  formatPace,
  formatPercent,
  goalProgress,
  isSpike,
  latestTimeOfDay,
  layoutFromJson,
  layoutToJson,
  MilestoneWatch,
  moveTile,
  newTile,
  numberSentence,
  pacePerMinute,
  sinceInstant,
  TILE_TYPES,
} from './board.ts';

const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);

describe('since a time of day in the project zone', () => {
  it('is today at that time once it has passed, yesterday before', () => {
    expect(latestTimeOfDay('09:00', 'UTC', at('2026-11-30T10:15:00Z'))).toBe(at('2026-11-30T09:00:00Z'));
    expect(latestTimeOfDay('09:00', 'UTC', at('2026-11-30T08:59:59Z'))).toBe(at('2026-11-29T09:00:00Z'));
    expect(latestTimeOfDay('09:00', 'UTC', at('2026-11-30T09:00:00Z'))).toBe(at('2026-11-30T09:00:00Z'));
  });

  it('reads the wall clock of the zone, across date lines and DST changes', () => {
    // 09:00 in Berlin (UTC+1 in winter) is 08:00 UTC.
    expect(latestTimeOfDay('09:00', 'Europe/Berlin', at('2026-11-30T10:00:00Z'))).toBe(at('2026-11-30T08:00:00Z'));
    // 09:00 in Tokyo on Dec 1 is 00:00 UTC Dec 1; at 23:30 UTC Nov 30 it is 08:30 Dec 1 in Tokyo: yesterday's.
    expect(latestTimeOfDay('09:00', 'Asia/Tokyo', at('2026-11-30T23:30:00Z'))).toBe(at('2026-11-30T00:00:00Z'));
    // New York, the day DST ends (Nov 1 2026): 09:00 EST is 14:00 UTC.
    expect(latestTimeOfDay('09:00', 'America/New_York', at('2026-11-01T15:00:00Z'))).toBe(at('2026-11-01T14:00:00Z'));
    // … and the day DST starts (Mar 8 2026): 09:00 EDT is 13:00 UTC.
    expect(latestTimeOfDay('09:00', 'America/New_York', at('2026-03-08T15:00:00Z'))).toBe(at('2026-03-08T13:00:00Z'));
  });

  it('clamps a fixed start to the live channel’s one-day reach, and a minutes window is relative', () => {
    const now = at('2026-11-30T12:00:00Z');
    expect(sinceInstant({ kind: 'at', at: '2026-11-30T10:00:00Z' }, 'UTC', now)).toBe(at('2026-11-30T10:00:00Z'));
    expect(sinceInstant({ kind: 'at', at: '2026-11-01T10:00:00Z' }, 'UTC', now)).toBeGreaterThan(now - 86_400_000);
    expect(sinceInstant({ kind: 'minutes', minutes: 15 }, 'UTC', now)).toBe(now - 15 * MIN);
  });
});

describe('board tiles → live tile requests', () => {
  const layout = BoardLayout.parse({
    tiles: [
      { id: 'signups', type: 'number', filters: [['is', 'event:name', ['signup']]], since: { kind: 'time', time: '09:00' }, goal: 1000 },
      { id: 'recent', type: 'number', since: { kind: 'minutes', minutes: 15 } },
      { id: 'spark', type: 'sparkline', minutes: 20 },
      { id: 'pages', type: 'top', dimension: 'event:path', limit: 5 },
      { id: 'map', type: 'map' },
      { id: 'feed', type: 'feed' },
      { id: 'f', type: 'funnel', steps: [{ filters: [['is', 'event:name', ['a']]] }, { label: 'B', filters: [['is', 'event:name', ['b']]] }] },
      { id: 'who', type: 'visitors' },
    ],
  });

  it('watches a total since today’s 09:00 plus its per-minute rate for a big number, and one tile per other kind', () => {
    const reqs = boardRequests(layout, 'UTC', at('2026-11-30T10:15:00Z'));
    expect(reqs.map((r) => [r.id, r.spec.kind])).toEqual([
      ['signups', 'total'],
      ['signups.rate', 'rate'],
      ['recent', 'rate'],
      ['recent.rate', 'rate'],
      ['spark', 'rate'],
      ['pages', 'top'],
      ['map', 'geo'],
      ['feed', 'feed'],
      ['f', 'funnel'],
      ['who.online', 'online'],
      ['who.active', 'active'],
    ]);
    expect(reqs[0]!.spec).toEqual({ kind: 'total', metric: 'events', filters: [['is', 'event:name', ['signup']]], since: at('2026-11-30T09:00:00Z') });
    expect(reqs[1]!.spec).toEqual({ kind: 'rate', metric: 'events', filters: [['is', 'event:name', ['signup']]], minutes: 60 });
    expect(reqs[4]!.spec).toEqual({ kind: 'rate', metric: 'events', minutes: 20 }); // no empty filters sent
    expect(reqs[8]!.spec).toEqual({
      kind: 'funnel',
      minutes: 60,
      steps: [{ filters: [['is', 'event:name', ['a']]] }, { label: 'B', filters: [['is', 'event:name', ['b']]] }],
    });
  });

  it('rolls "since 09:00" over to the next day and keeps the rest identical', () => {
    const a = boardRequests(layout, 'UTC', at('2026-11-30T10:15:00Z'));
    const b = boardRequests(layout, 'UTC', at('2026-11-30T23:59:00Z'));
    const c = boardRequests(layout, 'UTC', at('2026-12-01T09:00:30Z'));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(c[0]!.spec).toMatchObject({ since: at('2026-12-01T09:00:00Z') });
    expect(c.slice(1)).toEqual(a.slice(1));
  });
});

describe('goal and pace', () => {
  const minute = at('2026-11-30T10:15:00Z');

  it('paces over the last five complete minutes plus the current one so far', () => {
    const series = [...new Array(54).fill(0), 14, 14, 14, 14, 14, 7];
    expect(pacePerMinute(series, minute, minute + 30_000)).toBeCloseTo(77 / 5.5);
    expect(pacePerMinute([0, 0, 0], minute, minute)).toBe(0);
    expect(pacePerMinute([6], minute, minute + 30_000)).toBe(12);
    expect(pacePerMinute([], minute, minute)).toBe(0);
  });

  it('says how far the goal is and when it is reached at this pace', () => {
    expect(goalProgress(680, 1000, 16)).toEqual({ fraction: 0.68, reached: false, remaining: 320, etaMinutes: 20 });
    expect(goalProgress(1000, 1000, 16)).toMatchObject({ reached: true, remaining: 0, etaMinutes: null });
    expect(goalProgress(10, 1000, 0).etaMinutes).toBeNull();
  });

  it('reads as the sentence a launch room wants', () => {
    expect(numberSentence({ value: 1204, unit: 'signups', since: { kind: 'time', time: '09:00' }, zone: 'UTC', goal: 1770, pace: 14.2 })).toBe(
      '1,204 signups since 09:00, 68% of target, +14/min',
    );
    expect(numberSentence({ value: 3, since: { kind: 'minutes', minutes: 5 }, zone: 'UTC', pace: 0.44 })).toBe('3 last 5 min, +0.4/min');
  });

  it('formats big numbers, pace, percent and ETA', () => {
    expect(formatBig(1204)).toBe('1,204');
    expect(formatBig(999_999.4)).toBe('999,999');
    expect(formatBig(12_345_678)).toBe('12.3M');
    expect(formatPace(0)).toBe('+0/min');
    expect(formatPace(2500)).toBe('+2.5K/min');
    expect(formatPercent(0.999)).toBe('99%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(1.234)).toBe('123%');
    expect(formatEta(12.2)).toBe('in 13 min');
    expect(formatEta(190)).toBe('in 3 h 10 min');
  });
});

describe('spikes and milestones', () => {
  const minute = at('2026-11-30T10:15:00Z');
  const quiet = new Array(59).fill(10);

  it('flags a current rate at least twice the last hour’s average', () => {
    expect(isSpike([...quiet, 15], minute, minute + 30_000)).toBe(true); // 30/min projected vs 10
    expect(isSpike([...quiet, 8], minute, minute + 30_000)).toBe(false);
    // Early in a minute the last complete minute decides.
    expect(isSpike([...quiet.slice(1), 25, 1], minute, minute + 5_000)).toBe(true);
    expect(isSpike([...quiet.slice(1), 12, 1], minute, minute + 5_000)).toBe(false);
    // A quiet metric tripling is not a spike.
    expect(isSpike([...new Array(59).fill(1), 3], minute, minute + 59_000)).toBe(false);
  });

  it('flashes a goal crossed and a spike starting, never what was already true on the first reading', () => {
    const w = new MilestoneWatch();
    expect(w.observe('n', { reached: true, goal: 10 })).toEqual([]); // opened after the goal: no flash
    w.reset();
    expect(w.observe('n', { reached: false, goal: 10 })).toEqual([]);
    expect(w.observe('n', { reached: false, goal: 10 })).toEqual([]);
    expect(w.observe('n', { reached: true, goal: 10, spiking: true, rate: 40 })).toEqual([
      { kind: 'goal', tileId: 'n', goal: 10 },
      { kind: 'spike', tileId: 'n', rate: 40 },
    ]);
    expect(w.observe('n', { reached: true, goal: 10, spiking: true })).toEqual([]);
    w.retain([]);
    expect(w.observe('n', { reached: true, goal: 10 })).toEqual([]);
  });
});

describe('layout editing', () => {
  it('makes every tile type with a fresh id, valid against the stored schema', () => {
    const tiles: BoardTile[] = [];
    for (const { type } of TILE_TYPES)
      tiles.push(
        newTile(
          type,
          tiles.map((t) => t.id),
        ),
      );
    tiles.push(
      newTile(
        'number',
        tiles.map((t) => t.id),
      ),
    );
    expect(tiles.at(-1)!.id).toBe('number-2');
    expect(BoardLayout.safeParse({ tiles }).success).toBe(true);
  });

  it('round-trips a layout through the editor’s JSON and names the first problem', () => {
    const layout = BoardLayout.parse({ tiles: [newTile('number', []), newTile('map', [])], highlights: false });
    const back = layoutFromJson(layoutToJson(layout));
    expect(back).toEqual({ ok: true, layout });
    expect(layoutFromJson('{')).toMatchObject({ ok: false });
    const bad = layoutFromJson(JSON.stringify({ tiles: [{ id: 'x', type: 'number', since: { kind: 'time', time: '9am' } }] }));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/^tiles\.0\.since\.time: /);
  });

  it('moves tiles', () => {
    expect(moveTile(['a', 'b', 'c'], 0, 2)).toEqual(['b', 'c', 'a']);
    expect(moveTile(['a', 'b', 'c'], 2, 0)).toEqual(['c', 'a', 'b']);
    expect(moveTile(['a', 'b'], 0, 5)).toEqual(['a', 'b']);
  });
});
